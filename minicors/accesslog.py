"""The access log: one line per request, written to stderr.

Format (CONTRACT "Running"): `PEER "METHOD TARGET HTTP/x.y" STATUS SIZEB TIMEms [note]`.
Everything that came from the client is escaped first: a CR, LF or ANSI escape in a target or
an Origin must never forge a log line or colour a terminal (uvicorn CVE-2020-7694,
flask-cors CVE-2024-1681).
"""

from __future__ import annotations

import sys
from typing import TextIO

# Control characters (C0, DEL, C1) become \xNN; quote and backslash are escaped so the quoted
# request line stays unambiguous.  str.translate with a precomputed table is one C-level pass.
_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES[ord('"')] = '\\"'
_ESCAPES[ord("\\")] = "\\\\"


def escape(text: str) -> str:
    """`text` with control characters, quotes and backslashes made visible and harmless."""
    return text.translate(_ESCAPES)


def format_line(
    *,
    peer: str,
    method: str,
    target: str,
    http_version: str,
    status: int,
    sent_bytes: int,
    elapsed_s: float,
    note: str = "",
) -> str:
    line = (
        f'{peer} "{escape(method)} {escape(target)} HTTP/{http_version}" '
        f"{status} {sent_bytes}B {elapsed_s * 1000:.1f}ms"
    )
    if note:
        line += " " + escape(note)
    return line


class AccessLog:
    """Writes formatted lines to a stream (stderr by default); `enabled=False` costs nothing."""

    def __init__(self, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self._stream = stream

    def write(self, line: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        stream.write(line + "\n")
        stream.flush()
