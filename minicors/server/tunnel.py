"""After a `101 Switching Protocols` (a proxied WebSocket): the two byte streams piped both
ways until either side ends.

No deadline of ours runs while both sides are quiet (a WebSocket may idle for hours); a write
to the client that stalls has the send deadline, as any answer does.  The connection counts
against --max-connections throughout, and a graceful stop ends it at once (as an event stream).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import trio

from ..errors import PeerGone
from ..messages import TunnelBody

if TYPE_CHECKING:
    from .answers import Answers


async def pipe(answers: Answers, head: bytes, early: bytes, body: TunnelBody) -> int:
    """Send `head`, pass on `early` (what the client sent before the 101 left), then pipe;
    the bytes sent to the client after the head."""
    transport = answers.transport
    deadline = answers.deadline
    sent = 0
    try:
        await transport.send(head)
        if early:
            await body.send(early)
        answers.live = True
        deadline.set(math.inf)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_to_upstream, answers, body, nursery.cancel_scope)
            while True:
                data = await body.receive()
                if not data:
                    break
                try:
                    await transport.send(data)
                except PeerGone:
                    break
                sent += len(data)
                transport.sent_file_bytes = sent
                deadline.set(math.inf)
            nursery.cancel_scope.cancel()
        return sent
    finally:
        answers.live = False
        with trio.CancelScope(shield=True):
            await body.close()


async def _to_upstream(answers: Answers, body: TunnelBody, both: trio.CancelScope) -> None:
    """The client's bytes to the upstream until the client ends its side."""
    while True:
        try:
            data = await answers.transport.receive()
        except PeerGone:
            data = b""
        if not data:
            both.cancel()
            return
        await body.send(data)
