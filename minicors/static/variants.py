"""Which representation of a file to send: the file itself, a precompressed sibling
(`app.js.br`, `app.js.gz`), or gzip on the fly (RFC 9110 §12.5.3 content negotiation)."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass

from ..messages import Request
from ..options import StaticOptions
from .cache import SETTLE_NS
from .encoding import rank_codings
from .mime import MediaType
from .opener import MEMO_MAX, Opened, SafeOpener
from .paths import Refusal

_SIBLINGS = (("br", ".br"), ("gzip", ".gz"))  # precompressed variants, by suffix
_CODINGS = ("br", "gzip")


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """The representation chosen to send: the file itself, a sibling, or gzip on the fly."""

    opened: Opened
    coding: str  # "identity", "br" or "gzip"
    on_the_fly: bool = False


class Variants:
    """Chooses representations; remembers which `.br`/`.gz` names each directory holds."""

    def __init__(self, opener: SafeOpener, options: StaticOptions) -> None:
        self._opener = opener
        self._options = options
        # directory -> (its mtime, the .br/.gz names in it): adding or removing an entry
        # changes the directory's mtime, so a sibling can be ruled out with one stat().
        self._siblings: dict[str, tuple[int, frozenset[str]]] = {}

    def choose(self, request: Request, opened: Opened, media: MediaType) -> tuple[Variant, bool]:
        """The representation to send and whether the choice depended on Accept-Encoding.

        Siblings are only looked for on compressible types (an `.png.gz` buys nothing), and a
        sibling the client refuses is only stat()ed when Vary is not yet known to be needed.
        A request without Accept-Encoding (curl, load generators) costs no sibling open() at
        all; its identity response then carries no `Vary: Accept-Encoding`, which is safe: a
        cache may hand an identity response to anyone, and every compressed one has the Vary.
        Closes `opened` when a sibling is chosen instead.
        """
        identity = Variant(opened=opened, coding="identity")
        options = self._options
        if not media.compressible:
            return identity, False
        accept = request.header(b"accept-encoding")
        ranked = rank_codings(accept, _CODINGS)
        varies = False
        if options.precompressed and accept is not None:
            order = ranked + tuple(c for c, _ in _SIBLINGS if c not in ranked)
            suffixes = dict(_SIBLINGS)
            for coding in order:
                wanted = coding in ranked
                if not wanted and varies:
                    continue
                if not self._may_exist(opened.path + suffixes[coding]):
                    continue
                sibling = self._opener.open(opened.path + suffixes[coding])
                if isinstance(sibling, Refusal):
                    continue
                if not stat.S_ISREG(sibling.st.st_mode):
                    os.close(sibling.fd)
                    continue
                varies = True
                if wanted:
                    os.close(opened.fd)
                    return Variant(opened=sibling, coding=coding), True
                os.close(sibling.fd)
        if options.gzip and opened.st.st_size >= options.gzip_min_bytes:
            varies = True
            if "gzip" in ranked:
                return Variant(opened=opened, coding="gzip", on_the_fly=True), True
        return identity, varies

    def _may_exist(self, sibling: str) -> bool:
        """False only when `sibling` is certainly absent (its directory, unchanged since it
        was listed, had no such name): one stat() instead of a failed open() per coding."""
        directory, name = os.path.split(sibling)
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            return True
        if time.time_ns() - mtime < SETTLE_NS:
            # Timestamps are coarser than the clock: an entry created in the same tick as the
            # listing would leave the mtime unchanged.  A directory this fresh is not trusted.
            return True
        known = self._siblings.get(directory)
        if known is None or known[0] != mtime:
            try:
                names = frozenset(n for n in os.listdir(directory) if n.endswith((".br", ".gz")))
            except OSError:
                return True
            if len(self._siblings) >= MEMO_MAX:
                self._siblings.clear()
            known = self._siblings[directory] = (mtime, names)
        return name in known[1]
