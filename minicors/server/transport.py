"""How the bytes of one connection move: two transports that the same connection task drives.

`SocketTransport` is the plain-TCP fast path: it parks until the socket is readable and reads
once, writes with one `write()` when the socket buffer has room (nearly always, for a small
answer), and streams files with `sendfile` from the page cache.  `StreamTransport` runs over
any trio `Stream`: TLS, and the memory streams the tests use.

Neither owns a deadline: the connection task's one cancel scope (`Deadline`) bounds every
wait.  A transport arms the send deadline itself, but only when a write has to wait, so the
common answer costs no timer at all.
"""

from __future__ import annotations

import errno
import math
import os
import socket
from typing import Protocol

import trio

from ..errors import PeerGone

MAX_RECV = 64 * 1024
FILE_CHUNK = 256 * 1024  # read size when sendfile is not possible
SENDFILE_MAX = 1 << 24
DRAIN_TIME_S = 2.0  # after the last answer: how long to read and discard before closing
DRAIN_BYTES = 1024 * 1024  # ... and at most how much
DEADLINE_SLACK_S = 0.5  # a deadline that moves forward is re-armed at most this often


class Deadline:
    """The one cancel scope of a connection task, when it fires (trio clock), and since when
    the task has been waiting on its peer (`waiting_since`; inf when it is not), which the
    server reads to choose a connection to shed.

    Setting a trio deadline costs a few microseconds, so it is only touched when it must
    change: `at_least` keeps a deadline that already lies within `DEADLINE_SLACK_S` after the
    wanted one.  A stale deadline left armed while the task runs without yielding cannot
    fire (trio delivers cancellation only at a checkpoint), so every wait arms its own first.
    """

    __slots__ = ("at", "scope", "waiting_since")

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.at = math.inf
        self.waiting_since = math.inf

    def set(self, at: float) -> None:
        if at != self.at:
            self.at = at
            self.scope.deadline = at

    def at_least(self, at: float) -> None:
        """Fire between `at` and `at + DEADLINE_SLACK_S`."""
        current = self.at
        if current < at or current > at + DEADLINE_SLACK_S:
            self.set(at + DEADLINE_SLACK_S)

    def expired(self) -> bool:
        return trio.current_time() >= self.at


class Transport(Protocol):
    """What the connection task needs from a byte channel."""

    sent_file_bytes: int  # file bytes that have left during the current `send_file`

    async def receive(self) -> bytes:
        """The next bytes from the peer, b"" at EOF; `PeerGone` if it reset."""
        ...

    async def send(self, data: bytes) -> None:
        """All of `data`, or `PeerGone`."""
        ...

    async def send_file(self, fd: int, offset: int, length: int) -> None:
        """`length` bytes of `fd` from `offset`, in constant memory."""
        ...

    async def close(self, *, drain: bool) -> None:
        """Half-close, read and discard briefly if `drain` (so the peer reads our last answer
        instead of a reset), then close."""
        ...


class SocketTransport:
    """Direct reads and writes on a connected TCP socket's descriptor."""

    def __init__(self, sock: trio.socket.SocketType, deadline: Deadline, send_timeout_s: float):
        self._sock = sock
        self._fd = sock.fileno()
        self._deadline = deadline
        self._send_timeout_s = send_timeout_s
        self.sent_file_bytes = 0

    async def receive(self) -> bytes:
        # A kept-alive client's next request is almost never there yet when we ask (it waits
        # for our answer), so park first and read once woken: one read per request, not a
        # failing read, a park and a read.  Parking is a scheduler pass either way, so a
        # flooding client cannot starve the others.
        sock = self._sock
        try:
            while True:
                await trio.lowlevel.wait_readable(sock)
                try:
                    return os.read(self._fd, MAX_RECV)
                except BlockingIOError:
                    continue  # woken without data (it can happen): park again
        except OSError as exc:  # reset
            raise PeerGone from exc

    async def send(self, data: bytes) -> None:
        try:
            sent = os.write(self._fd, data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise PeerGone from exc
        if sent == len(data):
            return
        view = memoryview(data)
        deadline = self._deadline
        try:
            while sent < len(data):
                now = trio.current_time()
                deadline.at_least(now + self._send_timeout_s)
                deadline.waiting_since = min(deadline.waiting_since, now)
                await trio.lowlevel.wait_writable(self._sock)
                try:
                    written = os.write(self._fd, view[sent:])
                except BlockingIOError:
                    continue
                except OSError as exc:
                    raise PeerGone from exc
                sent += written
                deadline.waiting_since = math.inf  # progress: the wait starts anew
        finally:
            deadline.waiting_since = math.inf

    async def send_file(self, fd: int, offset: int, length: int) -> None:
        """`sendfile` straight from the page cache; it waits for the socket to drain, so a
        slow reader costs one socket buffer, not the file."""
        out = self._fd
        sent = 0
        self.sent_file_bytes = 0
        deadline = self._deadline
        while sent < length:
            try:
                n = os.sendfile(out, fd, offset + sent, min(length - sent, SENDFILE_MAX))
            except BlockingIOError:
                now = trio.current_time()
                deadline.at_least(now + self._send_timeout_s)
                deadline.waiting_since = min(deadline.waiting_since, now)
                try:
                    await trio.lowlevel.wait_writable(self._sock)
                finally:
                    deadline.waiting_since = math.inf
                continue
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise PeerGone from exc
            except OSError as exc:
                if exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    await _send_reads(self, fd, offset + sent, length - sent, sent)
                    return
                raise
            if n == 0:
                raise PeerGone  # the file shrank under us: the framing cannot be honoured
            sent += n
            self.sent_file_bytes = sent
            self._deadline.at_least(trio.current_time() + self._send_timeout_s)
            await trio.lowlevel.checkpoint()

    async def close(self, *, drain: bool) -> None:
        sock = self._sock
        try:
            if drain:
                sock.shutdown(socket.SHUT_WR)
                await _drain(self)
        except OSError:
            pass
        finally:
            sock.close()


class StreamTransport:
    """Any trio `Stream`: TLS, or an in-memory stream in tests."""

    def __init__(self, stream: trio.abc.Stream, deadline: Deadline, send_timeout_s: float):
        self._stream = stream
        self._deadline = deadline
        self._send_timeout_s = send_timeout_s
        self.sent_file_bytes = 0

    async def receive(self) -> bytes:
        try:
            data = await self._stream.receive_some(MAX_RECV)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise PeerGone from exc
        return data if isinstance(data, bytes) else bytes(data)

    async def send(self, data: bytes) -> None:
        deadline = self._deadline
        now = trio.current_time()
        deadline.at_least(now + self._send_timeout_s)
        deadline.waiting_since = now
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise PeerGone from exc
        finally:
            deadline.waiting_since = math.inf

    async def send_file(self, fd: int, offset: int, length: int) -> None:
        self.sent_file_bytes = 0
        await _send_reads(self, fd, offset, length, 0)

    async def close(self, *, drain: bool) -> None:
        stream = self._stream
        try:
            if drain and isinstance(stream, trio.abc.HalfCloseableStream):
                await stream.send_eof()
                await _drain(self)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await stream.aclose()


async def _send_reads(
    transport: SocketTransport | StreamTransport, fd: int, offset: int, length: int, done: int
) -> None:
    """A file region in bounded reads, each in a worker thread: a read from a cold disk must
    not stall every other connection."""
    sent = 0
    while sent < length:
        data = await trio.to_thread.run_sync(
            os.pread, fd, min(FILE_CHUNK, length - sent), offset + sent
        )
        if not data:
            raise PeerGone  # the file shrank under us
        await transport.send(data)
        sent += len(data)
        transport.sent_file_bytes = done + sent


async def _drain(transport: SocketTransport | StreamTransport) -> None:
    """Read and discard what the peer still sends, briefly: closing with unread data makes
    the kernel send RST, which can destroy our answer before the client reads it."""
    drained = 0
    with trio.move_on_after(DRAIN_TIME_S):
        while drained < DRAIN_BYTES:
            try:
                data = await transport.receive()
            except PeerGone:
                return
            if not data:
                return
            drained += len(data)
