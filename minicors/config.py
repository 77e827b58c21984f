"""One frozen `Config` from flags and a TOML file; every mistake is a one-line `ConfigError`.

The TOML file mirrors the flags (see README "Configuration file"): top-level keys for the
server, and `[limits]`, `[static]`, `[api]`, `[cors]` (with `[[cors.route]]` tables) for the
parts.  Flags win over the file.  Unknown keys and wrongly typed values are errors, never
silently ignored: a typo in a CORS setting would otherwise open or close a door unnoticed.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from .configkeys import canonical_key, suggestion
from .cors import CorsPolicy, CorsRouter, Provenance
from .errors import ConfigError
from .extraheaders import rules_from_table
from .options import ApiOptions, Limits, StaticOptions, TlsOptions
from .proxy import ProxyOptions, check_tables, options_from


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything `serve` needs.  Library users build it directly; the CLI builds it from flags."""

    root: str = "."
    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = True
    workers: int = 1
    reload: bool = False  # watch ROOT and the API file; pages reload on a change
    open: bool = False  # open the served URL in the user's browser once it listens (--open)
    tls: TlsOptions | None = None  # HTTPS
    cors: CorsPolicy | CorsRouter = field(default_factory=CorsPolicy)
    static: StaticOptions = field(default_factory=StaticOptions)
    api: ApiOptions | None = None
    limits: Limits = field(default_factory=Limits)
    proxy: ProxyOptions | None = None  # --proxy: prefixes forwarded to upstreams

    @property
    def router(self) -> CorsRouter:
        return self.cors if isinstance(self.cors, CorsRouter) else CorsRouter(self.cors)


# --- value checkers: each returns the value or raises ValueError with what was expected -------

Checker = Callable[[Any], Any]


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _int(low: int, high: int | None = None) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(_int_range_text(low, high))
        if value < low or (high is not None and value > high):
            raise ValueError(_int_range_text(low, high))
        return value

    return check


def _int_range_text(low: int, high: int | None) -> str:
    return f"an integer {low}..{high}" if high is not None else f"an integer >= {low}"


def _seconds(low: float) -> Checker:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            raise ValueError(f"a number of seconds >= {low:g}")
        return float(value)

    return check


def _str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        # Unambiguous in TOML (a string is never a list there): `allow_origins = "https://x"`
        # means the one-item list, as the repeatable flag given once does.
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("a list of strings")
    return tuple(value)


def _mime_table(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError('a table of ".ext" = "type/subtype"')
    return tuple((normalise_ext(k), v) for k, v in value.items())


def normalise_ext(ext: str) -> str:
    """`.EXT` lower-cased, the dot added when missing (`GLB` -> `.glb`)."""
    return ext.lower() if ext.startswith(".") else "." + ext.lower()


TOP_KEYS: dict[str, Checker] = {
    "root": _str,
    "host": _str,
    "port": _int(0, 65535),
    "access_log": _bool,
    "workers": _int(1, 256),
    "reload": _bool,
    "open": _bool,
    "proxy_timeout_s": _seconds(0.001),
    "proxy_keep_host": _bool,
}
LIMIT_KEYS: dict[str, Checker] = {
    "max_head_bytes": _int(1024, 1024 * 1024),
    "max_body_bytes": _int(0),
    "max_body_chunks": _int(1),
    "max_connections": _int(1),
    "head_timeout_s": _seconds(0.001),
    "body_timeout_s": _seconds(0.001),
    "body_min_rate": _int(1),
    "send_timeout_s": _seconds(0.001),
    "keepalive_timeout_s": _seconds(0.001),
    "grace_period_s": _seconds(0),
}
STATIC_KEYS: dict[str, Checker] = {
    "dotfiles": _bool,
    "listing": _bool,
    "spa": _bool,
    "cache_control": _str,
    "immutable_hashed": _bool,
    "precompressed": _bool,
    "gzip": _bool,
    "gzip_min_bytes": _int(0),
    "mime_types": _mime_table,
}
API_KEYS: dict[str, Checker] = {
    "file": _str,
    "prefix": _str,
    "read_only": _bool,
    "delay_ms": _int(0, 600_000),
    "group_commit": _bool,
    "id_field": _str,
}
CORS_KEYS: dict[str, Checker] = {
    "allow_origins": _str_list,
    "allow_origin_regex": _str,
    "allow_methods": _str_list,
    "allow_headers": _str_list,
    "expose_headers": _str_list,
    "allow_credentials": _bool,
    "max_age_s": _int(0),
    "allow_private_network": _bool,
}
TLS_KEYS: dict[str, Checker] = {
    "enabled": _bool,
    "cert_file": _str,
    "key_file": _str,
}
SECTIONS: dict[str, dict[str, Checker]] = {
    "limits": LIMIT_KEYS,
    "static": STATIC_KEYS,
    "api": API_KEYS,
    "tls": TLS_KEYS,
    "cors": CORS_KEYS,
}

# `[headers]` is a table of its own (header names and path globs as keys): `static.headers`.
HEADERS = "headers"
PROXY = "proxy"  # `[[proxy]]` tables: prefix, target, insecure

# Settings are kept flat as "section.key" (top-level keys have no section) while merging.
Settings = dict[str, Any]


def read_toml(path: str) -> Settings:
    """Parse and check a config file into flat settings; relative paths are made relative to
    the file's directory (so a config file means the same thing from any working directory)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist; check the path given to --config"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"config file {path} cannot be read ({exc.strerror}); check its permissions"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says "(at line L, column C)".
        raise ConfigError(f"config file {path} is not valid TOML: {exc}; fix that line") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; save it as UTF-8") from None
    base = os.path.dirname(os.path.abspath(path))
    settings = _check_table(path, data, base)
    return settings


def _check_table(path: str, data: Mapping[str, Any], base: str) -> Settings:
    out: Settings = {}
    top = [*TOP_KEYS, *SECTIONS, HEADERS, PROXY]
    for key, (given, value) in _spellings(path, None, data, top).items():
        if key == PROXY:
            out[PROXY] = check_tables(path, value)
        elif key == HEADERS:
            try:
                out["static.headers"] = rules_from_table(value)
            except ConfigError as exc:
                raise ConfigError(f"config file {path}: {exc}") from None
        elif key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"config file {path}: [{key}] must be a table, e.g. [{key}]")
            keys = SECTIONS[key]
            named = [*keys, "route"] if key == "cors" else keys
            for sub, (sub_given, subvalue) in _spellings(path, key, value, named).items():
                if sub == "route":
                    out["cors.route"] = _check_routes(path, subvalue)
                else:
                    out[f"{key}.{sub}"] = _check(path, f"[{key}] {sub_given}", subvalue, keys[sub])
        else:
            out[key] = _check(path, given, value, TOP_KEYS[key])
    for key in ("root", "api.file", "tls.cert_file", "tls.key_file"):
        if key in out:
            out[key] = os.path.join(base, os.path.expanduser(out[key]))
    return out


def _spellings(
    path: str, table: str | None, data: Mapping[str, Any], keys: Collection[str], where: str = ""
) -> dict[str, tuple[str, Any]]:
    """Each key of `data` under its own name (a flag's spelling such as `allow_origin` or
    `max-age` is accepted too) -> (the spelling given, the value); an unknown key gets the
    nearest real one, and two spellings of one key are refused."""
    where = where or ("" if table is None else f"[{table}]")
    out: dict[str, tuple[str, Any]] = {}
    for given, value in data.items():
        key = canonical_key(table, given, keys)
        shown = f"{where} {given}".strip()
        if key is None:
            tables: dict[str | None, Collection[str]] = {None: TOP_KEYS.keys()}
            tables.update(SECTIONS)
            hint = suggestion(table, given, tables, [*SECTIONS, HEADERS])
            valid = ", ".join(f"[{k}]" if k in SECTIONS or k == HEADERS else k for k in keys)
            hint = f"{hint} (valid keys: {valid})" if hint else f"; valid keys: {valid}"
            raise ConfigError(f"config file {path}: unknown key {shown!r}{hint}")
        if key in out:
            both = f"{where} {out[key][0]} and {given}".strip()
            raise ConfigError(f"config file {path}: {both} are the same setting; keep one")
        out[key] = (given, value)
    return out


def _check(path: str, where: str, value: Any, checker: Checker) -> Any:
    try:
        return checker(value)
    except ValueError as exc:
        raise ConfigError(
            f"config file {path}: {where} must be {exc}, got {value!r}; fix the value"
        ) from None


def _check_routes(path: str, routes: Any) -> tuple[tuple[str, Settings], ...]:
    if not isinstance(routes, list) or not all(isinstance(r, dict) for r in routes):
        raise ConfigError(
            f"config file {path}: cors.route must be an array of tables, "
            '[[cors.route]] path = "/api/**"'
        )
    out: list[tuple[str, Settings]] = []
    for i, route in enumerate(routes, 1):
        where = f"[[cors.route]] #{i}"
        given = _spellings(path, "cors", route, [*CORS_KEYS, "path"], where)
        route_path = given.pop("path", ("path", None))[1]
        if not isinstance(route_path, str) or not route_path.startswith("/"):
            raise ConfigError(
                f"config file {path}: {where} needs a path string starting with "
                '"/", e.g. path = "/api/**"'
            )
        settings = {
            k: _check(path, f"{where} {spelt}", v, CORS_KEYS[k]) for k, (spelt, v) in given.items()
        }
        out.append((route_path, settings))
    return tuple(out)


# --- building the frozen values -------------------------------------------------------------


def _section(settings: Settings, section: str) -> dict[str, Any]:
    prefix = section + "."
    return {k[len(prefix) :]: v for k, v in settings.items() if k.startswith(prefix)}


def build_config(
    settings: Settings, *, file: str | None = None, flag_keys: frozenset[str] = frozenset()
) -> Config:
    """The frozen `Config` from merged flat settings (file first, then flags over it)."""
    top = {k: v for k, v in settings.items() if "." not in k}
    limits = Limits(**_section(settings, "limits"))
    static = StaticOptions(**_section(settings, "static"))
    api_values = _section(settings, "api")
    api: ApiOptions | None = None
    if "file" in api_values:
        api = ApiOptions(**api_values)
    elif api_values:
        raise ConfigError("API settings were given without an API file; add --api FILE.json")
    tls_values = _section(settings, "tls")
    tls: TlsOptions | None = None
    if tls_values.pop("enabled", False) or tls_values:
        if ("cert_file" in tls_values) != ("key_file" in tls_values):
            raise ConfigError(
                "a TLS certificate needs its key and a key its certificate: give both "
                "--tls-cert FILE and --tls-key FILE (or neither, for minicors's own)"
            )
        tls = TlsOptions(**tls_values)
    cors_values = _section(settings, "cors")
    routes = cors_values.pop("route", ())
    # The engine checks the values itself (its ConfigErrors pass through).
    # Where each CORS setting came from, so a refusal's fix names the flag or the file's key.
    flags = frozenset(k[5:] for k in flag_keys if k.startswith("cors."))
    given = frozenset(cors_values) - flags if file else frozenset()
    default = CorsPolicy(
        **cors_values, provenance=Provenance(file=file, from_file=given, from_flags=flags)
    )
    route_policies = [
        (p, CorsPolicy(**v, provenance=_route_provenance(file, p, v))) for p, v in routes
    ]
    cors: CorsPolicy | CorsRouter = (
        CorsRouter(default, route_policies) if route_policies else default
    )
    proxy = options_from(top)  # takes the proxy_* keys out of `top`
    return Config(**top, limits=limits, static=static, api=api, cors=cors, tls=tls, proxy=proxy)


def load(flag_settings: Settings, config_file: str | None) -> Config:
    """File settings, overridden by flags, checked and frozen."""
    settings: Settings = read_toml(config_file) if config_file else {}
    settings.update(flag_settings)
    return build_config(settings, file=config_file, flag_keys=frozenset(flag_settings))


def _route_provenance(file: str | None, path: str, values: Settings) -> Provenance:
    table = f"[[cors.route]] path = {json.dumps(path)}"
    return Provenance(file=file, table=table, from_file=frozenset(values))
