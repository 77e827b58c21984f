"""An upstream that answers every request with the same raw bytes, whatever they frame: what a
broken or hostile server sends, which the well-behaved test upstream cannot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import trio

HEAD_MAX = 64 * 1024  # bytes of request head read before the answer goes regardless
HOLD_S = 2.0  # the connection stays open this long after the answer (then closes)

Answer = Callable[[bytes], bytes]  # the raw answer to a request head


@asynccontextmanager
async def canned(answer: bytes | Answer) -> AsyncIterator[tuple[str, list[bytes]]]:
    """(the upstream's origin, the request heads it received), while it runs."""
    heads: list[bytes] = []

    async def handle(stream: trio.SocketStream) -> None:
        head = b""
        with trio.move_on_after(HOLD_S * 5):
            while b"\r\n\r\n" not in head and len(head) < HEAD_MAX:  # bounded by HEAD_MAX
                data = await stream.receive_some(HEAD_MAX)
                if not data:
                    return
                head += data
            heads.append(head)
            await stream.send_all(answer(head) if callable(answer) else answer)
            await trio.sleep(HOLD_S)
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        serve = partial(trio.serve_tcp, handle, 0, host="127.0.0.1")
        (listener,) = await nursery.start(serve)
        port = listener.socket.getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}", heads
        finally:
            nursery.cancel_scope.cancel()
