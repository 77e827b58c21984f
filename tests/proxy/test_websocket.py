"""WebSockets through --proxy: the upgrade is forwarded and the bytes piped both ways; an
upgrade from an origin the policy refuses is a 403 that never reaches the upstream; a graceful
stop ends a piped connection rather than waiting for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    RejectConnection,
    Request,
    TextMessage,
)

from minicors.config import Config
from minicors.options import Limits
from minicors.proxy import ProxyOptions, route
from minicors.server import BoundAddress

from ..conftest import live_server, request
from .helpers import Upstream, upstream

ALLOWED = "http://localhost:5173"
REFUSED = "https://evil.test"
STEP_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with upstream() as running:
        yield running


def config(up: Upstream, root: Path) -> Config:
    proxy = ProxyOptions(routes=(route("/api", up.origin + "/v1"),))
    return Config(root=str(root), proxy=proxy, limits=Limits())


class Client:
    """A WebSocket client (wsproto) on a TCP connection to minicors."""

    def __init__(self, stream: trio.SocketStream, origin: str) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.origin = origin

    async def events(self) -> list[Event]:
        """The events of the next bytes from the server ([] once it closed)."""
        with trio.fail_after(STEP_TIMEOUT_S):
            data = await self.stream.receive_some(65536)
        self.ws.receive_data(data or None)
        return list(self.ws.events())

    async def handshake(self) -> Event:
        extra = [(b"origin", self.origin.encode())]
        await self.stream.send_all(
            self.ws.send(Request(host="t", target="/api/ws", extra_headers=extra))
        )
        for _ in range(10):  # a few reads at most
            for event in await self.events():
                if isinstance(event, AcceptConnection | RejectConnection):
                    return event
        raise AssertionError("no answer to the upgrade")

    async def echo(self, text: str) -> str:
        await self.stream.send_all(self.ws.send(TextMessage(data=text)))
        parts = []
        for _ in range(100):  # a long message arrives in many reads
            for event in await self.events():
                if isinstance(event, TextMessage):
                    parts.append(event.data)
                    if event.message_finished:
                        return "".join(parts)
        raise AssertionError("no echo")


async def open_client(address: BoundAddress, origin: str) -> Client:
    stream = await trio.open_tcp_stream(address.host, address.port)
    return Client(stream, origin)


async def test_a_websocket_is_piped_both_ways(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path)) as live:
        client = await open_client(live.address, ALLOWED)
        accepted = await client.handshake()
        assert isinstance(accepted, AcceptConnection)
        assert await client.echo("hello") == "echo: hello"
        assert await client.echo("é" * 70_000) == "echo: " + "é" * 70_000  # many reads
        await client.stream.send_all(client.ws.send(CloseConnection(code=1000)))
        with trio.fail_after(STEP_TIMEOUT_S):
            while await client.stream.receive_some(65536):
                pass  # the server closes once the upstream has
        await client.stream.aclose()
    assert 'GET /api/ws HTTP/1.1" 101' in live.log
    assert "upstream 101 in" in live.log and "websocket" in live.log


async def test_a_refused_origin_cannot_open_one(up: Upstream, tmp_path: Path) -> None:
    before = up.get("/ws-count")
    async with live_server(config(up, tmp_path)) as live:
        client = await open_client(live.address, REFUSED)
        refused = await client.handshake()
        assert isinstance(refused, RejectConnection)
        assert refused.status_code == 403
        await client.stream.aclose()
    assert up.get("/ws-count") == before  # the upstream never heard of it
    assert '"GET /api/ws HTTP/1.1" 403' in live.log
    assert "origin https://evil.test not allowed" in live.log


async def test_a_graceful_stop_ends_a_websocket(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path)) as live:
        client = await open_client(live.address, ALLOWED)
        assert isinstance(await client.handshake(), AcceptConnection)
        assert await client.echo("one") == "echo: one"
        live.server.shutdown()
        with trio.fail_after(STEP_TIMEOUT_S):
            await live.stopped.wait()  # the pipe does not hold the stop up
            while await client.stream.receive_some(65536):
                pass
        await client.stream.aclose()


async def test_a_websocket_counts_against_max_connections(up: Upstream, tmp_path: Path) -> None:
    """An open pipe holds its connection's slot: with --max-connections 1 another client waits
    until the socket closes, and is then served."""
    one_slot = dataclasses.replace(config(up, tmp_path), limits=Limits(max_connections=1))
    async with live_server(one_slot) as live:
        client = await open_client(live.address, ALLOWED)
        assert isinstance(await client.handshake(), AcceptConnection)
        assert await client.echo("held") == "echo: held"
        with trio.move_on_after(2) as waited:  # past the 1 s after which stalls are shed
            await request(live.address, "GET", "/nothing")
        assert waited.cancelled_caught  # the one slot is the pipe's
        assert await client.echo("still open") == "echo: still open"  # not shed either
        await client.stream.aclose()
        with trio.fail_after(STEP_TIMEOUT_S):
            assert (await request(live.address, "GET", "/nothing")).status == 404
