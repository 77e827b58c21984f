"""The server on real loopback sockets, started in-process with `nursery.start(serve, ...)`.

Hostile neighbours (idle connections, a slowloris client, a protocol error) must never stop
the next real client from being served.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
from pathlib import Path

import pytest
import trio

import minicors
from minicors.accesslog import AccessLog
from minicors.config import Config
from minicors.messages import Request, Response
from minicors.options import Limits
from minicors.server import BoundAddress, Server, serve

from .conftest import fetch, parse_responses

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
    config = Config(root=str(root), port=0, access_log=False)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, config)
        idle = [await trio.open_tcp_stream(address.host, address.port) for _ in range(200)]
        try:
            (resp,) = parse_responses(await fetch(address, GET, timeout=5))
            assert resp.status == 200
        finally:
            for stream in idle:
                await stream.aclose()
        nursery.cancel_scope.cancel()


async def test_slowloris_client_is_cut_off_while_others_are_served(root: Path) -> None:
    config = Config(root=str(root), port=0, access_log=False, limits=Limits(head_timeout_s=1.0))
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, config)
        slow = await trio.open_tcp_stream(address.host, address.port)
        received = bytearray()
        started = trio.current_time()

        async def trickle() -> None:
            try:
                for byte in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 50:
                    await slow.send_all(bytes([byte]))
                    await trio.sleep(0.1)
            except trio.BrokenResourceError:
                pass

        async def read_slow() -> None:
            while chunk := await slow.receive_some(65536):
                received.extend(chunk)

        async with trio.open_nursery() as inner:
            inner.start_soon(trickle)
            inner.start_soon(read_slow)
            for _ in range(3):  # meanwhile, others are served promptly
                (resp,) = parse_responses(await fetch(address, GET, timeout=2))
                assert resp.status == 200
            with trio.fail_after(5):
                while not received:
                    await trio.sleep(0.05)
            inner.cancel_scope.cancel()
        elapsed = trio.current_time() - started
        await slow.aclose()
        assert received.startswith(b"HTTP/1.1 408")
        assert 0.9 <= elapsed <= 3.0
        nursery.cancel_scope.cancel()


async def test_next_client_served_after_protocol_error(root: Path) -> None:
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, Config(root=str(root), port=0, access_log=False))
        bad = parse_responses(await fetch(address, b"GARBAGE\r\n\r\n"))
        assert [r.status for r in bad] == [400]
        (good,) = parse_responses(await fetch(address, GET))
        assert good.status == 200
        nursery.cancel_scope.cancel()


async def test_at_the_limit_an_idle_connection_makes_room_and_it_is_logged_once(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="minicors.server")
    config = Config(root=str(root), port=0, access_log=False, limits=Limits(max_connections=2))
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, config)
        # Two connections hold both slots and send nothing: they wait on their client.
        holders = [await trio.open_tcp_stream(address.host, address.port) for _ in range(2)]
        await trio.sleep(0.2)
        with trio.fail_after(3):  # served at once: an idle holder is shed, not waited for
            third = await fetch(address, GET, timeout=3)
        assert parse_responses(third)[0].status == 200
        closed = 0
        for holder in holders:
            with trio.move_on_after(1):
                if await holder.receive_some(100) == b"":
                    closed += 1
            await holder.aclose()
        assert closed >= 1  # a shed idle connection is closed quietly (no 408 to read)
        nursery.cancel_scope.cancel()
    warnings = [r for r in caplog.records if "max-connections" in r.getMessage()]
    assert len(warnings) == 1


async def test_at_the_limit_busy_connections_are_not_shed(root: Path) -> None:
    """A connection whose client is not waited on keeps its slot: the newcomer waits."""
    release = trio.Event()

    async def slow_app(request: Request) -> Response:
        await release.wait()  # busy: the server waits on the app, not on the client
        return Response(status=200, body=b"done")

    config = Config(root=str(root), port=0, access_log=False, limits=Limits(max_connections=1))
    server = Server(config, app=slow_app)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(server.serve)
        busy = await trio.open_tcp_stream(address.host, address.port)
        await busy.send_all(GET)
        await trio.sleep(0.3)
        result: list[bytes] = []

        async def newcomer() -> None:
            result.append(await fetch(address, GET, timeout=10))

        nursery.start_soon(newcomer)
        await trio.sleep(1.5)  # past SHED_AFTER_S: still not shed, the app is what waits
        assert result == []
        release.set()
        with trio.fail_after(5):
            assert parse_responses(await busy.receive_some(65536))[0].body == b"done"
            await busy.aclose()
            while not result:
                await trio.sleep(0.05)
        assert parse_responses(result[0])[0].status == 200
        nursery.cancel_scope.cancel()


async def test_graceful_shutdown_closes_idle_and_finishes_in_flight(root: Path) -> None:
    payload = random.Random(3).randbytes(4 * 1024 * 1024)
    (root / "big.bin").write_bytes(payload)
    log = io.StringIO()
    config = Config(root=str(root), port=0, limits=Limits(grace_period_s=10))
    server = Server(config, access_log=AccessLog(stream=log))
    async with trio.open_nursery() as nursery:
        address = await nursery.start(server.serve)
        idle = await trio.open_tcp_stream(address.host, address.port)
        busy = await trio.open_tcp_stream(address.host, address.port)
        await busy.send_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        first = await busy.receive_some(1024)
        server.shutdown()
        with trio.fail_after(5):
            assert await idle.receive_some(100) == b""  # idle: closed at once
        data = bytearray(first)
        with trio.fail_after(20):
            while chunk := await busy.receive_some(65536):
                data.extend(chunk)
                await trio.sleep(0)
        head, _, body = bytes(data).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        # The head went out before shutdown, so it could not say "close"; the connection
        # closing right after the body (the read loop ended) is the promise kept.
        assert hashlib.sha256(body).digest() == hashlib.sha256(payload).digest()
        with trio.fail_after(5):
            refused = False
            try:
                await trio.open_tcp_stream(address.host, address.port)
            except OSError:
                refused = True
            assert refused  # no longer accepting
        await idle.aclose()
        await busy.aclose()
    assert '"GET /big.bin HTTP/1.1" 200 4194304B' in log.getvalue()


async def test_sendfile_download_is_byte_exact(root: Path) -> None:
    payload = random.Random(5).randbytes(3 * 1024 * 1024 + 17)
    (root / "blob.bin").write_bytes(payload)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, Config(root=str(root), port=0, access_log=False))
        data = await fetch(
            address, b"GET /blob.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        (resp,) = parse_responses(data)
        assert resp.status == 200
        assert resp.body == payload
        nursery.cancel_scope.cancel()


async def test_client_gone_mid_download_costs_nothing_further(root: Path) -> None:
    import os
    import socket
    import struct

    (root / "huge.bin").write_bytes(random.Random(9).randbytes(1024 * 1024) * 64)  # 64 MiB
    log = io.StringIO()
    server = Server(Config(root=str(root), port=0), access_log=AccessLog(stream=log))
    fds_before = len(os.listdir("/proc/self/fd"))
    async with trio.open_nursery() as nursery:
        address = await nursery.start(server.serve)
        stream = await trio.open_tcp_stream(address.host, address.port)
        await stream.send_all(b"GET /huge.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        got = 0
        while got < 1024 * 1024:
            got += len(await stream.receive_some(65536))
        # Abort with RST (linger 0), as a browser tab closing mid-download can.
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await stream.aclose()
        with trio.fail_after(5):
            while server.tasks:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    line = next(ln for ln in log.getvalue().splitlines() if "/huge.bin" in ln)
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
    config = Config(root=str(root), port=0, access_log=False, limits=limits)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, config)
        stream = await trio.open_tcp_stream(address.host, address.port)
        started = trio.current_time()
        for data in sends:
            await stream.send_all(data)
        received = bytearray()
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                received.extend(chunk)
        elapsed = trio.current_time() - started
        await stream.aclose()
        nursery.cancel_scope.cancel()
    assert [r.status for r in parse_responses(bytes(received))] == expect_status
    assert low <= elapsed <= high, elapsed
