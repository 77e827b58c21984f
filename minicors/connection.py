"""One HTTP/1.1 connection: h11 turns bytes into events, this module turns events into calls.

The loop per request cycle: wait (idle) for the first byte, read the head under a deadline,
read the body under the size limit, await the app, write the response in as few `send_all`
calls as possible (one for a small body), then `start_next_cycle()` for keep-alive and
pipelining.  Any protocol error gets one precise error response (when h11 still allows a
response) and a closed connection; nothing raised here reaches the client as a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import http
import logging
import math
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import h11
import trio

from .accesslog import AccessLog, format_line
from .messages import (
    Body,
    FileBody,
    HeaderList,
    Request,
    Response,
    StreamBody,
    combine_headers,
    text_response,
)
from .options import Limits

log = logging.getLogger("minicors.server")

App = Callable[[Request], Awaitable[Response]]

MAX_RECV = 64 * 1024
FILE_CHUNK = 256 * 1024  # read size when sendfile is not possible
SMALL_BODY = 64 * 1024  # bodies up to this size go out in the same send_all as the head
PIPELINE_BATCH = 256 * 1024  # answers to pipelined requests held for one write, at most
DRAIN_TIME_S = 2.0  # after an error: how long to read and discard before closing
DRAIN_BYTES = 1024 * 1024  # ... and at most how much

REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


_FOLD_PATTERN = re.compile(rb"\n[ \t]")


class ProtocolViolation(Exception):
    """A request h11 accepts but minicors refuses (RFC 9112 allows either): status + reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _check_head(event: h11.Request, headers: dict[bytes, bytes], raw_head: bytes | None) -> None:
    if event.http_version not in (b"1.1", b"1.0"):
        raise ProtocolViolation(505, "only HTTP/1.0 and HTTP/1.1 are supported")
    if b"transfer-encoding" in headers and b"content-length" in headers:
        # RFC 9112 §6.1: such a message may be a smuggling attempt; refuse it, then close.
        raise ProtocolViolation(400, "both Content-Length and Transfer-Encoding were sent")
    if raw_head is not None:
        for line in raw_head.split(b"\r\n")[1:]:
            if line[:1] in (b" ", b"\t"):
                raise ProtocolViolation(400, "obsolete line folding in a header (RFC 9112 §5.2)")


def header_dict(headers: Sequence[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """h11's request headers as `Request.headers` wants them (see `combine_headers`).

    h11's `Headers` hands out its pairs one Python-level `__getitem__` call at a time, which
    at 100 header fields cost more than the rest of minicors' work per request.  Its
    `_full_items` list (raw name, lower-case name, value) is read directly when it is there;
    a test checks this gives exactly what the public interface gives."""
    items = getattr(headers, "_full_items", None)
    if type(items) is list:
        combined = {name: value for _, name, value in items}
        if len(combined) == len(items):
            return combined
    return combine_headers(tuple(headers))  # repeated names (or another h11): combine


# Reason phrases are optional (RFC 9112 §4) but tools and people read them.
PHRASES = {status.value: status.phrase.encode() for status in http.HTTPStatus}


STATUS_LINES = {code: b"HTTP/1.1 %d %s\r\n" % (code, phrase) for code, phrase in PHRASES.items()}


def _status_line(status: int) -> bytes:
    return STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status


def _keep_alive(request: Request) -> bool:
    """RFC 9112 §9.3: HTTP/1.1 persists unless "close" is a Connection option; minicors (like
    h11) does not do HTTP/1.0 keep-alive."""
    if request.http_version != "1.1":
        return False
    connection = request.headers.get(b"connection")
    return connection is None or b"close" not in connection.lower()


def render_head(
    response: Response, length: int, *, keep: bool, date: bytes, server: bytes
) -> bytes | None:
    """Response head bytes, or None if a field would smuggle a CR, LF or NUL."""
    parts = [_status_line(response.status), b"date: ", date, b"\r\nserver: ", server, b"\r\n"]
    lines = 3
    has_length = False
    for name, value in response.headers:
        parts += (name, b": ", value, b"\r\n")
        if name == b"content-length":
            has_length = True
    lines += len(response.headers)
    # No Content-Length on a 304 unless the core set it (RFC 9110 §8.6).
    if not has_length and response.status != 304:
        parts += (b"content-length: ", str(length).encode(), b"\r\n")
        lines += 1
    if not keep:
        parts.append(b"connection: close\r\n")
        lines += 1
    parts.append(b"\r\n")
    head = b"".join(parts)
    if head.count(b"\n") != lines + 1 or head.count(b"\r") != lines + 1 or b"\0" in head:
        return None
    return head


class ClientGone(Exception):
    """The peer closed or reset the connection; nothing more can be sent."""


class TimedOut(Exception):
    """A wait for the peer passed its deadline."""


class Deadline(Exception):
    """The request head (or body) did not arrive in time."""


class _SentFile:
    """Stands in for `length` file bytes in h11's data passthrough, so the body bytes can go
    out by `os.sendfile` while h11 still counts them against Content-Length."""

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length


class HeadCache:
    """`Date` header bytes (RFC 9110 §6.6.1, IMF-fixdate), formatted at most once a second,
    and the heads of shared responses rendered with that date (`Response.shared`): those are
    the same bytes for every request within the second, so they are rendered once."""

    HEADS_MAX = 1024

    def __init__(self) -> None:
        self._second = -1
        self._value = b""
        # A head is a function of (status, headers, length, keep-alive) for a given date and
        # server: keyed by the identity of the headers tuple (held in the value, so the id
        # stays its own; bodies are not held).  Cleared when the second changes.
        self._heads: dict[tuple[int, int, int, bool], tuple[HeaderList, bytes]] = {}

    def get(self) -> bytes:
        """The `Date` value for now."""
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode()
            self._heads = {}
        return self._value

    def head(self, response: Response, length: int, *, keep: bool, server: bytes) -> bytes | None:
        """`render_head` for now, memoised for shared responses."""
        date = self.get()
        if not response.shared:
            return render_head(response, length, keep=keep, date=date, server=server)
        headers = response.headers
        key = (id(headers), response.status, length, keep)
        hit = self._heads.get(key)
        if hit is not None and hit[0] is headers:
            return hit[1]
        head = render_head(response, length, keep=keep, date=date, server=server)
        if head is not None and len(self._heads) < self.HEADS_MAX:
            self._heads[key] = (headers, head)
        return head


class ConnectionHandler:
    """Drives one accepted stream until it closes.  `idle` is true while no byte of the next
    request has arrived: graceful shutdown closes such connections at once.

    On a socket, deadlines are enforced from outside: whoever runs the handler (the Server)
    calls `expire()` on handlers whose `wait_deadline` has passed; on other streams a cancel
    scope per wait does it."""

    def __init__(
        self,
        stream: trio.abc.HalfCloseableStream,
        *,
        app: App,
        limits: Limits,
        access_log: AccessLog,
        heads: HeadCache,
        server_header: bytes,
        peer: str,
    ) -> None:
        self.stream = stream
        self.app = app
        self.limits = limits
        self.access_log = access_log
        self.heads = heads
        self.server_header = server_header
        self.peer = peer
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_head_bytes)
        self.idle = True
        self.closing = False  # set by shutdown: finish the current response, then close
        # When the current wait for the peer must end (trio clock; inf when not waiting):
        # the server's reaper calls `expire` past it.
        self.wait_deadline = math.inf
        self._expired = False
        self._wait_scope: trio.CancelScope | None = None
        # The raw socket, when there is one (the fast paths read and write it directly).
        self._sock = stream.socket if isinstance(stream, trio.SocketStream) else None
        self._fd = self._sock.fileno() if self._sock is not None else -1
        self._pending: list[bytes] = []  # pipelined answers waiting to leave in one write
        self._pending_size = 0

    # --- the request cycle ----------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._serve_requests()
        except ClientGone:
            pass
        finally:
            with trio.CancelScope(shield=True):
                if self._pending:
                    with trio.move_on_after(DRAIN_TIME_S), contextlib.suppress(ClientGone):
                        await self._send_bytes(b"")
                await self.stream.aclose()

    async def _serve_requests(self) -> None:
        while True:
            try:
                request = await self._read_request()
            except h11.RemoteProtocolError as exc:
                await self._send_error(exc.error_status_hint, _protocol_message(exc))
                return
            except ProtocolViolation as exc:
                await self._send_error(exc.status, exc.message)
                return
            except Deadline:
                await self._send_error(408, "request not received in time")
                return
            if request is None:
                return  # closed by the peer, idle timeout, or shutdown while idle
            response = await self._call_app(request)
            keep_open = await self._send_response(request, response)
            if not keep_open:
                await self._close_gracefully()
                return
            conn = self.conn
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
                self._buffered = len(conn.trailing_data[0])
            elif conn.our_state is not h11.IDLE:
                # The body was not read to its end (e.g. 413) or h11 wants a close.
                await self._close_gracefully()
                return

    async def _receive(self, deadline: float = math.inf) -> bytes:
        """The next bytes from the peer (b"" at EOF); `TimedOut` if none came by `deadline`
        (trio clock).  Raises `ClientGone` when the connection broke."""
        if self._pending:
            await self._send_bytes(b"")  # never wait for the peer with answers held back
        sock = self._sock
        if sock is None:
            return await self._receive_stream(deadline)
        # Straight from the socket.  A kept-alive client's next request is almost never there
        # yet when we ask (it waits for our answer), so we park in wait_readable first and
        # read once it wakes us: one read per request, not a failing read, a park and a
        # read as SocketStream.receive_some does.  Parking is a scheduler pass either way,
        # so a flooding client cannot starve the others.  No cancel scope per request: the
        # server's reaper wakes waits whose deadline passed (see `expire`).
        try:
            while True:
                if trio.current_time() >= deadline:
                    raise TimedOut
                self.wait_deadline = deadline
                try:
                    await trio.lowlevel.wait_readable(sock)
                except trio.ClosedResourceError:
                    if self._expired:
                        self._expired = False
                        raise TimedOut from None
                    raise
                finally:
                    self.wait_deadline = math.inf
                try:
                    return os.read(self._fd, MAX_RECV)
                except BlockingIOError:
                    continue  # woken without data (it can happen): park again
        except (OSError, trio.ClosedResourceError) as exc:  # reset, or closed under us
            raise ClientGone from exc

    async def _receive_stream(self, deadline: float) -> bytes:
        """`_receive` for streams that are not sockets (tests' memory streams, TLS one day)."""
        try:
            if deadline == math.inf:
                got = await self.stream.receive_some(MAX_RECV)
            else:
                with trio.move_on_at(deadline) as scope:
                    self._wait_scope = scope
                    got = await self.stream.receive_some(MAX_RECV)
                self._wait_scope = None
                if scope.cancelled_caught:
                    raise TimedOut
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ClientGone from exc
        return got if isinstance(got, bytes) else bytes(got)

    def expire(self) -> None:
        """End the current wait for the peer as if its deadline had passed: the server's reaper
        calls this for waits past their deadline, and shutdown for idle connections."""
        if self._sock is not None:
            if self.wait_deadline != math.inf:  # parked in wait_readable right now
                self._expired = True
                trio.lowlevel.notify_closing(self._sock)
        elif self._wait_scope is not None:
            self._wait_scope.cancel()

    async def _next_event(self, deadline: float = math.inf) -> Any:
        """The next h11 event, reading from the peer as needed (until `deadline`)."""
        conn = self.conn
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if conn.they_are_waiting_for_100_continue:
                    await self._send_bytes(
                        conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b""
                    )
                conn.receive_data(await self._receive(deadline))
                continue
            return event

    async def _read_request(self) -> Request | None:
        self._current = None
        self._head_bytes = None
        self._head_received = self._buffered
        # A pipelined request may already be buffered whole: then no waiting at all.  With
        # nothing buffered, asking h11 would only say NEED_DATA.
        event = self._parse_head() if self._buffered else h11.NEED_DATA
        if event is h11.NEED_DATA:
            event = await self._wait_for_head()
        if not isinstance(event, h11.Request):
            return None  # closed by the peer, idle timeout, or shutdown while idle
        if self.access_log.enabled:
            self._started = time.monotonic()
        self._current = event
        raw = event.headers  # a Sequence of (name, value); not copied
        headers = header_dict(raw)
        _check_head(event, headers, self._head_bytes)
        limits = self.limits
        if self._head_received > limits.max_head_bytes:
            # h11 enforces its limit only on an incomplete head; a whole head that arrived in
            # one read can be larger.  Measure it (rare path: only when enough bytes came).
            size = len(event.method) + len(event.target) + 13
            size += sum(len(n) + len(v) + 4 for n, v in raw)
            if size > limits.max_head_bytes:
                raise ProtocolViolation(431, "request head too large")
        body: bytes | None = b""
        if b"content-length" in headers or b"transfer-encoding" in headers:
            body = await self._read_body(headers)
        else:
            # RFC 9112 §6.3: no framing headers, no body.  h11's EndOfMessage for it consumes
            # no byte; it is taken only where h11 must know the request ended (an answer
            # h11 serialises, see `_h11_ready`), never on the rendered path.
            self._end_unread = True
        if body is None:
            return None
        return Request(
            method=event.method.decode("ascii"),
            target=event.target.decode("latin-1"),
            headers=headers,
            raw_headers=raw,
            body=body,
            http_version=event.http_version.decode("ascii"),
            peer=self.peer,
        )

    async def _wait_for_head(self) -> Any:
        """Read until h11 has the next event (a Request, normally), or None when the
        connection should end quietly: closed by the peer, or idle past its timeout."""
        limits = self.limits
        started = trio.current_time()
        if not self._buffered:
            # Idle phase: wait for the first byte.  A new connection gets the head timeout,
            # a kept-alive one the idle timeout (then it closes quietly).
            if self.closing and self._served_any:
                return None
            wait_s = limits.keepalive_timeout_s if self._served_any else limits.head_timeout_s
            self.idle = True
            try:
                data = await self._receive(started + wait_s)
            except TimedOut:
                if self._served_any or self.closing:
                    return None
                raise Deadline from None
            finally:
                self.idle = False
            if not data:
                return None
            self._feed(data)
            event = self._parse_head()
            if event is not h11.NEED_DATA:
                return event
            started = trio.current_time()
        # Head phase: the whole head must arrive within head_timeout_s of its first byte, so
        # a client trickling one byte a second cannot hold the connection (slowloris).
        deadline = started + limits.head_timeout_s
        while True:
            try:
                self._feed(await self._receive(deadline))
            except TimedOut:
                raise Deadline from None
            event = self._parse_head()
            if event is not h11.NEED_DATA:
                return event

    def _feed(self, data: bytes) -> None:
        """Hand head bytes to h11, noting whether they may hold a folded header line."""
        if _FOLD_PATTERN.search(data) or (data[:1] in b" \t" and self._last_byte == b"\n"):
            self._fold_suspect = True
        self._last_byte = data[-1:]
        self._head_received += len(data)
        self._buffered += len(data)
        self.conn.receive_data(data)

    def _parse_head(self) -> Any:
        """The next h11 event from what is buffered (NEED_DATA if incomplete).  When the bytes
        may hold a line starting with whitespace, the raw head is kept in `_head_bytes` so
        obs-fold can be refused: h11 unfolds it silently, RFC 9112 §5.2 lets a server reject
        it with 400, and we do (parsers that unfold differently are a smuggling ingredient)."""
        conn = self.conn
        if not self._fold_suspect:
            return conn.next_event()
        snapshot = conn.trailing_data[0]
        event = conn.next_event()
        if isinstance(event, h11.Request):
            end = snapshot.find(b"\r\n\r\n")
            self._head_bytes = snapshot[: end + 2] if end >= 0 else snapshot
            self._fold_suspect = bool(_FOLD_PATTERN.search(conn.trailing_data[0]))
        return event

    @property
    def _served_any(self) -> bool:
        return self._cycles > 0

    _cycles = 0
    _started = 0.0
    _fold_suspect = False
    _end_unread = False  # the current request's EndOfMessage is still in h11 (see _h11_ready)
    _head_received = 0
    _streamed = 0  # body bytes of the current response that have left so far
    _buffered = 0  # bytes h11 holds that no event has consumed yet (0 means "none", exactly)
    _head_bytes: bytes | None = None
    _last_byte = b""
    _current: h11.Request | None = None

    async def _read_body(self, headers: dict[bytes, bytes]) -> bytes | None:
        """The request body, or None after answering 413/408 (the connection then closes)."""
        limit = self.limits.max_body_bytes
        length = headers.get(b"content-length")
        if length is not None and int(length) > limit:
            # Refuse before reading (and before any 100 Continue: RFC 9110 §10.1.1).
            await self._send_error(413, f"request body larger than {limit} bytes")
            return None
        chunks: list[bytes] = []
        size = 0
        event = self.conn.next_event()  # a body-less request is complete already
        while True:
            if event is h11.NEED_DATA:
                try:
                    event = await self._next_event(trio.current_time() + self.limits.head_timeout_s)
                except TimedOut:
                    await self._send_error(408, "request body not received in time")
                    return None
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    await self._send_error(413, f"request body larger than {limit} bytes")
                    return None
                chunks.append(event.data)
                event = self.conn.next_event()
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks) if chunks else b""
            else:  # ConnectionClosed mid-body
                raise ClientGone

    async def _call_app(self, request: Request) -> Response:
        try:
            return await self.app(request)
        except Exception:
            # The app turns its own errors into responses; anything reaching here is a bug.
            log.exception("unhandled error answering %s %s", request.method, request.target)
            return text_response(500, "internal server error\n", log_note="error: see traceback")

    # --- writing --------------------------------------------------------------------------

    async def _send_bytes(self, data: bytes) -> None:
        if self._pending:
            data = b"".join(self._pending) + data
            self._pending.clear()
            self._pending_size = 0
        if self._sock is not None and data:
            # A small response nearly always fits the socket buffer: one write() and done,
            # without SocketStream.send_all's scheduler passes.  The rest, if any, goes the
            # ordinary way (which waits for the socket to drain).
            try:
                sent = os.write(self._fd, data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                self.conn.send_failed()
                raise ClientGone from exc
            if sent == len(data):
                return
            data = data[sent:]
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            self.conn.send_failed()
            raise ClientGone from exc

    def _head(self, response: Response, length: int | None, close: bool) -> h11.Response:
        headers = [
            (b"date", self.heads.get()),
            (b"server", self.server_header),
            *response.headers,
        ]
        # No Content-Length on a 304 unless the core set it (RFC 9110 §8.6: it must equal the
        # 200's length).  204 preflights keep "Content-Length: 0" (CORS.md: Safari waited for a
        # body without it).
        if (
            length is not None
            and response.status != 304
            and response.header(b"content-length") is None
        ):
            headers.append((b"content-length", str(length).encode()))
        if close:
            headers.append((b"connection", b"close"))
        return h11.Response(
            status_code=response.status,
            headers=headers,
            reason=PHRASES.get(response.status, b""),
        )

    async def _send_response(self, request: Request, response: Response) -> bool:
        """Send `response`; True if the connection may serve another request."""
        conn = self.conn
        body = response.body
        no_body = request.method == "HEAD" or response.status in (204, 304)
        close = self.closing or response.status >= 500
        sent = 0
        self._streamed = 0
        # The request was read to its end (their_state DONE), so h11 would accept a response;
        # a body of known length leaves by the rendered fast path.
        known = self._known_body(body, no_body)
        if known is not None:
            length, data = known
            return await self._send_rendered(request, response, length, data, no_body, close)
        self._h11_ready()
        try:
            if isinstance(body, FileBody):  # a large file, and the client wants its bytes
                try:
                    head = conn.send(self._head(response, body.length, close)) or b""
                    sent = await self._send_file(head, body)
                    await self._send_bytes(conn.send(h11.EndOfMessage()) or b"")
                finally:
                    body.close()
            elif isinstance(body, StreamBody):
                try:
                    head = conn.send(self._head(response, None, close)) or b""
                    if no_body:
                        await self._send_bytes(head + (conn.send(h11.EndOfMessage()) or b""))
                    else:
                        sent = await self._send_stream(head, body)
                finally:
                    body.close()
        except ClientGone:
            # Log what actually left, not what was meant to: the streaming loops count it.
            self._log(request, response, max(sent, self._streamed), note_extra="client went away")
            raise
        self._cycles += 1
        self._log(request, response, sent)
        return conn.our_state is not h11.MUST_CLOSE and not close

    def _h11_ready(self) -> None:
        """Let h11 see the end of a body-less request, so it accepts the whole response and
        can start the next cycle afterwards."""
        if self._end_unread:
            self._end_unread = False
            if not isinstance(self.conn.next_event(), h11.EndOfMessage):
                raise ClientGone  # cannot happen for a request without framing headers

    def _known_body(self, body: Body, no_body: bool) -> tuple[int, bytes] | None:
        """(Content-Length, bytes to send) when the body goes out with the head: bytes bodies,
        any file when no body is sent (HEAD, 204, 304: nothing is read), small files."""
        if isinstance(body, bytes):
            return len(body), body
        if not isinstance(body, FileBody):
            return None
        if no_body:
            body.close()
            return body.length, b""
        if body.length > SMALL_BODY:
            return None
        try:
            if body.fd is None:
                fd = os.open(body.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    data = os.pread(fd, body.length, body.offset)
                finally:
                    os.close(fd)
            else:
                data = os.pread(body.fd, body.length, body.offset)
        finally:
            body.close()
        if len(data) != body.length:
            raise ClientGone  # the file shrank under us: the framing cannot be honoured
        return body.length, data

    async def _send_rendered(
        self,
        request: Request,
        response: Response,
        length: int,
        body: bytes,
        no_body: bool,
        close: bool,
    ) -> bool:
        """The fast path for a known, small body: minicors renders the head itself and sends
        head + body in one `send_all`; h11 then starts afresh on the bytes it still holds.

        h11's response serialisation (validating every field of every response) cost more
        than parsing the request; our fields come from our own code, and the one guard that
        matters, no CR, LF or NUL inside a field (header injection), is checked on the whole
        rendered head at C speed.  Keep-alive follows RFC 9112 §9.3 as h11 would.
        """
        keep = not close and _keep_alive(request)
        head = self.heads.head(response, length, keep=keep, server=self.server_header)
        if head is None:
            log.error("refused to send a response header containing CR, LF or NUL")
            response = text_response(500, "internal server error\n", log_note="error: bad header")
            body = response.body if isinstance(response.body, bytes) else b""
            no_body = request.method == "HEAD"
            keep = False
            head = render_head(
                response, len(body), keep=False, date=self.heads.get(), server=self.server_header
            )
            assert head is not None  # noqa: S101 - constant fields
        data = head if no_body else head + body
        self._recycle()
        if keep and self._buffered and self._pending_size + len(data) <= PIPELINE_BATCH:
            # More pipelined requests are already here: answer them in one write (in order,
            # RFC 9112 §9.3.2); the batch leaves before any wait for the network.
            self._pending.append(data)
            self._pending_size += len(data)
        else:
            try:
                await self._send_bytes(data)
            except ClientGone:
                self._log(request, response, 0, note_extra="client went away")
                raise
        self._cycles += 1
        self._log(request, response, 0 if no_body else len(body))
        return keep

    def _recycle(self) -> None:
        """A fresh h11 connection holding the bytes the old one had not consumed (the next
        pipelined requests, or the peer's EOF)."""
        leftover, closed = self.conn.trailing_data
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_head_bytes)
        self._end_unread = False
        if leftover:
            conn.receive_data(leftover)
        if closed:
            conn.receive_data(b"")
        self.conn = conn
        self._buffered = len(leftover)

    async def _send_stream(self, head: bytes, body: StreamBody) -> int:
        conn = self.conn
        pending = head
        sent = 0
        for chunk in body.chunks:
            if not chunk:
                continue
            pending += conn.send(h11.Data(data=chunk)) or b""
            await self._send_bytes(pending)
            sent += len(chunk)
            self._streamed = sent
            pending = b""
        await self._send_bytes(pending + (conn.send(h11.EndOfMessage()) or b""))
        return sent

    async def _send_file(self, head: bytes, body: FileBody) -> int:
        """Stream a file region with constant memory: `os.sendfile` straight from the page
        cache when the stream is a plain socket, else bounded reads (both wait for the socket
        to drain, so a slow reader costs one buffer, not the file)."""
        fd = body.fd if body.fd is not None else os.open(body.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            pieces: list[object] = list(
                self.conn.send_with_data_passthrough(
                    h11.Data(data=_SentFile(body.length))  # type: ignore[arg-type]
                )
                or []
            )
            # h11 hands back the framing bytes (none for Content-Length) and our stand-in.
            head += b"".join(p for p in pieces if isinstance(p, bytes))
            await self._send_bytes(head)
            if isinstance(self.stream, trio.SocketStream):
                return await self._sendfile(self.stream, fd, body.offset, body.length)
            return await self._send_reads(fd, body.offset, body.length)
        finally:
            if body.fd is None:
                os.close(fd)

    async def _sendfile(self, stream: trio.SocketStream, fd: int, offset: int, length: int) -> int:
        sock = stream.socket
        out = sock.fileno()
        sent = 0
        try:
            while sent < length:
                try:
                    n = os.sendfile(out, fd, offset + sent, min(length - sent, 1 << 24))
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(sock)
                    continue
                except (BrokenPipeError, ConnectionResetError) as exc:
                    raise ClientGone from exc
                except OSError as exc:
                    if exc.errno in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                        return sent + await self._send_reads(fd, offset + sent, length - sent)
                    raise
                if n == 0:
                    raise ClientGone  # file shrank under us
                sent += n
                self._streamed = sent
                await trio.lowlevel.checkpoint()
        except ClientGone:
            self.conn.send_failed()
            raise
        return sent

    async def _send_reads(self, fd: int, offset: int, length: int) -> int:
        sent = 0
        while sent < length:
            data = os.pread(fd, min(FILE_CHUNK, length - sent), offset + sent)
            if not data:
                raise ClientGone
            await self._send_bytes(data)
            sent += len(data)
            self._streamed = sent
        return sent

    async def _send_error(self, status: int, message: str) -> None:
        """A server-generated error with `Connection: close`, if h11 still allows a response
        (only in IDLE or SEND_RESPONSE: never a second response to one request)."""
        conn = self.conn
        self._cycles += 1
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = f"{status} {REASONS.get(status, '')}: {message}\n".encode()
        response = Response(
            status=status,
            headers=((b"content-type", b"text/plain; charset=utf-8"),),
            body=body,
        )
        try:
            data = conn.send(self._head(response, len(body), True)) or b""
            data += (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            return
        try:
            await self._send_bytes(data)
        except ClientGone:
            return
        request_line = self._request_line()
        if self.access_log.enabled:
            self.access_log.write(
                format_line(
                    peer=self.peer,
                    method=request_line[0],
                    target=request_line[1],
                    http_version=request_line[2],
                    status=status,
                    sent_bytes=len(body),
                    elapsed_s=time.monotonic() - self._started if self._started else 0.0,
                    note=f"error: {message}",
                )
            )
        await self._close_gracefully()

    def _request_line(self) -> tuple[str, str, str]:
        # h11 hands out no request it could not parse: log a placeholder line then.
        head = self._current
        if head is None:
            return ("-", "-", "1.1")
        return (
            head.method.decode("latin-1"),
            head.target.decode("latin-1"),
            head.http_version.decode("latin-1"),
        )

    async def _close_gracefully(self) -> None:
        """Half-close, then read and discard briefly: closing with unread data makes the kernel
        send RST, which can destroy the response before the client reads it (h11 trio example)."""
        try:
            if self._pending:
                await self._send_bytes(b"")
        except ClientGone:
            return
        try:
            await self.stream.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        drained = 0
        with trio.move_on_after(DRAIN_TIME_S):
            while drained < DRAIN_BYTES:
                try:
                    data = await self.stream.receive_some(MAX_RECV)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                if not data:
                    return
                drained += len(data)

    def _log(self, request: Request, response: Response, sent: int, note_extra: str = "") -> None:
        if not self.access_log.enabled:
            return
        note = response.log_note
        if note_extra:
            note = f"{note} {note_extra}".strip()
        self.access_log.write(
            format_line(
                peer=self.peer,
                method=request.method,
                target=request.target,
                http_version=request.http_version,
                status=response.status,
                sent_bytes=sent,
                elapsed_s=time.monotonic() - self._started,
                note=note,
            )
        )


def _protocol_message(exc: h11.RemoteProtocolError) -> str:
    status = exc.error_status_hint
    if status == 431:
        return "request head too large"
    text = str(exc) or "malformed request"
    return text.splitlines()[0][:200]
