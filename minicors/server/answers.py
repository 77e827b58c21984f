"""Writing one connection's answers: bytes, files and streams, pipelined answers batched, and
one access-log line per answer.

A small answer (head and body) leaves in one write; answers to pipelined requests that are
already buffered are held and leave together (in order, RFC 9112 §9.3.2), never across a wait
for the network.  A file goes by the transport's `send_file` (`sendfile` on a socket); a
stream is pulled one chunk at a time, in a worker thread when producing a chunk blocks.
"""

from __future__ import annotations

import logging
import math
import os
import time

import trio

from ..accesslog import AccessLog, format_line
from ..errors import PeerGone, ProtocolError, UnsafeResponse
from ..messages import INTERNAL_ERROR, FileBody, LiveBody, Request, Response, StreamBody
from ..options import Limits
from ..protocol import HttpConnection, upgrade
from .transport import Deadline, Transport
from .tunnel import pipe

log = logging.getLogger("minicors.server")

SMALL_BODY = 64 * 1024  # file bodies up to this size go out in the same write as the head
PIPELINE_BATCH = 256 * 1024  # answers to pipelined requests held for one write, at most


class Answers:
    """The writing half of a connection task (see the module docstring)."""

    def __init__(
        self,
        protocol: HttpConnection,
        transport: Transport,
        *,
        limits: Limits,
        deadline: Deadline,
        access_log: AccessLog,
        peer: str,
    ) -> None:
        self.protocol = protocol
        self.transport = transport
        self.limits = limits
        self.deadline = deadline
        self.access_log = access_log
        self.peer = peer
        self.started = 0.0  # monotonic time the current request began (for the log)
        self.live = False  # a live body is being sent: the app, not the client, is awaited
        self._pending: list[bytes] = []  # pipelined answers waiting to leave in one write
        self._pending_size = 0

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    async def send(self, request: Request, response: Response, *, close: bool) -> bool:
        """Send `response`; True if the connection may serve another request."""
        protocol = self.protocol
        transport = self.transport
        body = response.body
        sent = 0
        transport.sent_file_bytes = 0
        try:
            if isinstance(body, bytes):
                head = protocol.response_head(response, len(body), close=close)
                if protocol.sends_body(response):
                    head += body
                    sent = len(body)
                await self._queue(head, protocol.buffered > 0)
            elif isinstance(body, FileBody):
                sent = await self._send_file(response, body, close)
            elif isinstance(body, StreamBody):
                sent = await self._send_stream(response, body, close)
            elif isinstance(body, LiveBody):
                sent = await self._send_live(response, body, close)
            else:
                if self._pending:
                    await self.flush()
                sent = await pipe(self, *upgrade(self.protocol, response), body)
        except UnsafeResponse as exc:
            # Our own bug (a handler built the header); the message says all a traceback would.
            log.error("%s (answering %s %s)", exc, request.method, request.target)  # noqa: TRY400
            await self._send(protocol.error_answer(INTERNAL_ERROR)[0])
            self.log(request, Response(status=500), 0, "error: bad header")
            return False
        except PeerGone as exc:
            # A proxied body whose upstream broke off says so; else the client left.
            why = str(exc) or "client went away"
            self.log(request, response, sent + transport.sent_file_bytes, why)
            raise
        except trio.Cancelled:
            # The send deadline passed without progress, or the server shed this connection.
            why = "send timed out" if self.deadline.expired() else "connection closed by the server"
            self.log(request, response, sent + transport.sent_file_bytes, why)
            raise
        self.log(request, response, sent, "")
        return protocol.response_done()

    async def refuse(self, error: ProtocolError) -> None:
        """Answer a request minicors refuses (`Connection: close`), if an answer can still
        be sent, and log it."""
        data, body_bytes = self.protocol.error_answer(error)
        if not data:
            return
        try:
            await self._send(data)
        except PeerGone:
            return
        if self.access_log.enabled:
            method, target, version = self.protocol.request_line
            self.access_log.write(
                format_line(
                    peer=self.peer,
                    method=method,
                    target=target,
                    http_version=version,
                    status=error.status,
                    sent_bytes=body_bytes,
                    elapsed_s=time.monotonic() - self.started if self.started else 0.0,
                    note=f"error: {error.message}",
                )
            )

    async def _send_file(self, response: Response, body: FileBody, close: bool) -> int:
        protocol = self.protocol
        try:
            head = protocol.response_head(response, body.length, close=close)
            if not protocol.sends_body(response):
                await self._queue(head, protocol.buffered > 0)
                return 0
            if body.length <= SMALL_BODY:
                data = _read_small(body)
                await self._queue(head + data, protocol.buffered > 0)
                return len(data)
            await self._send(head)
            fd = body.fd if body.fd is not None else os.open(body.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                await self.transport.send_file(fd, body.offset, body.length)
            finally:
                if body.fd is None:
                    os.close(fd)
            return body.length
        finally:
            body.close()

    async def _send_stream(self, response: Response, body: StreamBody, close: bool) -> int:
        protocol = self.protocol
        transport = self.transport
        sent = 0
        try:
            head = protocol.response_head(response, None, close=close)
            if not protocol.sends_body(response):
                await self._queue(head, protocol.buffered > 0)
                return 0
            await self._send(head)
            chunks = body.chunks
            while True:
                if body.blocking:
                    # Reading and compressing a large file: in a thread, so the event loop
                    # serves everyone else meanwhile (bounded by the send deadline).
                    self.deadline.at_least(trio.current_time() + self.limits.send_timeout_s)
                    chunk = await trio.to_thread.run_sync(next, chunks, None)
                else:
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                if chunk:
                    await transport.send(protocol.frame(chunk))
                    sent += len(chunk)
                    transport.sent_file_bytes = sent
            await transport.send(protocol.end_of_body())
            return sent
        finally:
            body.close()

    async def _send_live(self, response: Response, body: LiveBody, close: bool) -> int:
        """Each piece as it comes.  While the app waits for its next event no deadline of ours
        runs (the client is not what is awaited); a write that stalls has the send deadline."""
        protocol = self.protocol
        transport = self.transport
        sent = 0
        try:
            head = protocol.response_head(response, body.length, close=close)
            if not protocol.sends_body(response):
                await self._queue(head, protocol.buffered > 0)
                return 0
            await self._send(head)
            self.live = True
            self.deadline.set(math.inf)  # the app is awaited now, not the client
            try:
                async with trio.open_nursery() as nursery:
                    # A client that goes away would otherwise hold its slot until the next
                    # write.
                    nursery.start_soon(self._end_when_peer_leaves, nursery.cancel_scope)
                    async for piece in body.pieces:
                        if piece:
                            await transport.send(protocol.frame(piece))
                            sent += len(piece)
                            transport.sent_file_bytes = sent
                        self.deadline.set(math.inf)  # back to waiting on the app
                    self.live = False
                    await transport.send(protocol.end_of_body())
                    nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                # The nursery wraps what its body raised (PeerGone from a write, or from a
                # proxied body whose upstream broke off): pass the one error on as itself.
                if len(group.exceptions) == 1:
                    raise group.exceptions[0] from None
                raise
            if self.live:  # the peer left: the stream was cut short
                raise PeerGone
            return sent
        finally:
            self.live = False
            with trio.CancelScope(shield=True):
                await body.aclose()

    async def _end_when_peer_leaves(self, stream: trio.CancelScope) -> None:
        """Read while a live body is sent: end it when the client closes its side.  Bytes
        it sends meanwhile (a next request) are kept for after the stream, up to the head
        limit; past that, this stops reading (the next write finds out about the peer)."""
        while self.protocol.buffered <= self.limits.max_head_bytes:
            try:
                data = await self.transport.receive()
            except PeerGone:
                data = b""
            if not data:
                stream.cancel()
                return
            self.protocol.receive_data(data)

    async def _queue(self, data: bytes, more: bool) -> None:
        """Send `data`, or hold it when more pipelined requests are already here."""
        if more and self._pending_size + len(data) <= PIPELINE_BATCH:
            self._pending.append(data)
            self._pending_size += len(data)
        elif self._pending:
            self._pending.append(data)
            await self.flush()
        else:
            await self.transport.send(data)

    async def _send(self, data: bytes) -> None:
        if self._pending:
            self._pending.append(data)
            await self.flush()
        elif data:
            await self.transport.send(data)

    async def flush(self) -> None:
        """Send the answers held back, in one write."""
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        await self.transport.send(data)

    def log(self, request: Request, response: Response, sent: int, extra: str) -> None:
        if not self.access_log.enabled:
            return
        note = response.log_note
        if extra:
            note = f"{note} {extra}".strip()
        self.access_log.write(
            format_line(
                peer=self.peer,
                method=request.method,
                target=request.target,
                http_version=request.http_version,
                status=response.status,
                sent_bytes=sent,
                elapsed_s=time.monotonic() - self.started if self.started else 0.0,
                note=note,
            )
        )


def _read_small(body: FileBody) -> bytes:
    """A small file region, read at once (one `pread` of at most SMALL_BODY bytes)."""
    if body.fd is None:
        fd = os.open(body.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.pread(fd, body.length, body.offset)
        finally:
            os.close(fd)
    else:
        data = os.pread(body.fd, body.length, body.offset)
    if len(data) != body.length:
        raise PeerGone  # the file shrank under us: the framing cannot be honoured
    return data
