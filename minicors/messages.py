"""The request and response values that travel between the server and the core.

The protocol builds one `Request` per request cycle and gets back one `Response`.  Header names
arrive lower-cased; values stay bytes until someone asks for one (decoding 100 headers nobody
reads would be per-header work on the hot path).  Repeated header lines are combined with ", "
as RFC 9110 §5.3 allows, so a lookup is one dict access.

The request-target is parsed once, here, into a `Target`: CORS routes, static files, the JSON
API and the memory cache all read the same segments, so no two of them can disagree about
which resource a path names.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, unquote

from .errors import HttpError, ProtocolError

HeaderList = tuple[tuple[bytes, bytes], ...]


# --- the request-target (RFC 9112 §3.2) ---------------------------------------------------------


class TargetForm(StrEnum):
    ORIGIN = "origin"  # /path?query: what browsers send
    ABSOLUTE = "absolute"  # http://host/path?query: a server MUST accept it (RFC 9112 §3.2.2)
    ASTERISK = "asterisk"  # *: OPTIONS for the server as a whole (RFC 9112 §3.2.4)


# RFC 3986 §3.3 pchar minus pct-encoded: what a browser leaves unescaped in a path segment.
PCHAR_SAFE = "!$&'()*+,;=:@-._~"
_ABSOLUTE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?]*)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A request-target read the one way every part of minicors reads it.

    `path` and `query` are as received (still percent-encoded; an absolute form's scheme and
    authority removed).  `segments` are the path split on `/` with empty segments dropped (`//`
    names nothing), each percent-decoded as UTF-8; bytes that are not UTF-8 stay as lone
    surrogates (`surrogateescape`), so they never match a real name.  `.` and `..` segments are
    kept as they are: browsers resolve them before sending, so only a crafted request has
    them, and static files refuse it.  `canonical` is the spelling a browser sends for these
    segments (single slashes, UTF-8 percent-encoded in upper-case hex), which is also what
    CORS route globs are matched against, so an encoded `/` stays inside its segment.
    """

    raw: str
    form: TargetForm
    path: str
    query: str
    segments: tuple[str, ...]
    trailing_slash: bool
    canonical: str
    authority: str = ""  # the absolute form's host[:port]


def quote_segment(segment: str) -> str:
    """A decoded path segment spelled as browsers send it (UTF-8, upper-case hex)."""
    return quote(segment, safe=PCHAR_SAFE, errors="surrogateescape")


def parse_target(raw: str) -> Target:
    """Parse a request-target, or raise `ProtocolError` (400) saying what is wrong with it."""
    if "#" in raw:
        raise ProtocolError(400, "the request-target contains '#' (fragments are never sent)")
    authority = ""
    if raw[:1] == "/":
        form, rest = TargetForm.ORIGIN, raw
    elif raw == "*":
        return Target(
            raw=raw,
            form=TargetForm.ASTERISK,
            path="",
            query="",
            segments=(),
            trailing_slash=False,
            canonical="*",
        )
    else:
        m = _ABSOLUTE.match(raw)
        if m is None:
            raise ProtocolError(
                400, "the request-target must be a path starting with '/' (RFC 9112 §3.2)"
            )
        if m.group(1).lower() not in ("http", "https"):
            raise ProtocolError(400, f"the request-target's scheme {m.group(1)!r} is not http(s)")
        form, authority, rest = TargetForm.ABSOLUTE, m.group(2), raw[m.end() :]
        if rest[:1] != "/":
            rest = "/" + rest
    path, _, query = rest.partition("?")
    segments = tuple(unquote(s, errors="surrogateescape") for s in path.split("/") if s)
    trailing = path.endswith("/")
    canonical = "/" + "/".join(quote_segment(s) for s in segments)
    if trailing and segments:
        canonical += "/"
    return Target(
        raw=raw,
        form=form,
        path=path,
        query=query,
        segments=segments,
        trailing_slash=trailing,
        canonical=canonical,
        authority=authority,
    )


_TARGETS: dict[str, Target] = {}
_TARGETS_MAX = 4096  # remembered targets; the memo is cleared when full
_TARGET_MEMO_MAX_CHARS = 512  # longer (hostile) targets are parsed but not kept


def target_of(raw: str) -> Target:
    """`parse_target`, remembered: a server sees the same few targets over and over."""
    known = _TARGETS.get(raw)
    if known is not None:
        return known
    target = parse_target(raw)
    if len(raw) <= _TARGET_MEMO_MAX_CHARS:
        if len(_TARGETS) >= _TARGETS_MAX:
            _TARGETS.clear()
        _TARGETS[raw] = target
    return target


# --- requests ------------------------------------------------------------------------------------


def combine_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Lower-cased name -> value, repeated lines joined with b", " (RFC 9110 §5.3).

    The common case (no repeated names) is a single C-level `dict()` call.
    """
    headers = dict(raw)
    if len(headers) != len(raw):
        headers = {}
        for name, value in raw:
            previous = headers.get(name)
            headers[name] = value if previous is None else previous + b", " + value
    return headers


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One HTTP request as the core sees it.

    `target` is the raw request-target (for the log); `url` is that target parsed once.
    `headers` maps lower-case names to combined values; `raw_headers` keeps the lines as
    received, names in their original case.
    """

    method: str
    target: str
    url: Target
    headers: dict[bytes, bytes] = field(default_factory=dict)
    raw_headers: Sequence[tuple[bytes, bytes]] = ()
    body: bytes = b""
    http_version: str = "1.1"
    peer: str = ""
    # A proxied request's body, streamed as it arrives instead of buffered in `body` (the
    # server reads it from the client as the consumer asks; --max-body-bytes does not apply).
    body_stream: AsyncIterable[bytes] | None = None

    @property
    def path(self) -> str:
        """The path of the target as received (percent-encoded), whatever form it came in."""
        return self.url.path

    @property
    def query(self) -> str:
        return self.url.query

    def header(self, name: bytes) -> str | None:
        """The combined value of header `name` (lower-case bytes), decoded as Latin-1."""
        value = self.headers.get(name)
        return None if value is None else value.decode("latin-1")

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str | bytes, str | bytes]] = (),
        body: bytes = b"",
        *,
        http_version: str = "1.1",
        peer: str = "",
    ) -> Request:
        """Convenience constructor for tests and library users (names are lower-cased)."""
        raw = tuple(
            (
                n.encode("latin-1") if isinstance(n, str) else n,
                v.encode("latin-1") if isinstance(v, str) else v,
            )
            for n, v in headers
        )
        return cls(
            method=method,
            target=target,
            url=parse_target(target),
            headers=combine_headers(tuple((n.lower(), v) for n, v in raw)),
            raw_headers=raw,
            body=body,
            http_version=http_version,
            peer=peer,
        )


# --- responses -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FileBody:
    """`length` bytes of the file at `path` starting at `offset`; the server streams it.

    `fd` may carry an already-open descriptor (so the file the core stat()ed is the file that
    is sent, even if it is replaced meanwhile); the server closes it after sending.
    """

    path: str
    offset: int
    length: int
    fd: int | None = None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamBody:
    """A body of unknown length produced chunk by chunk (e.g. on-the-fly gzip).

    The server sends it with `Transfer-Encoding: chunked` (or close-delimited to HTTP/1.0
    clients), pulling one chunk at a time so memory stays constant.  `blocking` says that
    producing a chunk does blocking work (reading and compressing a large file): the server
    then produces each chunk in a worker thread so the event loop never waits for it.
    `close` is called when the server is done with it, sent or not.
    """

    chunks: Iterator[bytes]
    blocking: bool = False

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveBody:
    """A body that follows events as they happen (server-sent events): each piece the async
    iterator yields is sent at once, however long the wait for the next one.

    The server does not time such a wait out (it waits on the app, not on the client), does
    not count it as a stalled client, and ends it at once on shutdown.  `aclose` is called
    when the server is done with it, however it ended.
    """

    pieces: AsyncIterator[bytes]
    length: int | None = None  # the total, when known (a proxied body): sent as Content-Length

    async def aclose(self) -> None:
        close = getattr(self.pieces, "aclose", None)
        if close is not None:
            await close()


@dataclass(frozen=True, slots=True, kw_only=True)
class TunnelBody:
    """After a `101 Switching Protocols` (a proxied WebSocket): the client's bytes go to `send`
    and what `receive` returns (b"" at its end) goes to the client, until either side ends;
    then `close` is called."""

    receive: Callable[[], Awaitable[bytes]]
    send: Callable[[bytes], Awaitable[None]]
    close: Callable[[], Awaitable[None]]


Body = bytes | FileBody | StreamBody | LiveBody | TunnelBody


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """A status, headers (name, value as bytes; names lower-case) and a body.

    `log_note` is appended to the access-log line (e.g. a CORS refusal reason).  The server
    adds `Date`, `Server`, the framing (`Content-Length` or chunked) and, where needed,
    `Connection: close`.

    `shared` marks an object that answers many requests as it is (a memoised preflight answer,
    a small file held in memory): what is derived from it (its CORS-annotated copy, its
    rendered head) may then be memoised by identity.  Such an object must never be mutated,
    and its body must be `bytes`.
    """

    status: int
    headers: HeaderList = ()
    body: Body = b""
    log_note: str = ""
    shared: bool = False

    def __post_init__(self) -> None:
        if self.shared and not isinstance(self.body, bytes):
            # A file or stream body is consumed by one send; reusing it would fail the next.
            raise ValueError("a shared Response needs a bytes body")

    def header(self, name: bytes) -> bytes | None:
        """The first value of header `name` (lower-case bytes), or None."""
        for n, v in self.headers:
            if n == name:
                return v
        return None


def text_response(
    status: int, text: str, *, headers: HeaderList = (), log_note: str = ""
) -> Response:
    """A `text/plain; charset=utf-8` response (errors, refusals)."""
    return Response(
        status=status,
        headers=((b"content-type", b"text/plain; charset=utf-8"), *headers),
        body=text.encode("utf-8"),
        log_note=log_note,
    )


_JSON = (b"content-type", b"application/json")
_NO_CACHE = (b"cache-control", b"no-cache")  # an API error must never be served from a cache


def error_response(error: HttpError, *, as_json: bool = False, log_note: str = "") -> Response:
    """The one way an error becomes an answer: `{"error": "..."}` under the JSON API, a line
    of plain text everywhere else; the error's own headers (Allow, ETag, ...) go along."""
    if as_json:
        value = {"error": error.message}
        try:
            body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:  # a lone surrogate from the request: \u escapes instead
            body = json.dumps(value, separators=(",", ":")).encode("ascii")
        return Response(
            status=error.status,
            headers=(_JSON, _NO_CACHE, *error.headers),
            body=body,
            log_note=log_note,
        )
    return text_response(
        error.status, error.message + "\n", headers=error.headers, log_note=log_note
    )


INTERNAL_ERROR = HttpError(500, "internal server error")
