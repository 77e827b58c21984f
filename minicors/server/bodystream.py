"""A request body read from the client only as its consumer asks (a proxied upload), and a
client's leaving noticed while a proxied request waits for its upstream.

The protocol object hands the request out at its head (`HttpConnection.streaming`); the app
iterates this object, and each step reads from the transport only when the protocol has no
decoded bytes left, under the same body deadline as a buffered body (`body_timeout_s`, plus
one second per `body_min_rate` bytes).  Memory is one read, whatever the body's size.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable

import trio

from ..errors import PeerGone, ProtocolError
from ..messages import Request, Response
from ..options import Limits
from ..protocol import HttpConnection, Need, body_piece
from .answers import Answers
from .transport import Deadline, Transport


class BodyPieces:
    """An async iterator of the decoded body pieces of the current request."""

    def __init__(
        self,
        protocol: HttpConnection,
        transport: Transport,
        answers: Answers,
        deadline: Deadline,
        limits: Limits,
    ) -> None:
        self._protocol = protocol
        self._transport = transport
        self._answers = answers
        self._deadline = deadline
        self._limits = limits
        self._from = 0.0  # when the body's clock started (its first wait)

    def __aiter__(self) -> BodyPieces:
        return self

    async def __anext__(self) -> bytes:
        protocol = self._protocol
        deadline = self._deadline
        limits = self._limits
        while True:
            try:
                piece = body_piece(protocol)
            except ProtocolError as exc:
                # The body broke its framing: answer it (the connection then closes) and end
                # the consumer's read as if the client had left.
                await self._answers.refuse(exc)
                raise PeerGone(exc.message) from None
            if piece is None:
                raise StopAsyncIteration
            if isinstance(piece, bytes):
                return piece
            assert piece is Need.DATA  # noqa: S101 - body_piece's third answer
            now = trio.current_time()
            if protocol.wants_continue:
                await self._transport.send(protocol.continue_bytes())
            if not self._from:
                self._from = now
            deadline.set(limits.body_deadline(self._from, protocol.body_received))
            deadline.waiting_since = now
            try:
                data = await self._transport.receive()
            finally:
                deadline.waiting_since = math.inf
                if not deadline.scope.cancel_called:  # (a deadline that fired says so later)
                    deadline.set(math.inf)  # back to waiting on the consumer
            protocol.receive_data(data)


async def until_peer_leaves(
    pending: Awaitable[Response], answers: Answers, request: Request
) -> Response:
    """`pending`'s answer; but when the client closes its side first, `pending` is cancelled
    (and with it a proxied request's upstream call), the access log says so (499, as nginx
    logs it) and `PeerGone` is raised."""
    answered: list[Response] = []  # empty when the client left first
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answers._end_when_peer_leaves, nursery.cancel_scope)
            answered.append(await pending)
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:  # what `pending` raised, as itself
            raise group.exceptions[0] from None
        raise
    if not answered:
        answers.log(request, Response(status=499), 0, "client went away before the answer")
        raise PeerGone
    return answered[0]
