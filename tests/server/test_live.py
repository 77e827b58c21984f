"""The server on real loopback sockets, run in-process by conftest's `live_server`.

Hostile neighbours (idle connections, a slowloris client, a protocol error) must never stop
the next real client from being served.  `test_serve_reports_bound_address` alone starts the
public `serve` itself, since that is what it tests.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import struct
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio

import minicors
from minicors.config import Config
from minicors.messages import Request, Response
from minicors.options import Limits
from minicors.server import BoundAddress, serve

from ..conftest import Exchange, connect, fetch, live_server, parse_responses, socket_exchange

GET = b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "hello.txt").write_text("hello\n")
    return tmp_path


async def test_serve_reports_bound_address(root: Path) -> None:
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, Config(root=str(root), port=0, access_log=False))
        assert isinstance(address, BoundAddress)
        assert address.host == "127.0.0.1" and address.port > 0
        assert address.url == f"http://127.0.0.1:{address.port}"
        (resp,) = parse_responses(await fetch(address, GET))
        assert resp.status == 200 and resp.body == b"hello\n"
        nursery.cancel_scope.cancel()


def test_public_api_names() -> None:
    for name in minicors.__all__:
        assert getattr(minicors, name) is not None
    assert {"Config", "CorsPolicy", "serve", "run", "__version__"} <= set(minicors.__all__)


async def test_idle_connections_do_not_block_a_real_client(root: Path) -> None:
    async with live_server(root=root) as live, AsyncExitStack() as idle:
        for _ in range(200):
            await idle.enter_async_context(connect(live.address))
        (resp,) = parse_responses(await fetch(live.address, GET, timeout=5))
        assert resp.status == 200


async def test_slowloris_client_is_cut_off_while_others_are_served(root: Path) -> None:
    trickle: list[bytes | float] = []
    for byte in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 50:
        trickle += [bytes([byte]), 0.1]
    async with live_server(root=root, limits=Limits(head_timeout_s=1.0)) as live:
        cut_off: list[Exchange] = []

        async def slowloris() -> None:
            cut_off.append(await socket_exchange(live.address, trickle, close_after=False))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(slowloris)
            await trio.sleep(0.3)  # the slow client is connected and trickling
            for _ in range(3):  # meanwhile, others are served promptly
                (resp,) = parse_responses(await fetch(live.address, GET, timeout=2))
                assert resp.status == 200
            assert cut_off == []  # all three served before the slow client's head timeout
    (slow,) = cut_off
    assert slow.data.startswith(b"HTTP/1.1 408")
    assert 0.9 <= slow.elapsed_s <= 3.0


async def test_next_client_served_after_protocol_error(root: Path) -> None:
    async with live_server(root=root) as live:
        bad = parse_responses(await fetch(live.address, b"GARBAGE\r\n\r\n"))
        assert [r.status for r in bad] == [400]
        (good,) = parse_responses(await fetch(live.address, GET))
        assert good.status == 200


async def test_at_the_limit_an_idle_connection_makes_room_and_it_is_logged_once(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="minicors.server")
    async with (
        live_server(root=root, limits=Limits(max_connections=2)) as live,
        AsyncExitStack() as stack,
    ):
        address = live.address
        # Two connections hold both slots and send nothing: they wait on their client.
        holders = [await stack.enter_async_context(connect(address)) for _ in range(2)]
        await trio.sleep(0.2)
        with trio.fail_after(3):  # served at once: an idle holder is shed, not waited for
            third = await fetch(address, GET, timeout=3)
        assert parse_responses(third)[0].status == 200
        closed = 0
        for holder in holders:
            with trio.move_on_after(1):
                if not await holder.receive():  # the server closed it, sending nothing
                    closed += 1
            await holder.aclose()
        assert closed >= 1  # a shed idle connection is closed quietly (no 408 to read)
    warnings = [r for r in caplog.records if "max-connections" in r.getMessage()]
    assert len(warnings) == 1


async def test_at_the_limit_busy_connections_are_not_shed(root: Path) -> None:
    """A connection whose client is not waited on keeps its slot: the newcomer waits."""
    release = trio.Event()

    async def slow_app(request: Request) -> Response:
        await release.wait()  # busy: the server waits on the app, not on the client
        return Response(status=200, body=b"done")

    limits = Limits(max_connections=1)
    async with (
        live_server(root=root, app=slow_app, limits=limits) as live,
        trio.open_nursery() as nursery,
        connect(live.address) as busy,
    ):
        address = live.address
        await busy.send(GET)
        await trio.sleep(0.3)
        result: list[bytes] = []

        async def newcomer() -> None:
            result.append(await fetch(address, GET, timeout=10))

        nursery.start_soon(newcomer)
        await trio.sleep(1.5)  # past SHED_AFTER_S: still not shed, the app is what waits
        assert result == []
        release.set()
        with trio.fail_after(5):
            assert (await busy.response()).body == b"done"
            await busy.aclose()
            while not result:
                await trio.sleep(0.05)
        assert parse_responses(result[0])[0].status == 200


async def test_graceful_shutdown_closes_idle_and_finishes_in_flight(root: Path) -> None:
    payload = random.Random(3).randbytes(4 * 1024 * 1024)
    (root / "big.bin").write_bytes(payload)
    async with (
        live_server(root=root, limits=Limits(grace_period_s=10)) as live,
        connect(live.address) as idle,
        connect(live.address, keep_data=True) as busy,
    ):
        address, server = live.address, live.server
        await busy.send(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        assert await busy.receive()  # the answer has started
        server.shutdown()
        with trio.fail_after(5):
            assert not await idle.receive()  # idle: closed at once, nothing sent
        with trio.fail_after(20):
            while await busy.receive():
                await trio.sleep(0)
        head, _, body = bytes(busy.data).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        # The head went out before shutdown, so it could not say "close"; the connection
        # closing right after the body (the read loop ended) is the promise kept.
        assert hashlib.sha256(body).digest() == hashlib.sha256(payload).digest()
        with trio.fail_after(5):
            refused = False
            try:
                async with connect(address):
                    pass
            except OSError:
                refused = True
            assert refused  # no longer accepting
        await idle.aclose()
        await busy.aclose()
        with trio.fail_after(5):
            await live.stopped.wait()  # serve returned by itself once all had closed
        log = live.log
    assert '"GET /big.bin HTTP/1.1" 200 4194304B' in log


async def test_sendfile_download_is_byte_exact(root: Path) -> None:
    payload = random.Random(5).randbytes(3 * 1024 * 1024 + 17)
    (root / "blob.bin").write_bytes(payload)
    async with live_server(root=root) as live:
        data = await fetch(
            live.address, b"GET /blob.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        (resp,) = parse_responses(data)
        assert resp.status == 200
        assert resp.body == payload


async def test_client_gone_mid_download_costs_nothing_further(root: Path) -> None:
    (root / "huge.bin").write_bytes(random.Random(9).randbytes(1024 * 1024) * 64)  # 64 MiB
    fds_before = len(os.listdir("/proc/self/fd"))
    async with live_server(root=root) as live:
        server = live.server
        async with connect(live.address, keep_data=True) as client:
            await client.send(b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            while len(client.data) < 1024 * 1024:
                assert await client.receive()
            # Abort with RST (linger 0), as a browser tab closing mid-download can.
            linger = struct.pack("ii", 1, 0)
            client.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            await client.aclose()
        with trio.fail_after(5):
            while server.tasks:
                await trio.sleep(0.01)
        log = live.log
    line = next(ln for ln in log.splitlines() if "/huge.bin" in ln)
    assert "client went away" in line
    sent = int(line.split('" 200 ')[1].split("B ")[0])
    assert 0 < sent < 64 * 1024 * 1024  # bytes actually sent, not the file size
    assert len(os.listdir("/proc/self/fd")) <= fds_before  # the file descriptor was closed


@pytest.mark.parametrize(
    ("sends", "expect_status", "low", "high"),
    [
        # a kept-alive connection left idle closes quietly after the keep-alive timeout
        ([GET], [200], 0.45, 1.5),
        # a new connection that sends nothing gets 408 after the head timeout
        ([], [408], 0.9, 2.0),
        # a body that stops arriving gets 408 (after the body timeout)
        ([b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"], [408], 0.9, 2.0),
    ],
)
async def test_socket_deadlines_are_enforced(
    root: Path, sends: list[bytes], expect_status: list[int], low: float, high: float
) -> None:
    limits = Limits(keepalive_timeout_s=0.5, head_timeout_s=1.0, body_timeout_s=1.0)
    async with live_server(root=root, limits=limits) as live:
        ex = await socket_exchange(live.address, sends, close_after=False, timeout=5)
    assert [r.status for r in ex.responses] == expect_status
    assert low <= ex.elapsed_s <= high, ex.elapsed_s
