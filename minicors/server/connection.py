"""The task that serves one connection: it feeds the protocol object bytes from a transport,
calls the app, and writes back what the protocol renders.

Deadlines belong to this task alone: one cancel scope (`Deadline`) that the task arms before
each wait for its peer (idle, head, body, a blocked write).  When it fires, the task answers
by the phase it was in (408 for a request that did not arrive in time, nothing for an idle
keep-alive connection or a write that made no progress) and closes.  The server may cancel
the same scope to shed a connection that waits on its peer (at shutdown, or to make room at
the connection limit); that is handled the same way.  Answers to pipelined requests are held
and leave in one write, never across a wait for the network.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Awaitable, Callable

import trio

from ..accesslog import AccessLog, format_line
from ..errors import PeerGone, ProtocolError, UnsafeResponse
from ..messages import (
    INTERNAL_ERROR,
    FileBody,
    Request,
    Response,
    StreamBody,
    error_response,
)
from ..options import Limits
from ..protocol import HeadCache, HttpConnection, Need, Phase
from .transport import Deadline, Transport

log = logging.getLogger("minicors.server")

App = Callable[[Request], Response | Awaitable[Response]]

SMALL_BODY = 64 * 1024  # file bodies up to this size go out in the same write as the head
PIPELINE_BATCH = 256 * 1024  # answers to pipelined requests held for one write, at most


class ConnectionTask:
    """Serves one connection until it closes (see the module docstring).

    `waiting_since` (trio clock; inf when not waiting) and `protocol.phase` say whether and
    how long the task has been waiting on its peer: the server reads them to choose which
    connection to shed."""

    def __init__(
        self,
        *,
        app: App,
        limits: Limits,
        access_log: AccessLog,
        heads: HeadCache,
        peer: str,
        stopping: Callable[[], bool],
    ) -> None:
        self.app = app
        self.limits = limits
        self.access_log = access_log
        self.peer = peer
        self.stopping = stopping
        self.protocol = HttpConnection(limits, heads, peer=peer)
        self.deadline = Deadline()
        self.waiting_since = math.inf
        self.served = 0
        self._started = 0.0  # monotonic time the current request began (for the log)
        self._head_from = trio.current_time()  # the head deadline counts from here
        self._fresh = False  # the next head's deadline counts from its first bytes
        self._body_from = 0.0  # when the current request's body began (its deadline's start)
        self._pending: list[bytes] = []  # pipelined answers waiting to leave in one write
        self._pending_size = 0

    async def run(self, transport: Transport) -> None:
        """Serve until the peer closes, a deadline passes, or the server sheds us; then
        close the transport (briefly draining, so the peer reads our last answer)."""
        scope = self.deadline.scope
        drain = False
        try:
            with scope:
                drain = await self._serve(transport)
            if scope.cancelled_caught:
                drain = await self._cancelled(transport)
        except PeerGone:
            drain = False
        finally:
            with trio.CancelScope(shield=True):
                await self._close(transport, drain)

    # --- the request cycle -------------------------------------------------------------

    async def _serve(self, transport: Transport) -> bool:
        """The loop; returns whether closing should drain (an answer may be in flight)."""
        protocol = self.protocol
        deadline = self.deadline
        limits = self.limits
        while True:
            try:
                request = protocol.next_request()
            except ProtocolError as exc:
                await self._refuse(transport, exc)
                return True
            if request is Need.DATA:
                phase = protocol.phase
                if self._pending:
                    await self._flush(transport)
                now = trio.current_time()
                if phase is Phase.IDLE:
                    if self.stopping():
                        return False  # a graceful stop takes no new request
                    if self.served:
                        deadline.at_least(now + limits.keepalive_timeout_s)
                    else:
                        deadline.set(self._head_from + limits.head_timeout_s)
                elif phase is Phase.HEAD:
                    if self._fresh:  # the first bytes of this head came just now
                        self._head_from = now
                        self._fresh = False
                    deadline.set(self._head_from + limits.head_timeout_s)
                else:  # BODY: it must keep coming at body_min_rate (after body_timeout_s)
                    if protocol.wants_continue:
                        await transport.send(protocol.continue_bytes())
                    if not self._body_from:  # the head is complete: the body's clock starts
                        self._body_from = now
                    deadline.set(
                        self._body_from
                        + limits.body_timeout_s
                        + protocol.body_received / max(limits.body_min_rate, 1)
                    )
                self.waiting_since = now
                data = await transport.receive()
                self.waiting_since = math.inf
                if deadline.scope.cancel_called:
                    return False  # shed while the bytes were on their way: drop them
                if phase is Phase.IDLE:
                    self._fresh = True
                    if self.access_log.enabled:
                        self._started = time.monotonic()
                protocol.receive_data(data)
                continue
            if request is Need.CLOSED:
                return False
            self._body_from = 0.0
            if self.access_log.enabled and not self._started:
                self._started = time.monotonic()  # a pipelined request: it starts now
            result = self._call_app(request)
            if not isinstance(result, Response):
                deadline.set(math.inf)  # the app may wait for I/O; no deadline of ours applies
                result = await self._await_app(request, result)
            keep = await self._respond(transport, request, result)
            self.served += 1
            self._started = 0.0
            self._fresh = True
            if not keep:
                return True

    def _call_app(self, request: Request) -> Response | Awaitable[Response]:
        try:
            return self.app(request)
        except Exception:
            return self._crashed(request)

    async def _await_app(self, request: Request, pending: Awaitable[Response]) -> Response:
        try:
            return await pending
        except Exception:
            return self._crashed(request)

    @staticmethod
    def _crashed(request: Request) -> Response:
        # The app turns its own errors into responses; anything reaching here is a bug.
        log.exception("unhandled error answering %s %s", request.method, request.target)
        return error_response(INTERNAL_ERROR, log_note="error: see traceback")

    async def _cancelled(self, transport: Transport) -> bool:
        """The deadline fired or the server shed us: answer by phase, then close.  A shed
        connection is not drained: its slot is wanted now."""
        phase = self.protocol.phase
        timed_out = self.deadline.expired()
        # A new connection that sent nothing in time is told so, as one whose head stalled;
        # an idle kept-alive one (or any idle one at shutdown) is closed quietly.
        silent_new = phase is Phase.IDLE and not self.served and timed_out
        if phase is Phase.HEAD or phase is Phase.BODY or silent_new:
            what = "request body" if phase is Phase.BODY else "request head"
            error = ProtocolError(408, f"{what} not received in time")
            with trio.move_on_after(self.limits.send_timeout_s if timed_out else 0.5):
                await self._refuse(transport, error)
            return timed_out
        return False  # idle: close quietly; mid-answer: nothing more can be sent

    async def _refuse(self, transport: Transport, error: ProtocolError) -> None:
        """Answer a request minicors refuses (`Connection: close`), if an answer can still
        be sent, and log it."""
        data, body_bytes = self.protocol.error_answer(error)
        if not data:
            return
        try:
            await self._send(transport, data)
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
                    elapsed_s=time.monotonic() - self._started if self._started else 0.0,
                    note=f"error: {error.message}",
                )
            )

    # --- writing ------------------------------------------------------------------------

    async def _respond(self, transport: Transport, request: Request, response: Response) -> bool:
        """Send `response`; True if the connection may serve another request."""
        protocol = self.protocol
        body = response.body
        close = self.stopping()
        sent = 0
        try:
            if isinstance(body, bytes):
                head = protocol.response_head(response, len(body), close=close)
                if protocol.sends_body(response):
                    head += body
                    sent = len(body)
                await self._queue(transport, head, protocol.buffered > 0)
            elif isinstance(body, FileBody):
                sent = await self._send_file(transport, response, body, close)
            else:
                sent = await self._send_stream(transport, response, body, close)
        except UnsafeResponse as exc:
            # Our own bug (a handler built the header); the message says all a traceback would.
            log.error("%s (answering %s %s)", exc, request.method, request.target)  # noqa: TRY400
            await self._send(transport, protocol.error_answer(INTERNAL_ERROR)[0])
            self._log(request, Response(status=500), 0, "error: bad header")
            return False
        except PeerGone:
            self._log(request, response, sent + transport.sent_file_bytes, "client went away")
            raise
        self._log(request, response, sent, "")
        return protocol.response_done()

    async def _send_file(
        self, transport: Transport, response: Response, body: FileBody, close: bool
    ) -> int:
        protocol = self.protocol
        try:
            head = protocol.response_head(response, body.length, close=close)
            if not protocol.sends_body(response):
                await self._queue(transport, head, protocol.buffered > 0)
                return 0
            if body.length <= SMALL_BODY:
                data = _read_small(body)
                await self._queue(transport, head + data, protocol.buffered > 0)
                return len(data)
            await self._send(transport, head)
            fd = body.fd if body.fd is not None else os.open(body.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                await transport.send_file(fd, body.offset, body.length)
            finally:
                if body.fd is None:
                    os.close(fd)
            return body.length
        finally:
            body.close()

    async def _send_stream(
        self, transport: Transport, response: Response, body: StreamBody, close: bool
    ) -> int:
        protocol = self.protocol
        sent = 0
        try:
            head = protocol.response_head(response, None, close=close)
            if not protocol.sends_body(response):
                await self._queue(transport, head, protocol.buffered > 0)
                return 0
            await self._send(transport, head)
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

    async def _queue(self, transport: Transport, data: bytes, more: bool) -> None:
        """Send `data`, or hold it when more pipelined requests are already here: their
        answers leave together (in order, RFC 9112 §9.3.2) before any wait for the network."""
        if more and self._pending_size + len(data) <= PIPELINE_BATCH:
            self._pending.append(data)
            self._pending_size += len(data)
        elif self._pending:
            self._pending.append(data)
            await self._flush(transport)
        else:
            await transport.send(data)

    async def _send(self, transport: Transport, data: bytes) -> None:
        if self._pending:
            self._pending.append(data)
            await self._flush(transport)
        elif data:
            await transport.send(data)

    async def _flush(self, transport: Transport) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        await transport.send(data)

    async def _close(self, transport: Transport, drain: bool) -> None:
        try:
            if self._pending:
                with trio.move_on_after(self.limits.send_timeout_s):
                    await self._flush(transport)
        except PeerGone:
            drain = False
        await transport.close(drain=drain)

    def _log(self, request: Request, response: Response, sent: int, extra: str) -> None:
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
                elapsed_s=time.monotonic() - self._started if self._started else 0.0,
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
