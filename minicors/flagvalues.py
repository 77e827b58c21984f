"""Value types of the command line's flags: each parses one flag's text or raises
`argparse.ArgumentTypeError`, which argparse turns into the one-line usage error (exit 2)."""

from __future__ import annotations

import argparse
from typing import Any

from .config import normalise_ext
from .extraheaders import ALL_PATHS, check_header


def port_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"invalid port {text!r}: use a number from 1 to 65535, or 0 for a free port"
        )
    return value


def int_at_least(low: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: use an integer >= {low}")
        return value

    return parse


def seconds_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: use a number of seconds such as 5 or 0.5"
        )
    return value


def mime_value(text: str) -> tuple[str, str]:
    ext, sep, mime = text.partition("=")
    if not sep or not ext or "/" not in mime:
        raise argparse.ArgumentTypeError(
            f"invalid --mime-type {text!r}: use EXT=TYPE, e.g. --mime-type .glb=model/gltf-binary"
        )
    return (normalise_ext(ext), mime)


def header_value(text: str) -> tuple[str, str, str]:
    name, sep, value = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"invalid --header {text!r}: use 'NAME: VALUE', e.g. "
            "--header 'Cross-Origin-Opener-Policy: same-origin'"
        )
    name = name.strip()
    try:
        check_header(name, value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --header {text!r}: {exc}") from None
    return (ALL_PATHS, name, value.strip(" \t"))
