"""The proxy's command-line flags, defined here so the CLI stays one line per feature."""

from __future__ import annotations

import argparse

from .routes import EVERY_PREFIX, INSECURE, KEEP_HOST, ROUTES, TIMEOUT

S = argparse.SUPPRESS  # flags not given stay out of the settings (flags win over the file)


def seconds(text: str) -> float:
    """A positive number of seconds (the CLI's own parser lives beside the config, which
    imports this package)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use seconds, such as 30")
    return value


def add_proxy_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("proxy (also settable as [[proxy]] tables in --config)")
    add = group.add_argument
    add("--proxy", dest=ROUTES, action="append", default=S, metavar="PREFIX=URL",
        help="forward requests under PREFIX to URL (repeatable; the longest prefix wins), "
        "with minicors's CORS policy")  # fmt: skip
    add("--proxy-insecure", dest=INSECURE, action="append", default=S, metavar="PREFIX",
        nargs="?", const=EVERY_PREFIX, help="do not verify the TLS certificate of that "
        "--proxy's upstream (without PREFIX: of every upstream)")  # fmt: skip
    add("--proxy-timeout", dest=TIMEOUT, type=seconds, default=S, metavar="SECONDS",
        help="an upstream that sends nothing for this long gets 504 (default 30)")  # fmt: skip
    add("--proxy-keep-host", dest=KEEP_HOST, action="store_true", default=S,
        help="send the client's Host upstream instead of the target's")  # fmt: skip


def add_check_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--proxy", dest=ROUTES, action="append", default=S,
        metavar="PREFIX=URL", help="a proxied prefix: says where --path goes")  # fmt: skip
