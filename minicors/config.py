"""One frozen `Config` from flags and a TOML file; every mistake is a one-line `ConfigError`.

The TOML file mirrors the flags (see README "Configuration file"): top-level keys for the
server, and `[limits]`, `[static]`, `[api]`, `[cors]` (with `[[cors.route]]` tables) for the
parts.  Flags win over the file.  Unknown keys and wrongly typed values are errors, never
silently ignored: a typo in a CORS setting would otherwise open or close a door unnoticed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .cors import CorsPolicy, CorsRouter
from .errors import ConfigError
from .options import ApiOptions, Limits, StaticOptions, TlsOptions


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything `serve` needs.  Library users build it directly; the CLI builds it from flags."""

    root: str = "."
    host: str = "127.0.0.1"
    port: int = 8000
    access_log: bool = True
    workers: int = 1
    reload: bool = False  # watch ROOT and the API file; pages reload on a change
    tls: TlsOptions | None = None  # HTTPS
    cors: CorsPolicy | CorsRouter = field(default_factory=CorsPolicy)
    static: StaticOptions = field(default_factory=StaticOptions)
    api: ApiOptions | None = None
    limits: Limits = field(default_factory=Limits)

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
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"config file {path}: [{key}] must be a table, e.g. [{key}]")
            routes = value.get("route") if key == "cors" else None
            for sub, subvalue in value.items():
                if key == "cors" and sub == "route":
                    continue
                out[f"{key}.{sub}"] = _check(path, key, sub, subvalue, SECTIONS[key])
            if routes is not None:
                out["cors.route"] = _check_routes(path, routes)
        elif key in TOP_KEYS:
            out[key] = _check(path, None, key, value, TOP_KEYS)
        else:
            valid = ", ".join([*TOP_KEYS, *(f"[{s}]" for s in SECTIONS)])
            raise ConfigError(f"config file {path}: unknown key {key!r}; valid keys: {valid}")
    for key in ("root", "api.file", "tls.cert_file", "tls.key_file"):
        if key in out:
            out[key] = os.path.join(base, os.path.expanduser(out[key]))
    return out


def _check(
    path: str, section: str | None, key: str, value: Any, keys: Mapping[str, Checker]
) -> Any:
    where = f"[{section}] {key}" if section else key
    if key not in keys:
        valid = ", ".join(keys)
        raise ConfigError(f"config file {path}: unknown key {where!r}; valid keys: {valid}")
    try:
        return keys[key](value)
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
        route_path = route.get("path")
        if not isinstance(route_path, str) or not route_path.startswith("/"):
            raise ConfigError(
                f"config file {path}: [[cors.route]] #{i} needs a path string starting with "
                '"/", e.g. path = "/api/**"'
            )
        settings = {
            k: _check(path, f"cors.route #{i}", k, v, CORS_KEYS)
            for k, v in route.items()
            if k != "path"
        }
        out.append((route_path, settings))
    return tuple(out)


# --- building the frozen values -------------------------------------------------------------


def _section(settings: Settings, section: str) -> dict[str, Any]:
    prefix = section + "."
    return {k[len(prefix) :]: v for k, v in settings.items() if k.startswith(prefix)}


def build_config(settings: Settings) -> Config:
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
    default = CorsPolicy(**cors_values)
    route_policies = [(p, CorsPolicy(**v)) for p, v in routes]
    cors: CorsPolicy | CorsRouter = (
        CorsRouter(default, route_policies) if route_policies else default
    )
    return Config(**top, limits=limits, static=static, api=api, cors=cors, tls=tls)


def load(flag_settings: Settings, config_file: str | None) -> Config:
    """File settings, overridden by flags, checked and frozen."""
    settings: Settings = read_toml(config_file) if config_file else {}
    settings.update(flag_settings)
    return build_config(settings)
