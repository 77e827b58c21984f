"""The request and response values that travel between the server and the core.

The server builds one `Request` per h11 request cycle and writes back one `Response`.  Header
names arrive lower-cased from h11; values stay bytes until someone asks for one (decoding 100
headers nobody reads would be per-header work on the hot path).  Repeated header lines are
combined with ", " as RFC 9110 §5.3 allows, so a lookup is one dict access.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

HeaderList = tuple[tuple[bytes, bytes], ...]


# RFC 9112 §3.2.2: a server must accept the absolute form `http://host/path` too.
_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")


def origin_form(target: str) -> str:
    """`target` without an absolute form's scheme and authority (`http://h/a?q` -> `/a?q`,
    `http://h` -> `/`); any other target is returned as it is (`*`, or a bad one, stays as
    it is, for the caller to refuse)."""
    if target[:1] == "/":
        return target
    m = _ABSOLUTE_FORM.match(target)
    if m is None:
        return target
    rest = target[m.end() :]
    return rest if rest[:1] == "/" else "/" + rest


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

    `target` is the raw request-target; `path` and `query` are its two halves, still
    percent-encoded (routing decides how to decode).  `headers` maps lower-case names to
    combined values; `raw_headers` keeps the lines as received.
    """

    method: str
    target: str
    headers: dict[bytes, bytes] = field(default_factory=dict)
    raw_headers: Sequence[tuple[bytes, bytes]] = ()
    body: bytes = b""
    http_version: str = "1.1"
    peer: str = ""

    @property
    def path(self) -> str:
        """The path of the target, in origin form whatever form the target came in."""
        return origin_form(self.target).partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

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
        **kwargs: str,
    ) -> Request:
        """Convenience constructor for tests and library users (names are lower-cased)."""
        raw = tuple(
            (
                (n.encode("latin-1") if isinstance(n, str) else n).lower(),
                v.encode("latin-1") if isinstance(v, str) else v,
            )
            for n, v in headers
        )
        return cls(
            method=method,
            target=target,
            headers=combine_headers(raw),
            raw_headers=raw,
            body=body,
            **kwargs,
        )


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
    clients), pulling one chunk at a time so memory stays constant.  `close` is called when the
    server is done with it, sent or not.
    """

    chunks: Iterator[bytes]

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


Body = bytes | FileBody | StreamBody


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """A status, headers (name, value as bytes; names lower-case) and a body.

    `log_note` is appended to the access-log line (e.g. a CORS refusal reason).  The server
    adds `Date`, `Server`, `Content-Length` and, where needed, `Connection: close`.

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

    def with_headers(self, extra: Iterable[tuple[bytes, bytes]]) -> Response:
        return Response(
            status=self.status,
            headers=self.headers + tuple(extra),
            body=self.body,
            log_note=self.log_note,
        )

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
