"""One HTTP/1.1 server connection as a sans-IO object: bytes in, requests out, response heads out.

h11 parses every request head and decodes every body.  This object decides which bytes h11
sees: one whole head at a time, screened first (`screen.py`), and then exactly the body bytes
the framing allows (`chunks.py` for chunked bodies), so every check runs on every byte whatever
the TCP segmentation was, and bytes after a message are screened as the next head.  A fresh
`h11.Connection` reads each request: minicors renders responses itself (`heads.py`), so h11 is
never walked through a response to reach its next cycle.  It never sleeps, reads or writes;
the server feeds it and carries out what it returns.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import NoReturn

import h11

from ..errors import HttpError, ProtocolError
from ..messages import Request, Response, combine_headers, error_response, target_of
from ..messages import TargetForm as _Form
from ..options import Limits
from .chunks import ChunkedScreen
from .heads import CONTINUE, LAST_CHUNK, HeadCache, frame_chunk, render_head
from .screen import (
    check_partial,
    check_request_line,
    describe_fault,
    describe_field_fault,
    has_token,
    line_count,
    valid_host,
)


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


_AMBIGUOUS = "the body's framing is ambiguous: two strict readings of it disagree"
_LENGTH_TWICE = "Content-Length must be sent once, as one number (RFC 9112 §6.3)"
_CL_LINE = re.compile(rb"\r\ncontent-length:([^\r]*)", re.IGNORECASE)
_TE_LINE = re.compile(rb"\r\ntransfer-encoding:([^\r]*)", re.IGNORECASE)
_VALID_HOSTS: set[bytes] = set()  # Host values already found valid (bounded below)
_VALID_HOSTS_MAX = 1024


class HttpConnection:
    """The protocol state of one connection (see the module docstring)."""

    def __init__(self, limits: Limits, heads: HeadCache, *, peer: str = "") -> None:
        self._limits = limits
        self._heads = heads
        self._peer = peer
        self._buf = b""  # bytes received; those before _pos are consumed
        self._pos = 0
        self._eof = False
        self.phase = Phase.IDLE
        self._scan = 0  # where the search for the end of the head resumes
        self._line_ok = False  # the request line of the head in progress was checked
        # The request in progress (head parsed, body arriving) and its answer's framing.
        self._h11: h11.Connection | None = None
        self._url = target_of("/")
        self._headers: dict[bytes, bytes] = {}
        self._raw: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self._left = 0  # Content-Length bytes still to come
        self._chunks: ChunkedScreen | None = None
        self.body_received = 0
        self._continue = False  # the client waits for 100 Continue
        self._keep = False
        self._is_head = False
        self._http11 = True
        self._chunked_out = False
        self._answering = False  # a response head was handed out for the current request
        self.request_line: tuple[str, str, str] = ("-", "-", "1.1")

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
        if self.phase is Phase.IDLE:
            self.phase = Phase.HEAD

    @property
    def buffered(self) -> int:
        """Bytes received that no request has consumed yet (pipelined requests)."""
        return len(self._buf) - self._pos

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
        try:
            if self.phase is Phase.BODY:
                return self._read_body()
            if self.phase is Phase.RESPONSE or self.phase is Phase.CLOSED:
                raise RuntimeError("next_request() while a response is due or after closing")
            return self._read_head()
        except ProtocolError:
            self.phase = Phase.CLOSED
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
        end = buf.find(b"\r\n\r\n", max(start, self._scan))
        if end < 0 or end + 4 - pos > limit:
            return self._incomplete_head(buf, pos, start, limit)
        stop = end + 4
        head = buf[start:stop]
        lines = line_count(head)
        if lines < 0:
            _refuse_head(head)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limit)
        conn.receive_data(head)
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise _h11_refusal(exc, head) from None
        if not isinstance(event, h11.Request):  # a whole head always yields a Request
            raise ProtocolError(400, "malformed request head")
        self._pos = self._scan = stop
        self._line_ok = False
        return self._start(event, conn, head, lines)

    def _incomplete_head(self, buf: bytes, pos: int, start: int, limit: int) -> Need:
        """No whole head yet: refuse now what is already wrong, in stream order (so a head
        fed byte by byte gets the answer it gets in one piece), else ask for more."""
        prefix = buf[start : pos + limit]
        line_end = prefix.find(b"\r\n")
        if line_end >= 0 and not self._line_ok:
            check_request_line(prefix[:line_end])
            self._line_ok = True
        check_partial(prefix)
        if len(buf) - pos > limit:
            raise ProtocolError(431, f"request head larger than {limit} bytes (--max-head-bytes)")
        self._scan = max(start, len(buf) - 3)
        if self._eof:
            if start >= len(buf):
                self.phase = Phase.CLOSED
                return Need.CLOSED
            raise ProtocolError(400, "the connection closed before the request head was complete")
        return Need.DATA

    def _start(
        self, event: h11.Request, conn: h11.Connection, head: bytes, lines: int
    ) -> Request | Need:
        """Check what h11 parsed, then hand the request out (or start reading its body)."""
        method, version = event.method, event.http_version
        target = event.target.decode("ascii")
        self._left = 0
        self._chunks = None
        self.request_line = (method.decode("ascii"), target, version.decode("ascii"))
        if version != b"1.1" and version != b"1.0":
            raise ProtocolError(505, f"HTTP/{self.request_line[2]} is not supported; use HTTP/1.1")
        raw = event.headers.raw_items()
        if lines != len(raw) + 2:
            # h11 joined folded lines into one field (RFC 9112 §5.2 obs-fold; it also merges
            # repeated equal Content-Length lines): say which.
            raise ProtocolError(400, describe_fault(head) or _LENGTH_TWICE)
        if method == b"CONNECT":
            raise ProtocolError(501, "CONNECT is not supported: minicors is not a proxy")
        headers = {name.lower(): value for name, value in raw}
        if len(headers) != len(raw):
            headers = _combined(raw)
        host = headers.get(b"host")
        if host is not None and host not in _VALID_HOSTS:
            if not valid_host(host):
                raise ProtocolError(400, "the Host header is not host[:port] (RFC 9112 §3.2)")
            if len(_VALID_HOSTS) >= _VALID_HOSTS_MAX:
                _VALID_HOSTS.clear()
            _VALID_HOSTS.add(host)
        url = target_of(target)
        if url.form is _Form.ASTERISK and method != b"OPTIONS":
            raise ProtocolError(400, "'*' is a request-target only for OPTIONS (RFC 9112 §3.2.4)")
        http11 = version == b"1.1"
        connection = headers.get(b"connection")
        self._keep = http11 and (connection is None or not has_token(connection, b"close"))
        self._http11 = http11
        self._is_head = method == b"HEAD"
        self._answering = False
        te = headers.get(b"transfer-encoding")
        length = headers.get(b"content-length")
        if te is not None:
            if length is not None:
                # RFC 9112 §6.1: such a message may be a smuggling attempt; refuse, then close.
                raise ProtocolError(400, "both Content-Length and Transfer-Encoding were sent")
            if not http11:
                raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")
            limits = self._limits
            self._chunks = ChunkedScreen(
                max_body_bytes=limits.max_body_bytes,
                max_chunks=limits.max_body_chunks,
                max_line_bytes=limits.max_head_bytes,
            )
        elif length is not None:
            _check_length_lines(head)
            size = int(length)
            if size > self._limits.max_body_bytes:
                # Refused before reading (and before any 100 Continue: RFC 9110 §10.1.1).
                raise ProtocolError(
                    413, f"request body larger than {self._limits.max_body_bytes} bytes"
                )
            self._left = size
        if te is None and not self._left:
            # RFC 9112 §6.3: no framing headers (or a zero length), no body.
            self.phase = Phase.RESPONSE
            return Request(
                method=self.request_line[0],
                target=target,
                url=url,
                headers=headers,
                raw_headers=raw,
                http_version=self.request_line[2],
                peer=self._peer,
            )
        self._h11, self._url, self._headers, self._raw = conn, url, headers, raw
        self._continue = http11 and has_token(headers.get(b"expect", b""), b"100-continue")
        self.body_received = 0
        self.phase = Phase.BODY
        return self._read_body()

    def _read_body(self) -> Request | Need:
        conn = self._h11
        assert conn is not None  # noqa: S101 - set with Phase.BODY
        buf, pos = self._buf, self._pos
        chunks = self._chunks
        if chunks is not None:
            stop = chunks.advance(buf, pos)
            finished = chunks.done
        else:
            stop = min(len(buf), pos + self._left)
            self._left -= stop - pos
            finished = not self._left
        ended = False
        if stop > pos:
            self._pos = stop
            self.body_received += stop - pos
            conn.receive_data(buf[pos:stop])
            body = self._body
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:
                    # The screen accepted what h11 refuses: the readings disagree.
                    raise ProtocolError(400, _AMBIGUOUS) from None
                if isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    ended = True
                    break
                else:
                    break
        if ended != finished:
            raise ProtocolError(400, _AMBIGUOUS)
        if not finished:
            if self._eof:
                raise ProtocolError(400, "the connection closed before the body was complete")
            return Need.DATA
        request = Request(
            method=self.request_line[0],
            target=self.request_line[1],
            url=self._url,
            headers=self._headers,
            raw_headers=self._raw,
            body=bytes(self._body),
            http_version=self.request_line[2],
            peer=self._peer,
        )
        self._h11 = self._chunks = None
        self._body = bytearray()
        self._continue = False
        self.phase = Phase.RESPONSE
        return request

    # --- output -------------------------------------------------------------------------

    def response_head(
        self, response: Response, length: int | None, *, close: bool = False
    ) -> bytes:
        """The head answering the current request.  `length` None: the body is streamed
        (chunked for HTTP/1.1, ended by closing for HTTP/1.0).  HEAD, 204 and 304 answers
        carry no body whatever `length` says (see `sends_body`).  Server errors and `close`
        end the connection after this answer."""
        status = response.status
        keep = self._keep and not close and status < 500
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
        if self._keep:
            self.phase = Phase.HEAD if self._pos < len(self._buf) else Phase.IDLE
            return True
        self.phase = Phase.CLOSED
        return False

    def error_answer(self, error: HttpError) -> tuple[bytes, int]:
        """The whole answer to a request that failed (protocol error, timeout) with
        `Connection: close`, and how many body bytes it holds; b"" when part of another
        answer has already left."""
        if self._answering:
            return b"", 0
        self._answering = True
        self.phase = Phase.CLOSED
        response = error_response(error)
        body = response.body
        assert isinstance(body, bytes)  # noqa: S101 - error_response makes bytes
        head = render_head(
            response,
            len(body),
            keep=False,
            date=self._heads.date(),
            server=self._heads.server,
        )
        if self._is_head:
            return head, 0
        return head + body, len(body)


def _combined(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Headers with repeated names, refusing repeats that make a request ambiguous."""
    lowered = [(name.lower(), value) for name, value in raw]
    names = [name for name, _ in lowered]
    if names.count(b"host") > 1:
        raise ProtocolError(400, "more than one Host header (RFC 9112 §3.2)")
    return combine_headers(lowered)


def _refuse_head(head: bytes) -> NoReturn:
    """A head with a bare CR, bare LF or control byte: 400, unless its request line is
    already wrong (that comes first in the stream, so it is the answer however the bytes
    were split)."""
    check_request_line(head[: head.find(b"\r\n")])
    raise ProtocolError(400, describe_fault(head))


def _check_length_lines(head: bytes) -> None:
    """One Content-Length field line holding one number (h11 merges `5, 5` and repeated equal
    lines; RFC 9112 §6.3 lets a server refuse both, and a front end may read them otherwise)."""
    values = _CL_LINE.findall(head)
    if len(values) > 1 or b"," in values[0]:
        raise ProtocolError(400, _LENGTH_TWICE)


def _h11_refusal(exc: h11.RemoteProtocolError, head: bytes) -> ProtocolError:
    """h11 refused the head: the answer, in words (h11's messages show its internals), in
    stream order (the request line, then the bytes of the lines, then what the fields mean),
    so the verdict is the one the same head gets when it arrives piece by piece."""
    check_request_line(head[: head.find(b"\r\n")])
    described = describe_fault(head) or describe_field_fault(head)
    if described:
        return ProtocolError(400, described)
    text = str(exc)
    if exc.error_status_hint == 501:  # a Transfer-Encoding other than plain `chunked`
        return _transfer_coding_refusal(head)
    if "conflicting Content-Length" in text:
        return ProtocolError(400, "conflicting Content-Length values (RFC 9110 §8.6)")
    if "Content-Length" in text:
        return ProtocolError(400, "the Content-Length header is not a number (RFC 9110 §8.6)")
    if "Host" in text:
        return ProtocolError(400, "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)")
    return ProtocolError(exc.error_status_hint, "malformed request head")


def _transfer_coding_refusal(head: bytes) -> ProtocolError:
    """RFC 9112 §6.1 and §6.3: with Content-Length too, or in HTTP/1.0, the framing is faulty
    (400); when `chunked` is not the final coding the body's length cannot be known (400);
    otherwise a coding minicors does not implement comes before `chunked` (501)."""
    if _CL_LINE.search(head):
        return ProtocolError(400, "both Content-Length and Transfer-Encoding were sent")
    if head[: head.find(b"\r\n")].endswith(b"HTTP/1.0"):
        return ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")
    values = b",".join(_TE_LINE.findall(head))
    codings = [c.split(b";")[0].strip(b" \t").lower() for c in values.split(b",")]
    codings = [c for c in codings if c]
    if not codings or codings[-1] != b"chunked":
        return ProtocolError(
            400, "chunked is not the final transfer coding, so the body has no known end"
        )
    return ProtocolError(501, "only 'Transfer-Encoding: chunked' is supported (RFC 9112 §6.1)")
