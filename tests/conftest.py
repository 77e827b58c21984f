"""Shared test helpers: the one wire client and the one live server of the suite.

- `run_exchange(sends, ...)`: one connection served by a `ConnectionTask` over an in-memory
  stream (the `StreamTransport`), on trio's clock, so timeout tests take no real time.
- `live_server(...)`: minicors listening on 127.0.0.1 (the `SocketTransport`), inside the
  test's own trio run; `socket_exchange(address, sends, ...)` is the same client over TCP.
- `exchange(transport, sends, ...)`: either of the two, by name, for tables that must hold on
  both transports.
- `parse_responses`: split what a server sent into responses with an h11 client.
"""

from __future__ import annotations

import dataclasses
import io
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import h11
import trio
import trio.testing

from minicors.accesslog import AccessLog
from minicors.config import Config
from minicors.messages import Request, Response, StreamBody
from minicors.options import Limits
from minicors.protocol import HeadCache
from minicors.server import BoundAddress, ConnectionTask, Server, StreamTransport

AppFn = Callable[[Request], Awaitable[Response]]


@dataclass
class Parsed:
    """One response as a client saw it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def header_all(self, name: bytes) -> list[bytes]:
        return [v for n, v in self.headers if n == name]


def parse_responses(data: bytes, methods: Sequence[bytes] = ()) -> list[Parsed]:
    """Split a byte stream from the server into responses (1xx included), with an h11 client.

    `methods` names the request method of each final response in order (HEAD matters for
    framing); missing entries mean GET.
    """
    out: list[Parsed] = []
    client = h11.Connection(h11.CLIENT)
    finals = 0
    methods = list(methods)

    def start(method: bytes) -> None:
        client.send(h11.Request(method=method, target="/", headers=[("host", "t")]))
        client.send(h11.EndOfMessage())

    start(methods[0] if methods else b"GET")
    client.receive_data(data)
    client.receive_data(b"")
    current: Parsed | None = None
    while True:
        try:
            event = client.next_event()
        except h11.RemoteProtocolError:
            break
        if isinstance(event, h11.InformationalResponse):
            out.append(Parsed(event.status_code, list(event.headers)))
        elif isinstance(event, h11.Response):
            current = Parsed(event.status_code, list(event.headers))
            out.append(current)
        elif isinstance(event, h11.Data):
            assert current is not None
            current.body += event.data
        elif isinstance(event, h11.EndOfMessage):
            finals += 1
            if client.our_state is h11.DONE and client.their_state is h11.DONE:
                client.start_next_cycle()
                start(methods[finals] if finals < len(methods) else b"GET")
            else:
                break
        else:
            break
    return out


class CountingStream(trio.abc.HalfCloseableStream):
    """Delegates to a stream and counts `send_all` calls (one write per small response)."""

    def __init__(self, inner: trio.abc.HalfCloseableStream) -> None:
        self.inner = inner
        self.sends = 0

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self.sends += 1
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.inner.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        return await self.inner.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Exchange:
    """What one connection produced: the raw bytes, the log, and (over a memory stream) the
    stream that counted the server's writes."""

    data: bytes
    log: str
    stream: CountingStream | None = None
    elapsed_s: float = 0.0
    responses: list[Parsed] = field(default_factory=list)


def read_body(response: Response) -> bytes:
    """The bytes the server would send, releasing any descriptor the body holds."""
    body = response.body
    if isinstance(body, bytes):
        return body
    if isinstance(body, StreamBody):
        try:
            return b"".join(body.chunks)
        finally:
            body.close()
    try:
        if body.fd is None:
            with open(body.path, "rb") as f:
                f.seek(body.offset)
                return f.read(body.length)
        return os.pread(body.fd, body.length, body.offset)
    finally:
        body.close()


async def fetch(address: BoundAddress, raw: bytes, *, timeout: float = 10) -> bytes:
    """Send raw bytes to a live server, half-close, read until it closes (or `timeout`)."""
    return (await socket_exchange(address, [raw], timeout=timeout)).data


async def socket_exchange(
    address: BoundAddress,
    sends: Sequence[bytes | float],
    *,
    methods: Sequence[bytes] = (),
    close_after: bool = True,
    timeout: float = 30,
) -> Exchange:
    """`run_exchange` over a real TCP connection to `address`: each item of `sends` is one
    `send` (Nagle off, so one byte is one segment) or a float = sleep that many seconds;
    then half-close (unless `close_after` is false) and read until the server closes."""
    received = bytearray()
    start = trio.current_time()
    elapsed = 0.0
    with trio.fail_after(timeout):
        stream = await trio.open_tcp_stream(address.host, address.port)
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        async with stream:

            async def reader() -> None:
                nonlocal elapsed
                while True:
                    try:
                        chunk = await stream.receive_some(65536)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        break
                    if not chunk:
                        break
                    received.extend(chunk)
                elapsed = trio.current_time() - start

            async def writer() -> None:
                try:
                    for item in sends:
                        if isinstance(item, float):
                            await trio.sleep(item)
                        else:
                            await stream.send_all(item)
                    if close_after:
                        await stream.send_eof()
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass

            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                nursery.start_soon(writer)
    data = bytes(received)
    return Exchange(data=data, log="", elapsed_s=elapsed, responses=parse_responses(data, methods))


@dataclass
class Live:
    """A server listening on 127.0.0.1 for the length of an `async with live_server(...)`."""

    address: BoundAddress
    server: Server
    log_stream: io.StringIO

    @property
    def log(self) -> str:
        return self.log_stream.getvalue()


@asynccontextmanager
async def live_server(
    config: Config | None = None,
    *,
    app: AppFn | None = None,
    limits: Limits | None = None,
    root: str | os.PathLike[str] = ".",
) -> AsyncIterator[Live]:
    """The suite's one way to run minicors on a socket: `config` as given (port 0 forced), or
    one built from `root` and `limits`; `app` replaces the real app (e.g. `echo_app`)."""
    if config is None:
        config = Config(root=str(root), limits=limits or Limits())
    config = dataclasses.replace(config, port=0, host="127.0.0.1")
    log = io.StringIO()
    server = Server(config, app=app, access_log=AccessLog(enabled=config.access_log, stream=log))
    async with trio.open_nursery() as nursery:
        address = await nursery.start(server.serve)
        try:
            yield Live(address=address, server=server, log_stream=log)
        finally:
            nursery.cancel_scope.cancel()


async def echo_app(request: Request) -> Response:
    """A tiny app: answers with the method, target and body it saw."""
    if request.target == "/boom":
        raise RuntimeError("handler failure")
    body = f"{request.method} {request.target} {len(request.body)}\n".encode() + request.body
    return Response(status=200, headers=((b"content-type", b"text/plain"),), body=body)


async def run_exchange(
    sends: Sequence[bytes | float],
    *,
    app: AppFn = echo_app,
    limits: Limits | None = None,
    methods: Sequence[bytes] = (),
    close_after: bool = True,
) -> Exchange:
    """Feed `sends` (bytes, or a float = sleep that many seconds) to one server connection
    and collect everything it answers until it closes."""
    client, server = trio.testing.lockstep_stream_pair()
    counting = CountingStream(server)
    log = io.StringIO()
    limits = limits or Limits()
    task = ConnectionTask(
        app=app,
        limits=limits,
        access_log=AccessLog(enabled=True, stream=log),
        heads=HeadCache(b"minicors/test"),
        peer="127.0.0.1:5555",
        stopping=lambda: False,
    )
    transport = StreamTransport(counting, task.deadline, limits.send_timeout_s)
    received = bytearray()
    start = trio.current_time()
    elapsed = 0.0

    async def reader() -> None:
        nonlocal elapsed
        while True:
            try:
                chunk = await client.receive_some(65536)
            except trio.BrokenResourceError:
                break
            if not chunk:
                break
            received.extend(chunk)
        elapsed = trio.current_time() - start

    async def writer() -> None:
        try:
            for item in sends:
                if isinstance(item, float):
                    await trio.sleep(item)
                else:
                    await client.send_all(item)
            if close_after:
                await client.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(task.run, transport)
            nursery.start_soon(reader)
            nursery.start_soon(writer)
    data = bytes(received)
    return Exchange(
        data=data,
        log=log.getvalue(),
        stream=counting,
        elapsed_s=elapsed,
        responses=parse_responses(data, methods),
    )


async def exchange(
    transport: str,
    sends: Sequence[bytes | float],
    *,
    app: AppFn = echo_app,
    limits: Limits | None = None,
    methods: Sequence[bytes] = (),
) -> Exchange:
    """One connection's exchange over the named transport: "stream" (a `ConnectionTask` on a
    memory stream) or "socket" (a live server on 127.0.0.1)."""
    if transport == "stream":
        return await run_exchange(sends, app=app, limits=limits, methods=methods)
    async with live_server(app=app, limits=limits) as live:
        result = await socket_exchange(live.address, sends, methods=methods)
        result.log = live.log
        return result


TRANSPORTS = ("stream", "socket")
