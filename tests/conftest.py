"""Shared test helpers: the one wire client and the one live server of the suite.

- `run_exchange(sends, ...)`: one connection served by a `ConnectionTask` over an in-memory
  stream (the `StreamTransport`), on trio's clock, so timeout tests take no real time.
- `live_server(...)`: minicors listening on 127.0.0.1 (the `SocketTransport`), inside the
  test's own trio run; `socket_exchange(address, sends, ...)` is the same client over TCP,
  a script run by a `WireClient`; `connect(address)` gives a test its own `WireClient` to
  drive request by request.
- `exchange(transport, sends, ...)`: either of the two, by name, for tables that must hold on
  both transports.
- `fetch(address, raw)`: send raw bytes on a new connection, read until the server closes;
  `request(address, method, target, headers, body)`: one request (`Connection: close`) and
  its one parsed response; `encode_request` builds the bytes of a request.
- `parse_responses`: split what a server sent into responses with an h11 client
  (`ResponseReader` is the same, fed piece by piece as the bytes arrive).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import h11
import trio
import trio.testing

from minicors.accesslog import AccessLog
from minicors.config import Config
from minicors.messages import LiveBody, Request, Response, StreamBody, TunnelBody
from minicors.options import Limits
from minicors.protocol import HeadCache
from minicors.server import BoundAddress, ConnectionTask, Server, StreamTransport

AppFn = Callable[[Request], Awaitable[Response]]


@dataclass
class Parsed:
    """One response as a client saw it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""  # set when the response ends; empty if bodies are not kept
    size: int = 0  # body bytes received, kept or not
    sha256: str = ""  # hex digest of the body, once the response is complete

    def header(self, name: bytes) -> bytes | None:
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def header_all(self, name: bytes) -> list[bytes]:
        return [v for n, v in self.headers if n == name]


class ResponseReader:
    """Split a byte stream from the server into responses (1xx included) with an h11 client,
    fed piece by piece as it arrives (`feed`), until the server closes (`close`).

    `methods` names the request method of each final response in order (HEAD matters for
    framing); `expect` adds one more; a response with no method named is read as GET's.
    With `keep_bodies` false the bodies are not kept (each response still counts its body's
    `size` and `sha256`), so a download of any size costs constant memory.  Reading stops at
    the first response that ends the connection or that h11 cannot parse.
    """

    def __init__(self, methods: Sequence[bytes] = (), *, keep_bodies: bool = True) -> None:
        self.responses: list[Parsed] = []  # every response, 1xx included, the last maybe partial
        self.complete: list[Parsed] = []  # the final responses read to their end
        self.keep_bodies = keep_bodies
        self._methods = list(methods)
        self._client = h11.Connection(h11.CLIENT)
        self._started = False  # whether the current cycle's request was given to h11
        self._done = False
        self._current: Parsed | None = None
        self._parts: list[bytes] = []  # the current body (joined once: linear in its size)
        self._digest = hashlib.sha256()

    def expect(self, method: bytes) -> None:
        """The next request sent on the connection uses `method`."""
        self._methods.append(method)

    def feed(self, data: bytes) -> None:
        if data and not self._done:
            self._client.receive_data(data)
            self._read_events()

    def close(self) -> list[Parsed]:
        """The server closed: read what is left and return every response."""
        if not self._done:
            self._client.receive_data(b"")
            self._read_events()
            self._done = True
        self._end_body()  # a response cut short keeps what arrived of its body
        return self.responses

    def _end_body(self) -> None:
        if self._current is not None and self._parts:
            self._current.body = b"".join(self._parts)
            self._parts = []

    def _start_cycle(self) -> bool:
        """Tell h11 the request this cycle answers; wait (False) while its method may still be
        named: nothing is buffered and no `expect` has said it yet."""
        finals = len(self.complete)
        if finals < len(self._methods):
            method = self._methods[finals]
        elif self._client.trailing_data != (b"", False):
            method = b"GET"
        else:
            return False
        self._client.send(h11.Request(method=method, target="/", headers=[("host", "t")]))
        self._client.send(h11.EndOfMessage())
        self._started = True
        return True

    def _read_events(self) -> None:
        client = self._client
        while not self._done:
            if not self._started and not self._start_cycle():
                break
            try:
                event = client.next_event()
            except h11.RemoteProtocolError:
                self._done = True
                break
            if event is h11.NEED_DATA:
                break
            if isinstance(event, h11.InformationalResponse):
                self.responses.append(Parsed(event.status_code, list(event.headers)))
            elif isinstance(event, h11.Response):
                self._current = Parsed(event.status_code, list(event.headers))
                self._parts = []
                self._digest = hashlib.sha256()
                self.responses.append(self._current)
            elif isinstance(event, h11.Data):
                assert self._current is not None
                self._current.size += len(event.data)
                self._digest.update(event.data)
                if self.keep_bodies:
                    self._parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert self._current is not None
                self._end_body()
                self._current.sha256 = self._digest.hexdigest()
                self.complete.append(self._current)
                if client.our_state is h11.DONE and client.their_state is h11.DONE:
                    client.start_next_cycle()
                    self._started = False
                else:
                    self._done = True
            else:
                self._done = True


def parse_responses(data: bytes, methods: Sequence[bytes] = ()) -> list[Parsed]:
    """Split a byte stream from the server into responses (1xx included), with an h11 client.

    `methods` names the request method of each final response in order (HEAD matters for
    framing); missing entries mean GET.
    """
    reader = ResponseReader(methods)
    reader.feed(data)
    return reader.close()


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
    if isinstance(body, LiveBody | TunnelBody):
        raise AssertionError("a live body has no end to read to: read it over the wire")
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


def encode_request(
    method: str,
    target: str,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    host: str = "t",
    close: bool = False,
) -> bytes:
    """The bytes of one HTTP/1.1 request: the request line, `Host`, `Connection: close` when
    `close`, `headers` in order, and `Content-Length` when there is a body or the method is
    POST, PUT or PATCH."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if close:
        lines.append("Connection: close")
    lines += [f"{name}: {value}" for name, value in pairs]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def request(
    address: BoundAddress,
    method: str,
    target: str,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    host: str = "t",
) -> Parsed:
    """One request on a new connection (`Connection: close`); exactly one response expected."""
    raw = encode_request(method, target, headers, body, host=host, close=True)
    (response,) = parse_responses(await fetch(address, raw), [method.encode()])
    return response


class WireClient:
    """One TCP connection to a live server (Nagle off, so one `send` is one segment), its
    bytes read by a `ResponseReader` as they arrive.  `socket_exchange` scripts one; a test
    that must act between responses (use a validator, count descriptors, abort) drives one
    through `connect`."""

    def __init__(self, stream: trio.SocketStream, reader: ResponseReader, keep_data: bool) -> None:
        self.stream = stream
        self.reader = reader
        self.data = bytearray()  # every byte received, when `keep_data`
        self.keep_data = keep_data
        self.closed = False  # the server closed its side (or the connection broke)
        self._taken = 0  # final responses handed out by `response`

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def send_eof(self) -> None:
        await self.stream.send_eof()

    async def receive(self) -> bool:
        """Read once; False once the server has closed (the reader has then read the rest)."""
        if self.closed:
            return False
        try:
            chunk = await self.stream.receive_some(65536)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            chunk = b""
        if not chunk:
            self.closed = True
            self.reader.close()
            return False
        self.reader.feed(chunk)
        if self.keep_data:
            self.data.extend(chunk)
        return True

    async def response(self) -> Parsed:
        """The next final response, read to its end."""
        while len(self.reader.complete) <= self._taken:
            if not await self.receive():
                raise AssertionError(f"connection closed with {self._taken} responses read")
        self._taken += 1
        return self.reader.complete[self._taken - 1]

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        host: str = "t",
        keep_body: bool = True,
    ) -> Parsed:
        """Send one request (`encode_request`, kept alive) and read its response; with
        `keep_body` false its body is only counted and hashed."""
        self.reader.keep_bodies = keep_body
        self.reader.expect(method.encode())
        await self.send(encode_request(method, target, headers, body, host=host))
        return await self.response()

    async def aclose(self) -> None:
        await self.stream.aclose()


@asynccontextmanager
async def connect(
    address: BoundAddress, *, methods: Sequence[bytes] = (), keep_data: bool = False
) -> AsyncIterator[WireClient]:
    """A `WireClient` on a new connection to `address`, closed at the end of the block;
    `methods` as for `ResponseReader`, `keep_data` keeps every byte received."""
    stream = await trio.open_tcp_stream(address.host, address.port)
    stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
    async with stream:
        yield WireClient(stream, ResponseReader(methods), keep_data)


async def socket_exchange(
    address: BoundAddress,
    sends: Sequence[bytes | float],
    *,
    methods: Sequence[bytes] = (),
    close_after: bool = True,
    timeout: float = 30,
    keep_bodies: bool = True,
) -> Exchange:
    """`run_exchange` over a real TCP connection to `address`: each item of `sends` is one
    `send` (Nagle off, so one byte is one segment) or a float = sleep that many seconds;
    then half-close (unless `close_after` is false) and read until the server closes.

    With `keep_bodies` false neither the raw bytes (`data` stays empty) nor the bodies are
    kept: each response still has its body's `size` and `sha256` (for large downloads)."""
    start = trio.current_time()
    elapsed = 0.0
    with trio.fail_after(timeout):
        async with connect(address, methods=methods, keep_data=keep_bodies) as client:
            client.reader.keep_bodies = keep_bodies

            async def reader() -> None:
                nonlocal elapsed
                while await client.receive():
                    pass
                elapsed = trio.current_time() - start

            async def writer() -> None:
                try:
                    for item in sends:
                        if isinstance(item, float):
                            await trio.sleep(item)
                        else:
                            await client.send(item)
                    if close_after:
                        await client.send_eof()
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass

            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                nursery.start_soon(writer)
    data = bytes(client.data)
    return Exchange(data=data, log="", elapsed_s=elapsed, responses=client.reader.responses)


@dataclass
class Live:
    """A server listening on 127.0.0.1 for the length of an `async with live_server(...)`;
    `stopped` is set once `server.serve` has returned (e.g. after `server.shutdown()`)."""

    address: BoundAddress
    server: Server
    log_stream: io.StringIO
    stopped: trio.Event

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
    stopped = trio.Event()

    async def serve(*, task_status: trio.TaskStatus[BoundAddress]) -> None:
        try:
            await server.serve(task_status=task_status)
        finally:
            stopped.set()

    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve)
        try:
            yield Live(address=address, server=server, log_stream=log, stopped=stopped)
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
