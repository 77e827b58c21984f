"""`minicors export nginx|caddy`: the CORS policy of `serve`'s flags or --config, written as
an nginx.conf or a Caddyfile that answers browsers as minicors does (see `cors/export/`).

The policy is read exactly as `check` reads it (the `[cors]` table of --config, flags over it);
what the target cannot express exactly stops with one line and exit status 2.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from .config import build_config, read_toml
from .errors import ConfigError
from .version import __version__

# An upstream is an origin: nothing that could end the directive or start a placeholder.
_UPSTREAM = re.compile(r"https?://(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::[0-9]{1,5})?")
_LISTEN = re.compile(r"(?:(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):)?(?P<port>[0-9]{1,5})")
OWN = ("command", "config_file", "target", "upstream", "listen")


def add_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of `export` itself (the CORS flags are `serve`'s, added by the caller)."""
    add = parser.add_argument
    add("target", choices=["nginx", "caddy"], help="the server to write a configuration for")
    add("--upstream", required=True, metavar="URL",
        help="where requests other than preflights go, e.g. http://127.0.0.1:9000")  # fmt: skip
    add("--listen", default="80", metavar="[HOST:]PORT",
        help="the address the exported server listens on (default 80)")  # fmt: skip
    add("-c", "--config", dest="config_file", default=None, metavar="FILE.toml",
        help="read the CORS settings of a TOML file (flags win over it)")  # fmt: skip


_FLAG = {"max_age_s": "max-age"}  # a flag named otherwise than its key (lists drop the "s")


def _flag_words(flags: dict[str, Any]) -> str:
    """The CORS flags as they were given, e.g. `--allow-origin https://a.test --max-age 60`."""
    words: list[str] = []
    for key, value in sorted(flags.items()):
        name = key.removeprefix("cors.")
        plain = name.removesuffix("s") if isinstance(value, tuple) else name
        flag = "--" + _FLAG.get(name, plain.replace("_", "-"))
        if value is True:
            words.append(flag)
        else:
            words += [f"{flag} {v}" for v in (value if isinstance(value, tuple) else (value,))]
    return " ".join(words)


def _source(file: str | None, flags: dict[str, Any]) -> str:
    given = _flag_words(flags)
    if file and flags:
        return f"the [cors] table of {file}, then the flags {given}"
    if file:
        return f"the [cors] table of {file}"
    return f"the flags {given}" if flags else "minicors's defaults (no CORS flag, no --config)"


def run(ns: argparse.Namespace) -> int:
    from .cors import export_policy

    if not _UPSTREAM.fullmatch(ns.upstream):
        raise ConfigError(
            f"--upstream {ns.upstream!r} is not scheme://host[:port]: write e.g. "
            "--upstream http://127.0.0.1:9000 (no path)"
        )
    listen = _LISTEN.fullmatch(ns.listen)
    if listen is None or not 0 < int(listen["port"]) <= 65535:
        raise ConfigError(f"--listen {ns.listen!r} is not [HOST:]PORT: write e.g. --listen 8080")
    flags = {k: tuple(v) if isinstance(v, list) else v for k, v in vars(ns).items()
             if k not in OWN}  # fmt: skip
    settings = read_toml(ns.config_file) if ns.config_file else {}
    settings.update(flags)
    config = build_config(
        {k: v for k, v in settings.items() if k.startswith("cors.")},
        file=ns.config_file,
        flag_keys=frozenset(flags),
    )
    if config.router.routes:
        first = config.router.routes[0][0].source
        raise ConfigError(
            f"per-route CORS policies ([[cors.route]] {first} ...) are not exported: nginx "
            "and Caddy match paths after their own decoding, not minicors's canonical path, so "
            "a route could pick another policy; export one policy ([cors] only)"
        )
    text = export_policy(
        ns.target,
        config.router.default,
        upstream=ns.upstream,
        listen=ns.listen,
        version=__version__,
        source=_source(ns.config_file, flags),
    )
    sys.stdout.write(text)
    return 0
