"""Shared test helpers: drive a `ConnectionTask` over in-memory streams, parse responses."""

from __future__ import annotations

import io
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import h11
import trio
import trio.testing

from minicors.accesslog import AccessLog
from minicors.messages import Request, Response, StreamBody
from minicors.options import Limits
from minicors.protocol import HeadCache
from minicors.server import BoundAddress, ConnectionTask, StreamTransport

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
    """What one connection produced: the raw bytes, the log, and the handler's stream."""

    data: bytes
    log: str
    stream: CountingStream
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
    with trio.fail_after(timeout):
        stream = await trio.open_tcp_stream(address.host, address.port)
        async with stream:
            await stream.send_all(raw)
            await stream.send_eof()
            data = bytearray()
            while chunk := await stream.receive_some(65536):
                data.extend(chunk)
            return bytes(data)


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
