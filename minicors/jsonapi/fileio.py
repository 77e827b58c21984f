"""Small blocking file helpers of persist.py: whole reads, vectored writes, stale pids."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

IOV_MAX = 1024  # pieces per writev(2) (POSIX's minimum IOV_MAX; Linux's is 1024)


def close_all(held: dict[Any, int]) -> None:
    for fd in held.values():
        with suppress(OSError):
            os.close(fd)
    held.clear()


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
