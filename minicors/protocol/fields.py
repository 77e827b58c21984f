"""What h11 parsed from a head, checked further, and h11's refusals put in words.

h11 validates the grammar of a head; these checks add what a strict server refuses beyond it
(a bad Host, a Content-Length on two lines, Transfer-Encoding rules of RFC 9112 §6.1 and §6.3,
folded lines h11 silently joined, CONNECT) and decide the body's framing.  Every refusal is a
`ProtocolError` whose message says in words what was wrong, chosen in stream order: the
request line first, then the bytes of the lines, then what the fields mean, so a head gets
the same answer however its bytes were split.
"""

from __future__ import annotations

import re

import h11

from ..errors import ProtocolError
from ..messages import Request, TargetForm, combine_headers, target_of
from .screen import (
    check_request_line,
    describe_fault,
    describe_field_fault,
    has_token,
    valid_host,
)

LENGTH_TWICE = "Content-Length must be sent once, as one number (RFC 9112 §6.3)"
_CL_LINE = re.compile(rb"\r\ncontent-length:([^\r]*)", re.IGNORECASE)
_TE_LINE = re.compile(rb"\r\ntransfer-encoding:([^\r]*)", re.IGNORECASE)
_VALID_HOSTS: set[bytes] = set()  # Host values already found valid (bounded below)
_VALID_HOSTS_MAX = 1024


# How a checked request's body is framed and what its connection wants, as a plain tuple
# (built once per request): (chunked, Content-Length or 0, keep-alive per RFC 9112 §9.3,
# `Expect: 100-continue` in HTTP/1.1).
Framing = tuple[bool, int, bool, bool]


def check_fields(
    event: h11.Request, head: bytes, lines: int, max_body_bytes: int, peer: str
) -> tuple[Request, Framing]:
    """The request (its body still to come when the framing has one) and its framing, or
    `ProtocolError`.  `lines` counts the head's CRLF-ended lines."""
    method, version = event.method, event.http_version
    target = event.target.decode("ascii")
    if version != b"1.1" and version != b"1.0":
        raise ProtocolError(505, f"HTTP/{version.decode()} is not supported; use HTTP/1.1")
    raw = event.headers.raw_items()
    if lines != len(raw) + 2:
        # h11 joined folded lines into one field (RFC 9112 §5.2 obs-fold; it also merges
        # repeated equal Content-Length lines): say which.
        raise ProtocolError(400, describe_fault(head) or LENGTH_TWICE)
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
    if url.form is TargetForm.ASTERISK and method != b"OPTIONS":
        raise ProtocolError(400, "'*' is a request-target only for OPTIONS (RFC 9112 §3.2.4)")
    http11 = version == b"1.1"
    connection = headers.get(b"connection")
    te = headers.get(b"transfer-encoding")
    length = headers.get(b"content-length")
    size = 0
    if te is not None:
        if length is not None:
            # RFC 9112 §6.1: such a message may be a smuggling attempt; refuse, then close.
            raise ProtocolError(400, "both Content-Length and Transfer-Encoding were sent")
        if not http11:
            raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")
    elif length is not None:
        _check_length_lines(head)
        size = int(length)
        if size > max_body_bytes:
            # Refused before reading (and before any 100 Continue: RFC 9110 §10.1.1).
            raise ProtocolError(413, f"request body larger than {max_body_bytes} bytes")
    expect = headers.get(b"expect")
    request = Request(
        method=method.decode("ascii"),
        target=target,
        url=url,
        headers=headers,
        raw_headers=raw,
        http_version=version.decode("ascii"),
        peer=peer,
    )
    return request, (
        te is not None,
        size,
        http11 and (connection is None or not has_token(connection, b"close")),
        http11 and expect is not None and has_token(expect, b"100-continue"),
    )


def _combined(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Headers with repeated names, refusing repeats that make a request ambiguous."""
    lowered = [(name.lower(), value) for name, value in raw]
    names = [name for name, _ in lowered]
    if names.count(b"host") > 1:
        raise ProtocolError(400, "more than one Host header (RFC 9112 §3.2)")
    return combine_headers(lowered)


def _check_length_lines(head: bytes) -> None:
    """One Content-Length field line holding one number (h11 merges `5, 5` and repeated equal
    lines; RFC 9112 §6.3 lets a server refuse both, and a front end may read them otherwise)."""
    values = _CL_LINE.findall(head)
    if len(values) > 1 or b"," in values[0]:
        raise ProtocolError(400, LENGTH_TWICE)


def h11_refusal(exc: h11.RemoteProtocolError, head: bytes) -> ProtocolError:
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
    if "multiple Host" in text:
        return ProtocolError(400, "more than one Host header (RFC 9112 §3.2)")
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
