"""The WebSocket opening handshake as minicors checks it on both sides (RFC 6455 §4), pure.

Only a WebSocket is piped: the client must send a key and version 13, and the upstream's 101
must name `websocket` and prove it read that key (`Sec-WebSocket-Accept`).  Anything else
(an `h2c` upgrade, a 101 from a server that did not speak WebSocket) would let raw client bytes
reach the upstream outside HTTP, past the prefix mapping and the forwarding fields.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence

from ..messages import Request

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
VERSION = b"13"  # RFC 6455 §4.1: the only version defined
KEY_BYTES = 16  # RFC 6455 §4.1: the key is 16 random bytes, base64-encoded


def handshake_problem(request: Request) -> str | None:
    """Why the client's upgrade cannot be forwarded (a 400 says so), or None."""
    key = request.headers.get(b"sec-websocket-key")
    if key is None or len(_decoded(key.strip())) != KEY_BYTES:
        return "a WebSocket upgrade needs a Sec-WebSocket-Key of 16 base64 bytes (RFC 6455 §4.1)"
    if request.headers.get(b"sec-websocket-version", b"").strip() != VERSION:
        return "a WebSocket upgrade needs Sec-WebSocket-Version: 13 (RFC 6455 §4.1)"
    return None


def accept_for(key: bytes) -> bytes:
    """The Sec-WebSocket-Accept that answers `key` (RFC 6455 §4.2.2)."""
    # SHA-1 is what the protocol names here (no secrecy rests on it): usedforsecurity=False.
    digest = hashlib.sha1(key.strip() + GUID, usedforsecurity=False).digest()
    return base64.b64encode(digest)


def accepted(raw: Sequence[tuple[bytes, bytes]], key: bytes) -> bool:
    """Whether the upstream's 101 fields switch to WebSocket for `key` (RFC 6455 §4.1, the
    client's checks 2-4: Upgrade websocket, Connection upgrade, the right Accept)."""
    fields: dict[bytes, list[bytes]] = {}
    for name, value in raw:
        fields.setdefault(name.lower(), []).append(value.strip())
    upgrade = fields.get(b"upgrade", [])
    connection = b",".join(fields.get(b"connection", [])).lower()
    return (
        len(upgrade) == 1
        and upgrade[0].lower() == b"websocket"
        and b"upgrade" in {t.strip() for t in connection.split(b",")}
        and fields.get(b"sec-websocket-accept") == [accept_for(key)]
    )


def without_credentials(request: Request, cors_headers: Sequence[tuple[bytes, bytes]]) -> Request:
    """`request` without `Cookie` and `Authorization` when it is a cross-origin WebSocket
    handshake the policy allows without credentials (`cors_headers` lack
    Access-Control-Allow-Credentials: true): a page fetch()ing there could not send them either
    (Fetch §3.2.5), but a browser attaches cookies to every WebSocket handshake."""
    if (b"access-control-allow-credentials", b"true") in cors_headers:
        return request
    origin, host = request.headers.get(b"origin"), request.headers.get(b"host")
    if origin is not None and host is not None and origin.partition(b"://")[2] == host.lower():
        return request  # the page's own origin: its cookies are its own, no CORS applies
    secret = (b"cookie", b"authorization")
    raw = tuple((n, v) for n, v in request.raw_headers if n.lower() not in secret)
    headers = {n: v for n, v in request.headers.items() if n not in secret}
    return dataclasses.replace(request, raw_headers=raw, headers=headers)


def _decoded(key: bytes) -> bytes:
    try:
        return base64.b64decode(key, validate=True)
    except ValueError:
        return b""
