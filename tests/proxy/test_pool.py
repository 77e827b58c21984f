"""The proxy's upstream pool: connections are kept alive and reused, never more than its size
are open, a request waits for a free one no longer than its pool timeout, and a body closed
before its end costs that connection, not the pool.

The upstream is a small keep-alive HTTP/1.1 server on 127.0.0.1 that counts the connections
it accepts and the most it held open at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import httpcore
import pytest
import trio

from minicors.proxypool import UpstreamPool

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
MAX_REQUESTS = 100  # per upstream connection: bounds the test server's loop
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Counts:
    port: int = 0
    accepted: int = 0
    open: int = 0
    most_open: int = 0
    answered: int = 0
    delay_s: float = 0.0  # before each answer, so concurrent requests overlap


async def start_upstream(nursery: trio.Nursery) -> Counts:
    counts = Counts()

    async def handle(stream: trio.SocketStream) -> None:
        counts.accepted += 1
        counts.open += 1
        counts.most_open = max(counts.most_open, counts.open)
        buffer = b""
        try:
            for _ in range(MAX_REQUESTS):
                while b"\r\n\r\n" not in buffer:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buffer += data
                _, _, buffer = buffer.partition(b"\r\n\r\n")
                await trio.sleep(counts.delay_s)
                await stream.send_all(ANSWER)
                counts.answered += 1
        finally:
            counts.open -= 1

    serve = functools.partial(trio.serve_tcp, handle, 0, host="127.0.0.1")
    listeners = await nursery.start(serve)
    counts.port = listeners[0].socket.getsockname()[1]
    return counts


def request(counts: Counts, pool_s: float = 5.0) -> httpcore.Request:
    return httpcore.Request(
        "GET",
        f"http://127.0.0.1:{counts.port}/x",
        headers=[(b"Host", b"t")],
        extensions={"timeout": {**TIMEOUTS, "pool": pool_s}},
    )


async def get(pool: UpstreamPool, counts: Counts) -> bytes:
    answer = await pool.send(request(counts))
    try:
        return await answer.aread()
    finally:
        await answer.aclose()


async def test_connections_are_reused() -> None:
    async with trio.open_nursery() as nursery:
        counts = await start_upstream(nursery)
        pool = UpstreamPool(ssl_context=None, size=4, keepalive_s=5.0)
        bodies = [await get(pool, counts) for _ in range(10)]
        await pool.aclose()
        nursery.cancel_scope.cancel()
    assert bodies == [b"ok"] * 10
    assert counts.accepted == 1


async def test_no_more_than_its_size_are_open() -> None:
    async with trio.open_nursery() as nursery:
        counts = await start_upstream(nursery)
        counts.delay_s = 0.05
        pool = UpstreamPool(ssl_context=None, size=2, keepalive_s=5.0)
        bodies: list[bytes] = []

        async def one() -> None:
            bodies.append(await get(pool, counts))

        async with trio.open_nursery() as clients:
            for _ in range(8):
                clients.start_soon(one)
        await pool.aclose()
        nursery.cancel_scope.cancel()
    assert bodies == [b"ok"] * 8
    assert counts.most_open == 2 and counts.accepted == 2


async def test_a_request_waits_for_a_free_connection_no_longer_than_its_pool_timeout() -> None:
    async with trio.open_nursery() as nursery:
        counts = await start_upstream(nursery)
        pool = UpstreamPool(ssl_context=None, size=1, keepalive_s=5.0)
        first = await pool.send(request(counts))  # its body stays open: the one slot is taken
        with pytest.raises(httpcore.PoolTimeout):
            await pool.send(request(counts, pool_s=0.2))
        assert await first.aread() == b"ok"
        await first.aclose()
        assert await get(pool, counts) == b"ok"  # the slot came back, with its connection
        await pool.aclose()
        nursery.cancel_scope.cancel()
    assert counts.accepted == 1


async def test_a_body_closed_early_costs_its_connection_only() -> None:
    async with trio.open_nursery() as nursery:
        counts = await start_upstream(nursery)
        pool = UpstreamPool(ssl_context=None, size=1, keepalive_s=5.0)
        first = await pool.send(request(counts))
        await first.aclose()  # unread: the connection cannot serve again, and is closed
        assert await get(pool, counts) == b"ok"
        await pool.aclose()
        nursery.cancel_scope.cancel()
    assert counts.accepted == 2


async def test_without_a_size_nothing_is_kept() -> None:
    async with trio.open_nursery() as nursery:
        counts = await start_upstream(nursery)
        pool = UpstreamPool(ssl_context=None, size=None, keepalive_s=5.0)
        assert [await get(pool, counts) for _ in range(3)] == [b"ok"] * 3
        await pool.aclose()
        nursery.cancel_scope.cancel()
    assert counts.accepted == 3
