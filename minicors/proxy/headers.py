"""The headers a proxied request and its answer carry across minicors, as pure functions.

Hop-by-hop fields belong to one connection and are never forwarded (RFC 9110 §7.6.1:
`Connection` and every field it names, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`,
`Upgrade` outside an upgrade, `Proxy-*`).  minicors frames both messages itself, says who the
client was in `Forwarded` (RFC 7239) and `X-Forwarded-*` (replacing what a client claimed), and
maps what the upstream says about its own URLs and cookies onto minicors's origin.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..messages import HeaderList, Request
from .routes import ProxyRoute

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",  # not standard, still sent by some clients
    }
)
# What a client says about the route its request took is replaced, never trusted (the
# first four) or dropped (the rest, which other proxies set and upstreams read).
CLAIMS = frozenset(
    {
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-real-ip",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"x-forwarded-server",
    }
)
# Expect: 100-continue is answered by minicors itself (RFC 9110 §10.1.1); Host is set below.
# HTTP2-Settings belongs to an h2c upgrade (RFC 7540 §3.2.1), which is never forwarded.
REQUEST_DROP = HOP_BY_HOP | CLAIMS | {b"host", b"expect", b"http2-settings"}
# minicors sends its own Date and Server, and frames the body itself.
RESPONSE_DROP = HOP_BY_HOP | {b"date", b"server", b"content-length"}
WEBSOCKET_DROP = RESPONSE_DROP - {b"upgrade"}
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2: tchar is ASCII


def named_by_connection(value: bytes | None) -> frozenset[bytes]:
    """The field names a `Connection` header lists (RFC 9110 §7.6.1), lower-case."""
    if not value:
        return frozenset()
    return frozenset(t.strip(b" \t").lower() for t in value.split(b",") if t.strip(b" \t"))


def is_websocket(request: Request) -> bool:
    """An upgrade to WebSocket (RFC 6455 §4.1): `Upgrade: websocket` with `Connection:
    upgrade`, on GET."""
    upgrade = request.headers.get(b"upgrade")
    return (
        request.method == "GET"
        and upgrade is not None
        and b"websocket" in named_by_connection(upgrade)
        and b"upgrade" in named_by_connection(request.headers.get(b"connection"))
    )


def client_address(peer: str) -> str:
    """The IP address of `peer` ("1.2.3.4:5678" or "[::1]:5678")."""
    host = peer.rpartition(":")[0] if ":" in peer else peer
    return host[1:-1] if host.startswith("[") else host


def request_headers(
    request: Request, route: ProxyRoute, *, scheme: str, keep_host: bool, upgrade: bool
) -> list[tuple[bytes, bytes]]:
    """The fields sent upstream: the client's end-to-end fields, in their order and case,
    then Host, the forwarding fields and, for an upgrade, `Connection: upgrade`."""
    connection = request.headers.get(b"connection")
    drop = REQUEST_DROP | named_by_connection(connection) if connection else REQUEST_DROP
    out = []
    for name, value in request.raw_headers:
        low = name.lower()
        # A name with `_` goes: CGI and WSGI map `_` and `-` alike, so `X_Forwarded_For`
        # would reach the upstream as the forwarding field (nginx's underscores_in_headers).
        if low not in drop and not low.startswith(b"proxy-") and b"_" not in low:
            out.append((name, value))
    if request.body_stream is None and not request.body:
        # No body comes (none was framed): a stray Content-Length: 0 is left to the client.
        out = [(n, v) for n, v in out if n.lower() != b"content-length"]
    elif not any(n.lower() == b"content-length" for n, _ in out):
        # minicors frames the body itself (Transfer-Encoding is hop-by-hop, dropped above):
        # one Content-Length when it is all here, else chunked, never both (RFC 9112 §6.1-6.3).
        if request.body_stream is None:
            out.append((b"Content-Length", b"%d" % len(request.body)))
        else:
            out.append((b"Transfer-Encoding", b"chunked"))
    client_host = request.headers.get(b"host") or request.url.authority.encode("latin-1")
    host = client_host if keep_host and client_host else route.netloc.encode("ascii")
    address = client_address(request.peer)
    node = f'"[{address}]"' if ":" in address else address  # RFC 7239 §6: IPv6 is quoted
    forwarded = f"for={node};proto={scheme}"
    if client_host:
        forwarded += ";host=" + _quoted(client_host.decode("latin-1"))
    out += [
        (b"Host", host),
        (b"X-Forwarded-For", address.encode("ascii", "replace")),
        (b"X-Forwarded-Proto", scheme.encode("ascii")),
    ]
    if client_host:
        out.append((b"X-Forwarded-Host", client_host))
    out.append((b"Forwarded", forwarded.encode("latin-1")))
    if upgrade:
        # Only the WebSocket protocol is asked for, whatever else the client listed (h2c).
        out += [(b"Connection", b"upgrade"), (b"Upgrade", b"websocket")]
    return out


def _quoted(value: str) -> str:
    """A Forwarded parameter value (RFC 7239 §4): a token as it is, anything else quoted."""
    if TOKEN.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def response_headers(
    raw: Sequence[tuple[bytes, bytes]], route: ProxyRoute, *, public_origin: str, upgrade: bool
) -> tuple[HeaderList, int | None, bool]:
    """(the fields passed on, the upstream's Content-Length or None, whether it sent
    Access-Control-* fields, which minicors's policy replaces)."""
    connection = b", ".join(v for n, v in raw if n.lower() == b"connection")
    drop = (WEBSOCKET_DROP if upgrade else RESPONSE_DROP) | named_by_connection(connection)
    if upgrade:
        drop -= {b"upgrade"}
    out: list[tuple[bytes, bytes]] = []
    length: int | None = None
    cors = False
    # RFC 9112 §6.3 (3): with Transfer-Encoding, Content-Length is no length (the upstream's
    # connection frames it chunked), and a proxy removes it; trusting it splits the answer.
    encoded = any(n.lower() == b"transfer-encoding" for n, _ in raw)
    for name, value in raw:
        low = name.lower()
        if low == b"content-length" and value.strip().isdigit() and not encoded:
            length = int(value)
        if low in drop or low.startswith(b"proxy-"):
            continue
        if low.startswith(b"access-control-"):
            cors = True
            continue
        if low == b"location" or low == b"content-location":
            value = rewrite_location(value.decode("latin-1"), route, public_origin).encode(
                "latin-1"
            )
        elif low == b"set-cookie":
            value = without_domain(value, route.host, route)
        out.append((low, value))
    if upgrade:
        out.append((b"connection", b"upgrade"))
    return tuple(out), length, cors


def rewrite_location(value: str, route: ProxyRoute, public_origin: str) -> str:
    """A URL on the upstream, under the target's path, as the same resource under minicors's
    prefix (absolute stays absolute, an absolute path stays a path); anything else, a value
    that is not a URL too, as is."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return value
    if parts.scheme or parts.netloc:
        if f"{parts.scheme}://{parts.netloc}".lower() != route.origin.lower():
            return value
    elif not value.startswith("/") or value.startswith("//"):
        return value  # a relative reference resolves the same against minicors's URL
    base, path = route.base_path, parts.path
    if base and path != base and not path.startswith(base + "/"):
        return value
    prefix = "" if route.prefix == "/" else route.prefix
    mapped = (prefix + path[len(base) :]) or "/"
    if mapped.startswith(("//", "/\\")):
        # A browser reads `//host/x` (and `/\host/x`, WHATWG URL) as another host: the
        # path is only safe absolute, on minicors's own origin.
        return public_origin + mapped if public_origin else value
    if parts.query:
        mapped += "?" + parts.query
    if parts.fragment:
        mapped += "#" + parts.fragment
    return public_origin + mapped if parts.scheme or parts.netloc else mapped


def without_domain(cookie: bytes, host: str, route: ProxyRoute | None = None) -> bytes:
    """`Set-Cookie` without a `Domain=` naming the upstream's host (RFC 6265 §5.2.3: a leading
    dot is ignored), so the browser keeps the cookie for minicors's host instead; and with a
    `Path=` under the target's path mapped under the prefix, as a Location is (nginx's
    proxy_cookie_path)."""
    parts = cookie.split(b";")
    kept = [parts[0]]
    for attribute in parts[1:]:
        name, eq, value = attribute.partition(b"=")
        name = name.strip().lower()  # RFC 6265 §5.2: whitespace around the name is ignored
        if name == b"domain" and value.strip().lstrip(b".").lower() == host.encode():
            continue
        if name == b"path" and route is not None:
            path = value.strip().decode("latin-1")
            if path.startswith("/"):
                mapped = rewrite_location(path, route, "")
                if mapped != path and mapped.startswith("/") and "?" not in mapped:
                    attribute = attribute.partition(b"=")[0] + eq + mapped.encode("latin-1")
        kept.append(attribute)
    return b";".join(kept)
