"""Response heads as bytes: one status-phrase table, one renderer, one memo of shared heads.

minicors renders every response head itself: h11's serialiser validates every field of every
response, which cost more than parsing the request, and our fields come from our own code.  The
one guard that matters, no CR, LF or NUL inside a field (header injection), is checked on the
whole rendered head at C speed.
"""

from __future__ import annotations

import http
import time

from ..errors import UnsafeResponse
from ..messages import HeaderList, Response

# Reason phrases are optional (RFC 9112 §4) but tools and people read them; RFC 9110 §15
# renamed a few that Python still spells the old way.
PHRASES: dict[int, bytes] = {s.value: s.phrase.encode() for s in http.HTTPStatus} | {
    413: b"Content Too Large",
    416: b"Range Not Satisfiable",
    422: b"Unprocessable Content",
}
_STATUS_LINES = {code: b"HTTP/1.1 %d %s\r\n" % (code, phrase) for code, phrase in PHRASES.items()}

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"


def status_line(status: int) -> bytes:
    return _STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status


def frame_chunk(data: bytes) -> bytes:
    """`data` as one chunk of a chunked body (RFC 9112 §7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def render_head(
    response: Response,
    length: int | None,
    *,
    keep: bool,
    date: bytes,
    server: bytes,
    chunked: bool = False,
) -> bytes:
    """The head of `response`: status line, Date, Server, its fields, the framing, and
    `Connection: close` unless `keep`.  `length` None with `chunked` false means the body is
    delimited by closing the connection.  Raises `UnsafeResponse` when a field would smuggle
    a CR, LF or NUL."""
    parts = [status_line(response.status), b"date: ", date, b"\r\nserver: ", server, b"\r\n"]
    lines = 3 + len(response.headers)
    has_length = False
    for name, value in response.headers:
        parts += (name, b": ", value, b"\r\n")
        if name == b"content-length":
            has_length = True
    if chunked:
        parts.append(b"transfer-encoding: chunked\r\n")
        lines += 1
    # No Content-Length on a 304 unless the core set it (RFC 9110 §8.6: it must equal the
    # 200's).  204 preflights carry "Content-Length: 0" (CORS.md: Safari waited for a body).
    elif length is not None and not has_length and response.status != 304:
        parts += (b"content-length: ", b"%d" % length, b"\r\n")
        lines += 1
    if not keep:
        parts.append(b"connection: close\r\n")
        lines += 1
    parts.append(b"\r\n")
    head = b"".join(parts)
    if head.count(b"\n") != lines + 1 or head.count(b"\r") != lines + 1 or b"\0" in head:
        raise UnsafeResponse("refused to send a response header containing CR, LF or NUL")
    return head


class HeadCache:
    """`Date` header bytes (RFC 9110 §6.6.1, IMF-fixdate), formatted at most once a second,
    and the heads of shared responses rendered with that date (`Response.shared`): those are
    the same bytes for every request within the second, so they are rendered once."""

    HEADS_MAX = 1024

    def __init__(self, server: bytes) -> None:
        self.server = server
        self._second = -1
        self._value = b""
        # A head is a function of (status, headers, length, keep-alive) for a given date and
        # server: keyed by the identity of the headers tuple (held in the value, so the id
        # stays its own; bodies are not held).  Cleared when the second changes.
        self._heads: dict[tuple[int, int, int, bool], tuple[HeaderList, bytes]] = {}

    def date(self) -> bytes:
        """The `Date` value for now."""
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)).encode()
            self._heads = {}
        return self._value

    def head(
        self, response: Response, length: int | None, *, keep: bool, chunked: bool = False
    ) -> bytes:
        """`render_head` for now, memoised for shared responses (whose length is known)."""
        date = self.date()
        if not response.shared or length is None:
            return render_head(
                response, length, keep=keep, date=date, server=self.server, chunked=chunked
            )
        headers = response.headers
        key = (id(headers), response.status, length, keep)
        hit = self._heads.get(key)
        if hit is not None and hit[0] is headers:
            return hit[1]
        head = render_head(response, length, keep=keep, date=date, server=self.server)
        if len(self._heads) < self.HEADS_MAX:
            self._heads[key] = (headers, head)
        return head
