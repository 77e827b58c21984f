"""`minicors serve --print-config`: the effective `Config` as TOML that `--config` reads back.

Two parts: `config_table` turns the frozen values into the file's tables (paths made absolute,
unset optional values left out, every other setting written, defaults included, so the file
says everything), and `dump_toml` writes the few TOML types those tables need: strings,
integers, floats, booleans, arrays of them, tables and arrays of tables.  Strings are written
as ASCII with escapes, so the text survives any terminal's encoding.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Mapping
from typing import Any

from .config import HEADERS, Config
from .errors import ConfigError
from .extraheaders import ALL_PATHS

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # TOML v1.0.0 §Keys
_ESCAPES = {'"': '\\"', "\\": "\\\\"}  # the rest that needs it is written as \uXXXX


def dump_config(config: Config) -> str:
    """`config` as the text of a TOML file."""
    return dump_toml(config_table(config))


def config_table(config: Config) -> dict[str, Any]:
    """`config` as the tables of a config file (see README "Configuration file")."""
    table: dict[str, Any] = {
        f.name: value
        for f in dataclasses.fields(config)
        if isinstance(value := getattr(config, f.name), bool | int | float | str)
    }
    table["root"] = os.path.abspath(config.root)
    table["limits"] = _fields(config.limits)
    static = _fields(config.static)
    static["mime_types"] = dict(config.static.mime_types)
    del static["headers"]  # its own table, [headers]
    table["static"] = static
    if config.api is not None:
        table["api"] = _fields(config.api) | {"file": os.path.abspath(config.api.file)}
    if config.proxy is not None:
        table["proxy_timeout_s"] = config.proxy.timeout_s
        table["proxy_keep_host"] = config.proxy.keep_host
        table["proxy"] = [
            {"prefix": r.prefix, "target": r.target, "insecure": r.insecure}
            for r in config.proxy.routes
        ]
    if config.tls is not None:
        tls: dict[str, Any] = {"enabled": True, **_fields(config.tls)}
        for key in ("cert_file", "key_file"):
            if key in tls:
                tls[key] = os.path.abspath(tls[key])
        table["tls"] = tls
    router = config.router
    cors = _fields(router.default.settings)
    routes = [
        {"path": pattern.source, **_fields(policy.settings)} for pattern, policy in router.routes
    ]
    if routes:
        cors["route"] = routes
    table["cors"] = cors
    if config.static.headers:
        table[HEADERS] = _headers(config.static.headers)
    return table


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields, None ones left out (TOML has no null; absent is the default)."""
    out = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items() if v is not None}


def _headers(rules: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    """The `[headers]` table: every-path headers as its keys, then one table per path glob."""
    table: dict[str, Any] = {}
    for path, name, value in rules:
        if path == ALL_PATHS:
            table[name] = value
        else:
            table.setdefault(path, {})[name] = value
    return table


# --- the TOML writer --------------------------------------------------------------------------


def dump_toml(table: Mapping[str, Any]) -> str:
    """`table` as TOML v1.0.0 text: a table's plain keys first, then its tables and arrays of
    tables, each under its full dotted name."""
    lines: list[str] = []
    _write_table(lines, (), table)
    return "\n".join(lines).strip("\n") + "\n"


def _write_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    nested: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, Mapping) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        name = ".".join(_key(k) for k in (*path, key))
        if isinstance(value, Mapping):
            lines += ["", f"[{name}]"]
            _write_table(lines, (*path, key), value)
        else:
            for item in value:
                lines += ["", f"[[{name}]]"]
                _write_table(lines, (*path, key), item)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int in Python
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # e.g. 10.0, 0.5, 1e-05: TOML floats as written
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _string(text: str) -> str:
    """A TOML basic string in ASCII: quote, backslash, controls and non-ASCII escaped."""
    out = []
    for c in text:
        code = ord(c)
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif 0xD800 <= code <= 0xDFFF:
            # A byte that is not UTF-8 in a file name (surrogateescape): TOML cannot hold it.
            raise ConfigError(
                f"{text!r} is not valid UTF-8 and cannot be written as TOML; rename it"
            )
        elif code < 0x20 or code == 0x7F or code > 0x7E:
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'
