"""One HTTP/1.1 server connection as a sans-IO object: bytes in, requests out, response heads out.

h11 parses every request head and decodes every body.  This object decides which bytes h11
sees: one whole head at a time, screened first (`screen.py`), and then exactly the body bytes
the framing allows (`body.py`), so every check runs on every byte whatever the TCP
segmentation was, and bytes after a message are screened as the next head.  A fresh
`h11.Connection` reads each request: minicors renders responses itself (`heads.py`), so h11 is
never walked through a response to reach its next cycle.  It never sleeps, reads or writes;
the server feeds it and carries out what it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from enum import Enum
from typing import NoReturn

import h11

from ..errors import HttpError, ProtocolError
from ..messages import Request, Response, error_response
from ..options import Limits
from .body import BodyReader
from .fields import check_fields, h11_refusal
from .heads import CONTINUE, LAST_CHUNK, HeadCache, frame_chunk, render_head
from .screen import check_partial, check_request_line, describe_fault, line_count


class Need(Enum):
    """What `next_request` returns when it has no request to hand out."""

    DATA = "need data"  # feed more bytes with receive_data
    CLOSED = "closed"  # the peer ended the connection cleanly between requests


class Phase(Enum):
    """Where the connection stands; the server picks its deadline from it."""

    IDLE = "idle"  # no byte of the next request yet
    HEAD = "head"  # part of a request head has arrived
    BODY = "body"  # the head is parsed, its body is arriving
    RESPONSE = "response"  # a request was handed out; its answer is being sent
    CLOSED = "closed"


_NEAR = 512  # a head this short is found by a look at its own bytes
# A streamed body (a proxied upload) is passed on as it arrives, so --max-body-bytes, which
# bounds what minicors holds, does not cap it: the consumer (the upstream) sets its own limit.
STREAMED_BODY_MAX = 1 << 62
Streams = Callable[[Request], bool] | None  # which requests have their body streamed
# The phases as module constants: looked up once per use, on the path every request takes.
_IDLE, _HEAD, _BODY, _RESPONSE, _CLOSED = (
    Phase.IDLE,
    Phase.HEAD,
    Phase.BODY,
    Phase.RESPONSE,
    Phase.CLOSED,
)


class HttpConnection:
    """The protocol state of one connection (see the module docstring)."""

    def __init__(
        self, limits: Limits, heads: HeadCache, *, peer: str = "", streams: Streams = None
    ) -> None:
        self._limits = limits
        self._streams = streams  # bodies handed out at the head, read as asked (`streaming`)
        self.streaming = False  # the current request's body is streamed (`body_piece`)
        self._heads = heads
        self._peer = peer
        self._buf = b""  # bytes received; those before _pos are consumed
        self._pos = 0
        self._eof = False
        self.phase = Phase.IDLE
        self._scan = 0  # where the search for the end of the head resumes
        self._line_ok = False  # the request line of the head in progress was checked
        self._event: h11.Request | None = None  # the head in progress, once parsed
        self._pending: Request | None = None  # the request whose body is arriving
        self._body: BodyReader | None = None
        self._continue = False  # the client waits for 100 Continue
        self._keep = False
        self._is_head = False
        self._http11 = True
        self._chunked_out = False
        self._answering = False  # a response head was handed out for the current request

    # --- input --------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer; `b""` means it closed its side."""
        if not data:
            self._eof = True
            return
        pos = self._pos
        if pos >= len(self._buf):
            self._buf = data
            self._scan = 0
        else:
            self._buf = self._buf[pos:] + data
            self._scan = max(0, self._scan - pos)
        self._pos = 0

    @property
    def buffered(self) -> int:
        """Bytes received that no request has consumed yet (pipelined requests)."""
        return len(self._buf) - self._pos

    @property
    def body_received(self) -> int:
        """Bytes of the current request's body received so far (its framing included)."""
        return self._body.received if self._body is not None else 0

    @property
    def wants_continue(self) -> bool:
        """The client sent `Expect: 100-continue` and waits for it before its body."""
        return self._continue and self.body_received == 0

    def continue_bytes(self) -> bytes:
        """The interim `100 Continue` to send now (RFC 9110 §10.1.1); asked for once."""
        self._continue = False
        return CONTINUE

    def next_request(self) -> Request | Need:
        """The next complete request (body read), or what is needed first.  Raises
        `ProtocolError` for bytes minicors refuses; the connection is then closed."""
        phase = self.phase
        try:
            if phase is _BODY:
                return self._read_body()
            if phase is _RESPONSE or phase is _CLOSED:
                raise RuntimeError("next_request() while a response is due or after closing")
            return self._read_head()
        except ProtocolError:
            self.phase = _CLOSED
            raise

    def _read_head(self) -> Request | Need:
        buf, pos = self._buf, self._pos
        if pos >= len(buf) and not self._eof:
            return Need.DATA  # nothing buffered: the common case between requests
        start = pos
        # RFC 9112 §2.2: empty lines before a request line are ignored (counted in the size).
        while buf.startswith(b"\r\n", start):
            start += 2
        limit = self._limits.max_head_bytes
        # Most heads are short: look for their end close by.  A long one (a big cookie) in a
        # read that ends with a blank line and could be that one head is left to h11 to
        # delimit, so its bytes are scanned once rather than twice.
        end = buf.find(b"\r\n\r\n", start, start + _NEAR)
        parsed = None
        if end < 0 and len(buf) - start <= limit and buf.endswith(b"\r\n\r\n"):
            parsed = _parse_whole(buf, start, limit)
        if parsed is not None:
            event, conn, stop = parsed
            if stop - pos > limit:
                return self._incomplete_head(buf, pos, start, limit)
            head = buf[start:stop]
            self._is_head = head.startswith(b"HEAD ")  # even a refusal of it carries no body
            lines = line_count(head)
            if lines < 0:
                _refuse_head(head)
        else:
            if end < 0:
                end = buf.find(b"\r\n\r\n", start if start > self._scan else self._scan)
            if end < 0 or end + 4 - pos > limit:
                return self._incomplete_head(buf, pos, start, limit)
            stop = end + 4
            head = buf[start:stop]
            self._is_head = head.startswith(b"HEAD ")  # even a refusal of it carries no body
            lines = line_count(head)
            if lines < 0:
                _refuse_head(head)
            event, conn = _parse_head(head, limit)
        self._pos = self._scan = stop
        if self._line_ok:
            self._line_ok = False
        self._event = event
        # The body's size is held to --max-body-bytes by `_body_limits` (unless streamed).
        request, (chunked, length, self._keep, expects_continue) = check_fields(
            event, head, lines, STREAMED_BODY_MAX, self._peer
        )
        self._http11 = event.http_version == b"1.1"
        if not chunked and not length:
            # RFC 9112 §6.3: no framing headers (or a zero length), no body.
            self.phase = _RESPONSE
            return request
        self._pending = request
        limits = _body_limits(self, request, length)
        if parsed is not None and stop < len(buf):
            # h11 read past the head: a reader for the body starts from the head alone.
            conn = _parse_head(head, limit)[1]
        self._body = BodyReader(conn, chunked=chunked, length=length, limits=limits)
        self._continue = expects_continue
        self.phase = _BODY
        return request if self.streaming else self._read_body()

    def _incomplete_head(self, buf: bytes, pos: int, start: int, limit: int) -> Need:
        """No whole head yet: refuse now what is already wrong, in stream order (so a head
        fed byte by byte gets the answer it gets in one piece), else ask for more."""
        self.phase = _HEAD  # part of a head (or empty lines before one) has arrived
        prefix = buf[start : pos + limit]
        self._is_head = prefix.startswith(b"HEAD ")  # even a refusal of it carries no body
        line_end = prefix.find(b"\r\n")
        if line_end >= 0 and not self._line_ok:
            check_request_line(prefix[:line_end])
            self._line_ok = True
        elif prefix[:1] in (b" ", b"\t"):  # a request line starts with a method (a token)
            check_request_line(prefix)
        check_partial(prefix)
        if len(buf) - pos > limit:
            raise ProtocolError(431, f"request head larger than {limit} bytes (--max-head-bytes)")
        self._scan = max(start, len(buf) - 3)
        if self._eof:
            if start >= len(buf):
                self.phase = _CLOSED
                return Need.CLOSED
            raise ProtocolError(400, "the connection closed before the request head was complete")
        return Need.DATA

    def _read_body(self) -> Request | Need:
        reader, request = self._body, self._pending
        assert reader is not None and request is not None  # noqa: S101 - set with Phase.BODY
        self._pos = reader.take(self._buf, self._pos)
        if not reader.done:
            if self._eof:
                raise ProtocolError(400, "the connection closed before the body was complete")
            return Need.DATA
        self._body = self._pending = None
        self._continue = False
        self.phase = _RESPONSE
        return dataclasses.replace(request, body=reader.body())

    @property
    def request_line(self) -> tuple[str, str, str]:
        """Method, target and version of the request in progress, for a log line (placeholders
        when its head could not be parsed)."""
        event = self._event
        if event is None:
            return ("-", "-", "1.1")
        return (
            event.method.decode("ascii"),
            event.target.decode("ascii"),
            event.http_version.decode("ascii"),
        )

    # --- output -------------------------------------------------------------------------

    def response_head(
        self, response: Response, length: int | None, *, close: bool = False
    ) -> bytes:
        """The head answering the current request.  `length` None: the body is streamed
        (chunked for HTTP/1.1, ended by closing for HTTP/1.0).  HEAD, 204 and 304 answers
        carry no body whatever `length` says (see `sends_body`).  Server errors and `close`
        end the connection after this answer."""
        status = response.status
        keep = self._keep and not close and status < 500 and self._body is None
        chunked = False
        if length is None and status not in (204, 304):
            if self._http11:
                chunked = True
            else:
                keep = False
        head = self._heads.head(response, length, keep=keep, chunked=chunked)
        self._keep = keep
        self._chunked_out = chunked and not self._is_head
        self._answering = True
        return head

    def sends_body(self, response: Response) -> bool:
        """Whether body bytes follow the head (not for HEAD, 204, 304)."""
        return not self._is_head and response.status not in (204, 304)

    def frame(self, data: bytes) -> bytes:
        """A piece of a streamed body as it goes on the wire."""
        return frame_chunk(data) if self._chunked_out else data

    def end_of_body(self) -> bytes:
        return LAST_CHUNK if self._chunked_out else b""

    def response_done(self) -> bool:
        """The answer has been sent: True if the connection may read another request."""
        self._answering = self._is_head = False
        self._event = None
        if self._keep:
            self.phase = _IDLE  # (next_request says HEAD if part of the next one is here)
            return True
        self.phase = _CLOSED
        return False

    def error_answer(self, error: HttpError) -> tuple[bytes, int]:
        """The whole answer to a request that failed (protocol error, timeout) with
        `Connection: close`, and how many body bytes it holds; b"" when part of another
        answer has already left."""
        if self._answering:
            return b"", 0
        self._answering = True
        self.phase = _CLOSED
        response = error_response(error)
        body = response.body
        assert isinstance(body, bytes)  # noqa: S101 - error_response makes bytes
        head = render_head(
            response, len(body), keep=False, date=self._heads.date(), server=self._heads.server
        )
        if self._is_head:
            return head, 0
        return head + body, len(body)


def _body_limits(conn: HttpConnection, request: Request, length: int) -> Limits:
    """The limits `request`'s body is read under: a streamed one is not capped by
    --max-body-bytes (it is never held whole); any other over it is refused with 413.  A
    streamed body not read to its end leaves no place to find a next request: the answer
    then closes the connection (`response_head`)."""
    streams = conn._streams
    if streams is not None and streams(request):
        conn.streaming = True
        return dataclasses.replace(conn._limits, max_body_bytes=STREAMED_BODY_MAX)
    most = conn._limits.max_body_bytes
    if length > most:
        # Refused before reading (and before any 100 Continue: RFC 9110 §10.1.1).
        raise ProtocolError(413, f"request body larger than {most} bytes")
    return conn._limits


def body_piece(conn: HttpConnection) -> bytes | Need | None:
    """The next decoded piece of the streamed body of `conn`'s current request,
    `Need.DATA`, or None once it has ended (`ProtocolError` if its framing breaks)."""
    reader = conn._body
    if reader is None or not conn.streaming:
        return None
    conn._pos = reader.take(conn._buf, conn._pos)
    piece = reader.pop()
    if reader.done:
        conn._body = conn._pending = None
        conn.streaming = conn._continue = False
        conn.phase = _RESPONSE if conn.phase is _BODY else conn.phase
    elif not piece and conn._eof:
        raise ProtocolError(400, "the connection closed before the body was complete")
    return piece or (None if reader.done else Need.DATA)


def upgrade(conn: HttpConnection, response: Response) -> tuple[bytes, bytes]:
    """The head of a `101 Switching Protocols` (RFC 9110 §15.2.2; no framing: what follows
    is not HTTP) and the bytes already received after the request, which belong to the new
    protocol.  The connection is never read as HTTP again."""
    conn._keep = conn._chunked_out = False
    conn._answering = True
    head = render_head(
        response, None, keep=True, date=conn._heads.date(), server=conn._heads.server
    )
    early = conn._buf[conn._pos :]
    conn._buf, conn._pos = b"", 0
    return head, early


def _parse_whole(
    buf: bytes, start: int, limit: int
) -> tuple[h11.Request, h11.Connection, int] | None:
    """A long head in a read that ends with a blank line: h11 is handed everything from
    `start` and finds where the head ends itself (so the bytes are scanned once, not twice).
    (event, the connection that read it, the head's end in `buf`), or None to take the
    careful path, which gives the precise answer to whatever h11 did not accept."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limit)
    conn.receive_data(buf[start:] if start else buf)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    if not isinstance(event, h11.Request):
        return None
    return event, conn, len(buf) - len(conn.trailing_data[0])


def _parse_head(head: bytes, limit: int) -> tuple[h11.Request, h11.Connection]:
    """h11's reading of exactly one whole head (refusals in words, in stream order)."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limit)
    conn.receive_data(head)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as exc:
        raise h11_refusal(exc, head) from None
    if not isinstance(event, h11.Request):  # a whole head always yields a Request
        raise ProtocolError(400, "malformed request head")
    return event, conn


def _refuse_head(head: bytes) -> NoReturn:
    """A head with a bare CR, bare LF or control byte: 400, unless its request line is
    already wrong (that comes first in the stream, so it is the answer however the bytes
    were split)."""
    check_request_line(head[: head.find(b"\r\n")])
    raise ProtocolError(400, describe_fault(head))
