"""Small files answered from memory: one `stat()` per request instead of open, fstat, pread and
close.

An entry is the complete 200 response for one URL path, body included.  It answers a request
only while

- a `stat()` of the file still reports the same device, inode, size, mtime and ctime (a write,
  a rename over the file, a chmod or a new link all change ctime, which no one can set back);
- the request asks nothing the entry cannot answer: no `Range` and no `If-*` header, and no
  `Accept-Encoding` unless the file's type is never sent compressed (the choice of a `.br`/`.gz`
  sibling depends on both the header and the directory, so those requests take the full path).

An entry is made only from a file untouched for 2 s: timestamps are coarser than the clock,
so a write landing in the same tick as our read could otherwise leave stale bytes in memory
behind an unchanged mtime.  Only files reached directly are kept (not a directory's
index.html, not the SPA fallback: a file created later at that URL must win at once).  The
path was checked to lie inside ROOT before the entry was made, and the inode + ctime
comparison means only that very file is ever answered from memory.  A file is kept under one
spelling of its URL only (`Target.canonical`), so `//a`, `/%61` or an absolute-form
target cannot make copies of it.  Memory is bounded (`budget_bytes`, counting bodies, keys and
a per-entry overhead; oldest entries dropped first).  The CORS layer may keep up to 256 more
annotated answers alive after their entry is dropped (`cors.ANNOTATED_ENTRIES`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ..messages import Request, Response

ENTRY_MAX_BYTES = 64 * 1024  # files up to this size are kept
BUDGET_BYTES = 16 * 1024 * 1024  # all entries together, per process
# A file or directory changed this recently is not trusted to be settled: timestamps are
# coarser than the clock (files.py lists such a directory again, this cache reads the file).
SETTLE_NS = 2_000_000_000
ENTRY_OVERHEAD_BYTES = 512  # counted per entry, so many empty files stay bounded too

Version = tuple[int, int, int, int, int]


def version_of(st: os.stat_result) -> Version:
    """What must stay equal for the bytes in memory to still be the file's."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def is_plain(request: Request) -> bool:
    """True when the answer to `request` cannot depend on a precondition or a range."""
    h = request.headers
    return not (
        b"range" in h
        or b"if-none-match" in h
        or b"if-modified-since" in h
        or b"if-match" in h
        or b"if-unmodified-since" in h
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str  # the file under ROOT, stat()ed on every use
    version: Version
    response: Response
    any_coding: bool  # valid whatever Accept-Encoding says (a type never compressed)


class EntityCache:
    """URL path -> the whole 200 answer for a small, settled file."""

    def __init__(self, budget_bytes: int = BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._entries: dict[str, _Entry] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, request: Request) -> Response | None:
        """The stored answer for a GET/HEAD `request`, or None (then take the full path)."""
        entry = self._entries.get(request.path)
        if entry is None or not is_plain(request):
            return None
        if not entry.any_coding and b"accept-encoding" in request.headers:
            return None
        try:
            st = os.stat(entry.path)
        except OSError:
            self._drop(request.path)
            return None
        if version_of(st) != entry.version:
            self._drop(request.path)
            return None
        return entry.response

    @staticmethod
    def admits(request: Request, st: os.stat_result, *, compressible: bool) -> bool:
        """Whether the 200 answer to `request` for the file `st` may be stored."""
        return (
            request.method == "GET"
            and st.st_size <= ENTRY_MAX_BYTES
            and time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) >= SETTLE_NS
            and is_plain(request)
            and not (compressible and b"accept-encoding" in request.headers)
        )

    def store(
        self, url_path: str, path: str, st: os.stat_result, response: Response, *, any_coding: bool
    ) -> None:
        """Keep `response` (body: the file's bytes, read after `st` was taken)."""
        size = _cost(url_path, path, response)
        if size > self.budget_bytes:
            return
        self._drop(url_path)
        while self._entries and self._bytes + size > self.budget_bytes:
            self._drop(next(iter(self._entries)))
        self._entries[url_path] = _Entry(path, version_of(st), response, any_coding)
        self._bytes += size

    def _drop(self, url_path: str) -> None:
        entry = self._entries.pop(url_path, None)
        if entry is not None:
            self._bytes -= _cost(url_path, entry.path, entry.response)


def _cost(url_path: str, path: str, response: Response) -> int:
    """What an entry holds: the body, both paths, and the objects around them."""
    body = response.body
    size = len(body) if isinstance(body, bytes) else 0
    return ENTRY_OVERHEAD_BYTES + len(url_path) + len(path) + size
