"""The task that serves one connection: it feeds the protocol object bytes from a transport,
calls the app, and has `Answers` write back what the protocol renders.

Deadlines belong to this task alone: one cancel scope (`Deadline`) that the task arms before
each wait for its peer (idle, head, body, a blocked write).  When it fires, the task answers
by the phase it was in (408 for a request that did not arrive in time, nothing for an idle
keep-alive connection or a write that made no progress) and closes.  The server may cancel
the same scope to shed a connection that waits on its peer (at shutdown, or to make room at
the connection limit); that is handled the same way.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable

import trio

from ..accesslog import AccessLog
from ..errors import PeerGone, ProtocolError
from ..messages import INTERNAL_ERROR, Request, Response, error_response
from ..options import Limits
from ..protocol import HeadCache, HttpConnection, Need, Phase
from .answers import Answers
from .bodystream import BodyPieces, until_peer_leaves
from .transport import Deadline, Transport

log = logging.getLogger("minicors.server")

App = Callable[[Request], Response | Awaitable[Response]]


class ConnectionTask:
    """Serves one connection until it closes (see the module docstring).

    `deadline.waiting_since` (trio clock; inf when not waiting) and `protocol.phase` say
    whether and how long the task has been waiting on its peer: the server reads them to
    choose which connection to shed."""

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
        # An app may ask for some request bodies streamed rather than buffered (--proxy).
        self._streams = getattr(app, "streams_body", None)
        self.protocol = HttpConnection(limits, heads, peer=peer, streams=self._streams)
        self.deadline = Deadline()
        self.answers: Answers | None = None  # set while `run` runs
        self.served = 0
        self._head_from = trio.current_time()  # the head deadline counts from here
        self._fresh = False  # the next head's deadline counts from its first bytes
        self._body_from = 0.0  # when the current request's body began (its deadline's start)

    async def run(self, transport: Transport) -> None:
        """Serve until the peer closes, a deadline passes, or the server sheds us; then
        close the transport (briefly draining, so the peer reads our last answer)."""
        answers = Answers(
            self.protocol,
            transport,
            limits=self.limits,
            deadline=self.deadline,
            access_log=self.access_log,
            peer=self.peer,
        )
        self.answers = answers
        scope = self.deadline.scope
        drain = False
        try:
            with scope:
                drain = await self._serve(transport, answers)
            if scope.cancelled_caught:
                drain = await self._cancelled(answers)
        except PeerGone:
            drain = False
        finally:
            with trio.CancelScope(shield=True):
                try:
                    if answers.pending:
                        with trio.move_on_after(self.limits.send_timeout_s):
                            await answers.flush()
                except PeerGone:
                    drain = False
                await transport.close(drain=drain)

    async def _serve(self, transport: Transport, answers: Answers) -> bool:
        """The loop; returns whether closing should drain (an answer may be in flight)."""
        protocol = self.protocol
        deadline = self.deadline
        limits = self.limits
        logging_on = self.access_log.enabled
        while True:
            try:
                request = protocol.next_request()
            except ProtocolError as exc:
                await answers.refuse(exc)
                return True
            if request is Need.DATA:
                phase = protocol.phase
                if answers.pending:
                    await answers.flush()
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
                    deadline.set(limits.body_deadline(self._body_from, protocol.body_received))
                deadline.waiting_since = now
                try:
                    data = await transport.receive()
                finally:
                    deadline.waiting_since = math.inf
                if deadline.scope.cancel_called:
                    return False  # shed while the bytes were on their way: drop them
                if phase is Phase.IDLE:
                    self._fresh = True
                    if logging_on:
                        answers.started = time.monotonic()
                protocol.receive_data(data)
                continue
            if request is Need.CLOSED:
                return False
            self._body_from = 0.0
            if logging_on and not answers.started:
                answers.started = time.monotonic()  # a pipelined request: it starts now
            if protocol.streaming:
                pieces = BodyPieces(protocol, transport, answers, deadline, limits)
                request = dataclasses.replace(request, body_stream=pieces)
            result = self._call_app(request)
            if not isinstance(result, Response):
                deadline.set(math.inf)  # the app may wait for I/O; no deadline of ours applies
                # A proxied request with no body left to read: a client that leaves meanwhile
                # cancels it (the read would otherwise compete with its body's).
                streams = self._streams
                watch = streams is not None and not protocol.streaming and streams(request)
                result = await self._await_app(request, result, answers if watch else None)
            keep = await answers.send(request, result, close=self.stopping())
            self.served += 1
            answers.started = 0.0
            self._fresh = True
            if not keep:
                return True

    @property
    def live(self) -> bool:
        """Sending a live body (an event stream): shutdown ends it at once."""
        return self.answers is not None and self.answers.live

    def _call_app(self, request: Request) -> Response | Awaitable[Response]:
        try:
            return self.app(request)
        except Exception:
            return _crashed(request)

    async def _await_app(
        self, request: Request, pending: Awaitable[Response], watch: Answers | None = None
    ) -> Response:
        try:
            if watch is not None:
                return await until_peer_leaves(pending, watch, request)
            return await pending
        except PeerGone:
            raise  # the client left while its streamed body was read: nobody to answer
        except Exception:
            return _crashed(request)

    async def _cancelled(self, answers: Answers) -> bool:
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
                await answers.refuse(error)
            return timed_out
        return False  # idle: close quietly; mid-answer: nothing more can be sent


def _crashed(request: Request) -> Response:
    # The app turns its own errors into responses; anything reaching here is a bug.
    log.exception("unhandled error answering %s %s", request.method, request.target)
    return error_response(INTERNAL_ERROR, log_note="error: see traceback")
