"""Small blocking file helpers of persist.py: stamps, whole reads, vectored writes, stale pids."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import DocumentUnreadable, HttpError

IOV_MAX = 1024  # pieces per writev(2) (POSIX's minimum IOV_MAX; Linux's is 1024)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stamp:
    """What identifies one version of FILE without reading it (a cheap `stat`)."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Stamp:
        return cls(
            device=st.st_dev,
            inode=st.st_ino,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            ctime_ns=st.st_ctime_ns,
        )


def close_all(held: dict[Any, int]) -> None:
    for fd in held.values():
        with suppress(OSError):
            os.close(fd)
    held.clear()


def release_free_memory() -> None:
    """Give the pages free in glibc's heap back to the system (malloc_trim(3), about 0.1 ms).

    A write replaces a 100,000-item list and the caches' blocks built on it; glibc returns
    only the top of its heap by itself, so the freed ones in between would stay in RSS.
    Elsewhere than glibc (musl, macOS), nothing to call: their allocators differ."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (ValueError, OSError, AttributeError):  # no such name here: not glibc
        return None
    import ctypes  # only where it is used: glibc

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def write_all(fd: int, pieces: Sequence[bytes]) -> None:
    """Every piece in order, with as few system calls as writev(2) allows."""
    pending = [memoryview(piece) for piece in pieces if piece]
    start = 0
    while start < len(pending):
        written = os.writev(fd, pending[start : start + IOV_MAX])
        while written and start < len(pending):  # drop what was written, keep a partial rest
            size = len(pending[start])
            if written < size:
                pending[start] = pending[start][written:]
                written = 0
            else:
                written -= size
                start += 1


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def is_pid(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 10


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale(directory: str, prefix: str) -> None:
    """Temporary files `prefix<pid>.*.tmp` in `directory` whose pid is no longer alive."""
    with suppress(OSError):
        for entry in os.listdir(directory):
            if not (entry.startswith(prefix) and entry.endswith(".tmp")):
                continue
            pid_text = entry[len(prefix) :].partition(".")[0]
            # ASCII digits only (str.isdigit accepts "²", which int() refuses), bounded.
            pid = int(pid_text) if is_pid(pid_text) else None
            if pid is not None and not alive(pid):
                with suppress(OSError):
                    os.unlink(os.path.join(directory, entry))


NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def http_error_for(exc: Exception, name: str) -> HttpError:
    """A failed save: 507 Insufficient Storage (RFC 4918 §11.5) for a full disk, else 500."""
    code = exc.errno if isinstance(exc, OSError) else None
    status = 507 if code in NO_SPACE else 500
    reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__
    return HttpError(status, f"could not save {name}: {reason}; the change was not made")


def unreadable(shown: str, exc: OSError) -> DocumentUnreadable:
    return DocumentUnreadable(
        f"{shown} cannot be read ({exc.strerror})",
        'create it, e.g. containing {"items": []}, or give the right path to --api',
    )
