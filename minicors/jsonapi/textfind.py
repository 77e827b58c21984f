"""Substring search over a large bytes buffer at the speed of the C library's `memmem`.

`bytes.find` scans about 1.7 GB/s here; glibc's `memmem` about 4x that for the short terms
`q=` sends, and it runs without the interpreter lock, so a search in a worker thread leaves the
event loop running.  Where the C library has no `memmem` (or ctypes is missing), `bytes.find`
answers instead: the results are the same, only slower.

Pure: no I/O.  A `Haystack` holds its buffer, so the address it passes stays valid.
"""

from __future__ import annotations

from collections.abc import Callable

Finder = Callable[[int, int, bytes, int], "int | None"]


def _load_memmem() -> Finder | None:
    try:
        import ctypes
    except ImportError:  # an interpreter built without ctypes
        return None
    try:
        function = ctypes.CDLL(None).memmem
    except (OSError, AttributeError, TypeError):  # no C library (Windows: no None), no memmem
        return None
    function.restype = ctypes.c_void_p
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    return function


_MEMMEM = _load_memmem()


def _address(buffer: bytes) -> int:
    import ctypes

    pointer = ctypes.cast(ctypes.c_char_p(buffer), ctypes.c_void_p).value
    return pointer or 0  # 0: never None for a non-empty buffer, but then `find` falls back


class Haystack:
    """An immutable bytes buffer to search repeatedly."""

    __slots__ = ("_base", "buffer")

    def __init__(self, buffer: bytes) -> None:
        self.buffer = buffer
        self._base = _address(buffer) if _MEMMEM is not None and buffer else 0

    def find(self, term: bytes, start: int = 0) -> int:
        """The offset of the first `term` at or after `start`, or -1 (as `bytes.find`)."""
        size = len(self.buffer)
        if _MEMMEM is None or not self._base or not term or not 0 <= start < size:
            return self.buffer.find(term, start)
        found = _MEMMEM(self._base + start, size - start, term, len(term))
        return -1 if found is None else found - self._base

    def __contains__(self, term: bytes) -> bool:
        return self.find(term) >= 0
