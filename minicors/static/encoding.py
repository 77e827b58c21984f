"""Negotiation (RFC 9110 §12.5: Accept-Encoding, Accept) and streaming gzip of a file.

Negotiation is a pure function of the header value; compression on the fly is an
iterator that reads one block at a time, so memory stays constant whatever the file size.
"""

from __future__ import annotations

import functools
import os
import re
import zlib

# x-gzip is an alias the recipient should treat as gzip (RFC 9110 §8.4.1.3).
_ALIASES = {"x-gzip": "gzip"}
# Among equally acceptable codings: brotli compresses text best, then gzip, then nothing.
_PREFERENCE = {"br": 0, "gzip": 1, "identity": 2}


_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def _qvalue(text: str) -> float | None:
    # qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )  (RFC 9110 §12.4.2)
    return float(text) if _QVALUE.fullmatch(text) else None


def parse_accept_encoding(value: str | None) -> dict[str, float]:
    """Coding (lower-case) -> q.  `*` is kept as a key; malformed elements are skipped."""
    weights: dict[str, float] = {}
    if not value:
        return weights
    for element in value.split(","):
        coding, _, params = element.partition(";")
        coding = coding.strip(" \t").lower()
        if not coding:
            continue
        q: float | None = 1.0
        for param in params.split(";"):
            name, eq, arg = param.partition("=")
            if eq and name.strip(" \t").lower() == "q":
                q = _qvalue(arg.strip(" \t"))
        if q is None:
            continue
        weights[_ALIASES.get(coding, coding)] = q
    return weights


def coding_weight(weights: dict[str, float], coding: str) -> float:
    """How much the client wants `coding` (0 = refused).

    A coding not named (and no `*`) is refused, so a request without `Accept-Encoding` gets
    identity: RFC 9110 would allow any coding then, but clients that omit the field (curl,
    scripts) expect plain bytes.  Identity stays acceptable unless refused by name or `*;q=0`.
    """
    if coding in weights:
        return weights[coding]
    if "*" in weights:
        return weights["*"]
    return 1.0 if coding == "identity" else 0.0


@functools.lru_cache(maxsize=256)
def rank_codings(value: str | None, available: tuple[str, ...]) -> tuple[str, ...]:
    """The `available` codings the client accepts, best first.

    Memoised: browsers send a handful of distinct values, so parsing is paid once per value.

    Identity's weight only competes when the client states it (by name or `*`): RFC 9110
    §12.5.3 makes identity acceptable by default without giving it a weight, and
    `gzip;q=0.5` alone is a client asking for gzip.
    """
    weights = parse_accept_encoding(value)
    stated = "identity" in weights or "*" in weights
    identity = coding_weight(weights, "identity") if stated else 0.0
    ranked = []
    for coding in available:
        q = coding_weight(weights, coding)
        # A refused coding (q=0) is never sent; one wanted less than identity is not chosen.
        if q > 0 and q >= identity:
            ranked.append((-q, _PREFERENCE.get(coding, 9), coding))
    return tuple(coding for _, _, coding in sorted(ranked))


def accepts_html(accept: str | None) -> bool:
    """`Accept` lists `text/html` with a non-zero weight: a browser navigating to a page."""
    if not accept:
        return False
    for element in accept.split(","):
        media, _, params = element.partition(";")
        if media.strip(" \t").lower() != "text/html":
            continue
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip(" \t").lower() == "q":
                try:
                    return float(value.strip(" \t")) > 0
                except ValueError:
                    return False
        return True
    return False


class GzipFileChunks:
    """Iterator of gzip members' bytes compressing `size` bytes read from `fd`, block by block.

    It owns `fd` and closes it when exhausted or closed, even if never started (a generator's
    `finally` would not run then).  The gzip header carries mtime 0, so the output depends only
    on the file's bytes.
    """

    __slots__ = ("_compressor", "_fd", "_remaining")

    BLOCK = 64 * 1024

    def __init__(self, fd: int, size: int, *, level: int = 6) -> None:
        self._fd = fd
        self._remaining = size
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def __iter__(self) -> GzipFileChunks:
        return self

    def __next__(self) -> bytes:
        while self._fd >= 0:
            block = os.read(self._fd, min(self.BLOCK, self._remaining)) if self._remaining else b""
            if not block:  # end of the stat()ed size, or the file shrank meanwhile
                tail = self._compressor.flush()
                self.close()
                return tail
            self._remaining -= len(block)
            out = self._compressor.compress(block)
            if out:
                return out
        raise StopIteration

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
