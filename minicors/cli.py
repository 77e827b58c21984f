"""The `minicors` command: `serve`, `check`, `export` and `tls`.

Every flag maps to one setting of the TOML file ("section.key"); flags that were not given are
absent from the parsed namespace (argparse.SUPPRESS), so "flags win over the file" is a plain
dict update.  Any mistake prints one line naming the problem and the fix, and exits 2.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .config import Config, build_config, load, read_toml
from .errors import ConfigError
from .exportcmd import add_flags as add_export_flags
from .exportcmd import run as export_command
from .flagvalues import header_value, int_at_least, mime_value, port_value, seconds_value
from .proxy import add_check_flag, add_proxy_flags
from .version import __version__

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (problem + where to look), exit status 2, and
    a misspelt flag is answered with the nearest real one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No prefixes of flags: with them `--po 0` means `--port 0` until a second `--po...`
        # flag is added, and from then on the same command line is an "ambiguous option"
        # error.  Whole flags (and the few short forms) never change meaning.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)

    def command(self, name: str | None) -> _Parser:
        """The parser of the subcommand `name`, or this one when there is no such command."""
        for action in self._actions:
            if isinstance(action.choices, dict):
                found = action.choices.get(name)
                if isinstance(found, _Parser):
                    return found
        return self

    def reject_unrecognised(self, extras: Sequence[str]) -> NoReturn:
        """The usage error for arguments this (sub)command does not know.  argparse hands a
        subcommand's unknown arguments up to the top parser, whose error would point at
        `minicors --help`; Python 3.11's argparse suggests nothing, so difflib does."""
        flags = [s for action in self._actions for s in action.option_strings if s[:2] == "--"]
        hints: list[tuple[str, str]] = []
        for arg in extras:
            if arg.startswith("--"):
                given = arg.partition("=")[0]
                hints += [(given, near) for near in difflib.get_close_matches(given, flags, 1)]
        message = "unrecognized arguments: " + " ".join(extras)
        if len(hints) == 1:
            message += f"; did you mean {hints[0][1]}?"
        elif hints:
            message += "; did you mean " + ", ".join(f"{n} (for {g})" for g, n in hints) + "?"
        self.error(message)


S = argparse.SUPPRESS


def _add_cors_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("CORS (each also settable under [cors] in --config)")
    add = group.add_argument
    add("--allow-origin", dest="cors.allow_origins", action="append", default=S,
        metavar="ORIGIN", help="allowed origin: exact, '*', 'null', https://*.example.com, "
        "http://localhost:* (repeatable; default: loopback origins on any port)")  # fmt: skip
    add("--allow-origin-regex", dest="cors.allow_origin_regex", default=S, metavar="RE",
        help="allowed origins as a full-match regular expression")  # fmt: skip
    add("--allow-method", dest="cors.allow_methods", action="append", default=S, metavar="M",
        help="allowed method (repeatable, '*' allowed; default: GET HEAD POST PUT PATCH "
        "DELETE)")  # fmt: skip
    add("--allow-header", dest="cors.allow_headers", action="append", default=S, metavar="H",
        help="allowed request header (repeatable, '*' allowed but never covers Authorization; "
        "default: echo what the preflight asks for)")  # fmt: skip
    add("--expose-header", dest="cors.expose_headers", action="append", default=S, metavar="H",
        help="response header readable by scripts (repeatable; default: ETag Link Location "
        "X-Total-Count)")  # fmt: skip
    add("--allow-credentials", dest="cors.allow_credentials", action="store_true", default=S,
        help="send Access-Control-Allow-Credentials: true (never together with '*')")  # fmt: skip
    add("--max-age", dest="cors.max_age_s", type=int_at_least(0), default=S, metavar="SECONDS",
        help="Access-Control-Max-Age on allowed preflights (default 600)")  # fmt: skip
    add("--allow-private-network", dest="cors.allow_private_network", action="store_true",
        default=S, help="answer Private Network Access preflights")  # fmt: skip


def _add_serve_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("root", nargs="?", default=S, metavar="ROOT",
        help="directory of static files (default: the current directory)")  # fmt: skip
    add("--host", dest="host", default=S, help="address to listen on (default 127.0.0.1)")
    add("-p", "--port", dest="port", type=port_value, default=S,
        help="port to listen on (default 8000; 0 picks a free one)")  # fmt: skip
    add("-c", "--config", dest="config_file", default=None, metavar="FILE.toml",
        help="read settings from a TOML file (flags win over it)")  # fmt: skip
    add("--print-config", dest="print_config", action="store_true", default=False,
        help="print the effective settings (file and flags merged) as TOML that --config "
        "reads, and exit without serving")  # fmt: skip
    add("--no-access-log", dest="access_log", action="store_false", default=S,
        help="do not log one line per request")  # fmt: skip
    add("-o", "--open", dest="open", action="store_true", default=S,
        help="open the URL in your browser once it listens (not without a display)")  # fmt: skip
    add("--reload", dest="reload", action="store_true", default=S,
        help="reload pages when a file under ROOT (or the --api file) changes; stylesheets "
        "are swapped in place")  # fmt: skip
    add("--tls", dest="tls.enabled", action="store_true", default=S,
        help="serve HTTPS with a certificate from minicors's local CA "
        "(see `minicors tls`)")  # fmt: skip
    add("--tls-cert", dest="tls.cert_file", default=S, metavar="FILE",
        help="serve HTTPS with this certificate (PEM; with --tls-key)")  # fmt: skip
    add("--tls-key", dest="tls.key_file", default=S, metavar="FILE",
        help="the private key of --tls-cert (PEM)")  # fmt: skip
    add("--log-level", dest="log_level", default="info",
        choices=["debug", "info", "warning", "error"],
        help="diagnostics on stderr (default info)")  # fmt: skip

    limits = parser.add_argument_group("limits (each also settable under [limits])")
    add = limits.add_argument
    add("--max-head-bytes", dest="limits.max_head_bytes", type=int_at_least(1024), default=S,
        metavar="N", help="request line + headers limit, else 431 (default 16384)")  # fmt: skip
    add("--max-body-bytes", dest="limits.max_body_bytes", type=int_at_least(0), default=S,
        metavar="N", help="request body limit, else 413 (default 10485760)")  # fmt: skip
    add("--max-body-chunks", dest="limits.max_body_chunks", type=int_at_least(1), default=S,
        metavar="N", help="chunks in one chunked request body, else 413 "
        "(default 100000)")  # fmt: skip
    add("--max-connections", dest="limits.max_connections", type=int_at_least(1), default=S,
        metavar="N", help="open connections at once; past it the one that has waited longest "
        "on its client is closed to make room (default 1000)")  # fmt: skip
    add("--head-timeout", dest="limits.head_timeout_s", type=seconds_value, default=S, metavar="S",
        help="time allowed to send a request head, else 408 (default 10)")  # fmt: skip
    add("--body-timeout", dest="limits.body_timeout_s", type=seconds_value, default=S, metavar="S",
        help="time allowed for a request body, plus 1 s per --body-min-rate bytes received, "
        "else 408 (default 10)")  # fmt: skip
    add("--body-min-rate", dest="limits.body_min_rate", type=int_at_least(1), default=S,
        metavar="B", help="bytes per second a long body must keep up (default 1024)")  # fmt: skip
    add("--send-timeout", dest="limits.send_timeout_s", type=seconds_value, default=S, metavar="S",
        help="a response write that makes no progress this long is dropped "
        "(default 30)")  # fmt: skip
    add("--keepalive-timeout", dest="limits.keepalive_timeout_s", type=seconds_value, default=S,
        metavar="S", help="idle time before a kept-alive connection closes "
        "(default 5)")  # fmt: skip
    add("--grace-period", dest="limits.grace_period_s", type=seconds_value, default=S, metavar="S",
        help="on SIGINT/SIGTERM, time in-flight responses get to finish (default 5)")  # fmt: skip

    static = parser.add_argument_group("static files (each also settable under [static])")
    add = static.add_argument
    add("--dotfiles", dest="static.dotfiles", action="store_true", default=S,
        help="serve files whose names start with '.' (hidden by default)")  # fmt: skip
    add("--no-listing", dest="static.listing", action="store_false", default=S,
        help="404 instead of a listing for directories without index.html")  # fmt: skip
    add("-s", "--spa", dest="static.spa", action="store_true", default=S,
        help="single-page app: unknown page paths get index.html")  # fmt: skip
    add("--cache-control", dest="static.cache_control", default=S, metavar="VALUE",
        help="Cache-Control for files (default no-cache)")  # fmt: skip
    add("--immutable-hashed", dest="static.immutable_hashed", action="store_true", default=S,
        help="cache content-hashed names (app.3f9a1c2e.js) for a year, immutable")  # fmt: skip
    add("--no-precompressed", dest="static.precompressed", action="store_false", default=S,
        help="ignore .br/.gz siblings")  # fmt: skip
    add("--gzip", dest="static.gzip", action="store_true", default=S,
        help="gzip text files on the fly")  # fmt: skip
    add("--gzip-min-bytes", dest="static.gzip_min_bytes", type=int_at_least(0), default=S,
        metavar="N", help="smallest file --gzip compresses (default 1024)")  # fmt: skip
    add("--mime-type", dest="static.mime_types", type=mime_value, action="append", default=S,
        metavar="EXT=TYPE", help="add or override a content type (repeatable)")  # fmt: skip
    add("--header", dest="static.headers", type=header_value, action="append", default=S,
        metavar="'NAME: VALUE'", help="add a response header to every static answer, e.g. "
        "'Cross-Origin-Opener-Policy: same-origin' (repeatable; per path: [headers] in "
        "--config)")  # fmt: skip

    api = parser.add_argument_group("JSON API (each also settable under [api])")
    add = api.add_argument
    add("--api", dest="api.file", default=S, metavar="FILE.json",
        help="serve FILE.json as a REST API")  # fmt: skip
    add("--api-prefix", dest="api.prefix", default=S, metavar="PATH",
        help="URL prefix of the API (default /api)")  # fmt: skip
    add("--read-only", dest="api.read_only", action="store_true", default=S,
        help="refuse API writes with 405")  # fmt: skip
    add("--delay", dest="api.delay_ms", type=int_at_least(0), default=S, metavar="MS",
        help="delay every API response by MS milliseconds")  # fmt: skip
    add("--no-group-commit", dest="api.group_commit", action="store_false", default=S,
        help="one fsync per API write instead of sharing fsyncs between concurrent "
        "writes")  # fmt: skip
    add("--id-field", dest="api.id_field", default=S, metavar="NAME",
        help="the field that identifies items in every collection (default id)")  # fmt: skip

    parser.add_argument("--workers", dest="workers", type=int_at_least(1), default=S,
        metavar="N", help="processes accepting on the same port (default 1)")  # fmt: skip
    _add_cors_flags(parser)
    add_proxy_flags(parser)


def _add_check_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("-c", "--config", dest="config_file", default=None, metavar="FILE.toml",
        help="read the CORS settings of a TOML file (flags win over it)")  # fmt: skip
    add("--origin", required=True, help="the page's origin, e.g. https://app.example.com")
    add("--method", default="GET", help="the request's method (default GET)")
    add("--header", dest="headers", action="append", default=[], metavar="'NAME: VALUE'",
        help="a request header the page sets (repeatable; 'NAME' alone is fine)")  # fmt: skip
    add("--credentials", action="store_true",
        help="the fetch sends credentials (credentials: 'include')")  # fmt: skip
    add("--path", default="/", help="the request path, for per-route policies (default /)")
    add("--page-address-space", choices=["public", "local", "loopback"], default=None,
        help="the page's IP address space, for Local Network Access (default: from "
        "--origin's host; a DNS name is reported both ways)")  # fmt: skip
    add("--target-address-space", choices=["public", "local", "loopback"], default=None,
        help="minicors's address space as the page reaches it (default: from the listen "
        "address, `host` in --config, else loopback)")  # fmt: skip
    add_check_flag(parser)
    _add_cors_flags(parser)


def build_parser() -> _Parser:
    parser = _Parser(
        prog="minicors",
        description="An HTTP/1.1 server that gets CORS exactly right.",
    )
    parser.add_argument("--version", action="version", version=f"minicors {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    serve = commands.add_parser(
        "serve", help="serve static files (and a JSON API) with CORS",
        description="Serve ROOT over HTTP/1.1 with CORS.",
    )  # fmt: skip
    _add_serve_flags(serve)
    check = commands.add_parser(
        "check", help="would a browser allow this cross-origin request, and why?",
        description="Explain what a browser would do with a cross-origin request to minicors. "
        "Exit status: 0 allowed, 1 refused, 2 bad input.",
    )  # fmt: skip
    _add_check_flags(check)
    export = commands.add_parser(
        "export", help="write the CORS policy as an nginx or Caddy configuration",
        description="Print an nginx.conf or Caddyfile that answers CORS as minicors does with "
        "this policy, in front of --upstream. Exit status 2 when the target cannot express "
        "a setting exactly.",
    )  # fmt: skip
    add_export_flags(export)
    _add_cors_flags(export)
    tls = commands.add_parser(
        "tls", help="minicors's local certificate authority (for --tls): path, trust, untrust",
        description="path: print the CA certificate's path (making the CA if needed). "
        "trust: add the CA to your NSS databases (Chromium, Firefox) and, as root, the system "
        "store. untrust: remove it from them again.",
    )  # fmt: skip
    actions = ["path", "trust", "untrust"]
    tls.add_argument("action", choices=actions, metavar="{" + ",".join(actions) + "}")
    tls.add_argument("--no-system-store", dest="system_store", action="store_false",
        help="leave the system trust store alone, even as root")  # fmt: skip
    return parser


def _settings(ns: argparse.Namespace, skip: Sequence[str]) -> dict[str, Any]:
    """The flags that were given, as flat settings (repeatable flags become tuples)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in vars(ns).items() if k not in skip}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns, extras = parser.parse_known_args(argv)
    if extras:  # the subcommand's own error, so it points at `minicors serve --help`
        parser.command(ns.command).reject_unrecognised(extras)
    try:
        if ns.command == "serve":
            return _serve(ns)
        if ns.command == "check":
            return _check(ns)
        if ns.command == "export":
            return export_command(ns)
        if ns.command == "tls":
            from .tls import command  # only `tls` and --tls need the cryptography package

            return command(ns.action, system=ns.system_store)
    except ConfigError as exc:
        prog = f"minicors {ns.command}"
        sys.stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    parser.print_help(sys.stderr)
    return EXIT_USAGE


# --- serve ----------------------------------------------------------------------------------


def _serve(ns: argparse.Namespace) -> int:
    logging.basicConfig(
        level=getattr(logging, ns.log_level.upper()), format="%(message)s", stream=sys.stderr
    )
    settings = _settings(ns, skip=("command", "config_file", "log_level", "print_config"))
    config = load(settings, ns.config_file)
    _check_root(config.root)
    if ns.print_config:
        from .configdump import dump_config

        sys.stdout.write(dump_config(config))
        return 0
    warnings = [*config.router.warnings, *_api_warnings(config)]
    if config.proxy is not None:
        from .proxy import warnings as proxy_warnings

        warnings += proxy_warnings(config.proxy, config.api.prefix if config.api else None)
    if config.tls is not None:
        from .tls import check_served_root, server_context

        warnings += check_served_root(
            config.root, dotfiles=config.static.dotfiles, options=config.tls
        )
        # Made here once, before any worker starts: a bad pair is one line and exit 2, and
        # the workers find the local CA's leaf made.
        server_context(config.tls, config.host)
    for warning in warnings:
        sys.stderr.write(f"minicors: warning: {warning}\n")
    from .cors import summary
    from .server import run_until_signal

    # The effective policy once the server works, so a default that a flag replaced is visible.
    return run_until_signal(config, startup=summary(config.router))


def _api_warnings(config: Config) -> list[str]:
    """The API pages its lists with `Link` and `X-Total-Count`: a policy that does not expose
    them leaves a page unable to read them (Fetch §"CORS-safelisted response-header name")."""
    if config.api is None:
        return []
    from .cors import unexposed_fix
    from .messages import parse_target

    policy = config.router.policy_for(parse_target(config.api.prefix.rstrip("/") + "/"))
    fix = unexposed_fix(policy, ("Link", "X-Total-Count"))
    return [fix] if fix else []


def _check_root(root: str) -> None:
    if not os.path.exists(root):
        raise ConfigError(f"ROOT {root} does not exist; give an existing directory to serve")
    if not os.path.isdir(root):
        raise ConfigError(f"ROOT {root} is not a directory; give the directory to serve")


# --- check ----------------------------------------------------------------------------------


def _check(ns: argparse.Namespace) -> int:
    from .cors import CheckQuery, explain

    own = ("command", "config_file", "origin", "method", "headers", "credentials", "path")
    settings = _settings(ns, skip=(*own, "page_address_space", "target_address_space"))
    file_settings = read_toml(ns.config_file) if ns.config_file else {}
    file_settings.update(settings)
    # Only the CORS settings matter here (a config file shared with `serve` may hold others).
    config = build_config(
        {k: v for k, v in file_settings.items() if k.startswith("cors.")},
        file=ns.config_file,
        flag_keys=frozenset(settings),
    )
    query = CheckQuery(
        origin=ns.origin,
        method=ns.method,
        headers=tuple(ns.headers),
        credentials=ns.credentials,
        path=ns.path,
        page_address_space=ns.page_address_space,
        target_address_space=ns.target_address_space,
        server_host=str(file_settings.get("host", "127.0.0.1")),
    )
    result = explain(config.router, query)
    sys.stdout.write(result.report.rstrip("\n") + "\n")
    from .messages import parse_target
    from .proxy import describe, options_from

    proxied = {k: v for k, v in file_settings.items() if k.startswith("proxy")}
    if proxied and ns.path.startswith("/"):
        line = describe(options_from(proxied), parse_target(ns.path))
        sys.stdout.write(line + "\n" if line else "")
    return 0 if result.allowed else 1
