"""The proxy's I/O: a request forwarded to its upstream with httpcore, the answer streamed back.

httpcore is httpx's own transport without the client layers minicors does not use (the cookie
jar, auth, redirects, model conversions); it runs natively under trio.  One pool per route
(`minicors.proxypool`) keeps that upstream's connections alive, bounded
(`ProxyOptions.pool_connections`), and verifies its certificate against the system's trust
store plus minicors's own CA (so a second minicors behind `--tls` is trusted), unless
`--proxy-insecure` named it.  Bodies stream both ways: the request's as the server reads it
from the client (`Request.body_stream`; one within --max-body-bytes is read whole first, so a
slow uploader holds no pool slot, and a bigger one streams outside the pool), the answer's
as a `LiveBody` whose pieces are the upstream's raw bytes (its Content-Encoding passed on
untouched), so memory stays constant whatever the size.  Loaded only when `--proxy` is given.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, cast

import anyio
import httpcore

from .errors import HttpError, PeerGone
from .messages import LiveBody, Request, Response, TunnelBody, error_response, text_response
from .proxy import (
    ProxyOptions,
    ProxyRoute,
    accepted,
    handshake_problem,
    is_websocket,
    request_headers,
    response_headers,
    upstream_url,
)
from .proxypool import UpstreamPool

log = logging.getLogger("minicors.proxy")

READ_CHUNK = 64 * 1024  # bytes asked of an upgraded (WebSocket) upstream per read
SMALL_BODY = 64 * 1024  # an answer of at most this many bytes (by Content-Length) is read whole
KEEPALIVE_EXPIRY_S = 5.0  # an idle upstream connection is closed after this long
CAUSES_MAX = 8  # how deep the chain of causes behind an upstream error is searched
# What httpcore raises when the exchange with the upstream fails (its errors share no base).
UPSTREAM_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
)


class UpstreamBroke(PeerGone):
    """The upstream stopped mid-answer, or sent more or less than its Content-Length: the
    client's connection is closed rather than the body ended as if complete, or followed by
    bytes a client would read as the next response (the message goes to the access log)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class Proxy:
    """Forwards requests under the configured prefixes (see the module docstring)."""

    def __init__(
        self, options: ProxyOptions, *, scheme: str, max_body_bytes: int | None = None
    ) -> None:
        self.options = options
        self.scheme = scheme  # how clients reach minicors (X-Forwarded-Proto, Location)
        # A request body up to this size is read before a pool slot is taken (None: streamed).
        self.max_body_bytes = max_body_bytes
        self._pools: dict[str, UpstreamPool] = {}
        self._told_cors: set[str] = set()  # upstreams whose own CORS headers were reported
        t = options.timeout_s  # --proxy-timeout bounds each step: connect, every read and write
        self._timeouts: dict[str, Any] = {
            "timeout": {"connect": t, "read": t, "write": t, "pool": t}
        }

    def streams_body(self, request: Request) -> bool:
        return self.options.match(request.url) is not None

    def _pool(self, route: ProxyRoute, *, upgrade: bool) -> UpstreamPool:
        """The route's pool; WebSockets get one of their own, since each holds its upstream
        connection for as long as it is open (bounded by --max-connections, not the pool)."""
        key = ("ws:" if upgrade else "") + route.prefix
        pool = self._pools.get(key)
        if pool is None:
            pool = UpstreamPool(
                ssl_context=None if route.scheme == "http" else _context(route.insecure),
                size=None if upgrade else self.options.pool_connections,
                keepalive_s=KEEPALIVE_EXPIRY_S,
            )
            self._pools[key] = pool
        return pool

    async def forward(self, request: Request, route: ProxyRoute) -> Response:
        """The upstream's answer to `request`, or a 502/504 that says what went wrong."""
        try:
            url = upstream_url(route, request.url)
        except HttpError as exc:
            return error_response(exc)
        upgrade = is_websocket(request)
        problem = handshake_problem(request) if upgrade else None
        if problem is not None:
            return text_response(400, f"minicors: {problem}\n", log_note="bad websocket")
        big = False
        if request.body_stream is not None and self.max_body_bytes is not None:
            request, big = await _buffered(request, request.body_stream, self.max_body_bytes)
        headers = request_headers(
            request, route, scheme=self.scheme, keep_host=self.options.keep_host, upgrade=upgrade
        )
        # A body too big to hold streams on a connection outside the bounded pool, as a
        # WebSocket does (--max-connections bounds both), so slow uploads starve no one.
        pool = self._pool(route, upgrade=upgrade or big)
        content = request.body_stream if request.body_stream is not None else request.body
        started = time.monotonic()
        try:
            outgoing = httpcore.Request(
                request.method,
                url,
                headers=headers,
                content=content or None,
                extensions=self._timeouts,
            )
            answer = await pool.send(outgoing)
        except httpcore.TimeoutException:
            what = f"did not answer within {self.options.timeout_s:g} s (--proxy-timeout)"
            return _failure(504, route, what, "timeout")
        except httpcore.ConnectError as exc:
            return _failure(502, route, f"could not be reached ({_reason(exc)})", "refused")
        except UPSTREAM_ERRORS as exc:
            return _failure(502, route, f"failed before answering ({_reason(exc)})", "failed")
        status = answer.status
        elapsed_ms = (time.monotonic() - started) * 1000
        note = f"upstream {status} in {elapsed_ms:.0f} ms"
        host = request.headers.get(b"host") or request.url.authority.encode("latin-1")
        key = request.headers.get(b"sec-websocket-key", b"")
        if status == 101 and not (upgrade and accepted(answer.headers, key)):
            # Piping a switch that is not the WebSocket asked for would hand the client's raw
            # bytes to the upstream (RFC 6455 §4.1: the client fails such a handshake).
            await _close_switched(answer)
            what = "answered 101 without a valid WebSocket handshake (RFC 6455 §4.2.2)"
            return _failure(502, route, what, "bad switch")
        switched = status == 101
        fields, length, had_cors = response_headers(
            answer.headers,
            route,
            # (No Host, as from an HTTP/1.0 client: a rewritten URL stays a path.)
            public_origin=f"{self.scheme}://{host.decode('latin-1')}" if host else "",
            upgrade=switched,
        )
        if had_cors and route.prefix not in self._told_cors:
            self._told_cors.add(route.prefix)
            log.warning(
                "%s sends its own Access-Control-* headers: minicors removes them and applies "
                "its policy for %s (two layers of CORS headers break in browsers)",
                route.origin,
                route.prefix,
            )
        if switched:
            return Response(
                status=101, headers=fields, body=_tunnel(answer), log_note=note + " websocket"
            )
        if request.method == "HEAD" or status in (204, 304):
            # No body follows (RFC 9110 §9.3.2, §15.3.5, §15.4.5); the Content-Length the
            # upstream gave describes the resource, so it goes along as it is.
            await answer.aclose()
            if length is not None and status != 204:
                fields += ((b"content-length", b"%d" % length),)
            elif request.method == "HEAD" and status not in (204, 304):
                # The GET's body would stream chunked, and a HEAD's head is the GET's (RFC 9110
                # §9.3.2): an empty live body of no length says so, not `Content-Length: 0`.
                body = LiveBody(pieces=_no_pieces(), length=None)
                return Response(status=status, headers=fields, body=body, log_note=note)
            return Response(status=status, headers=fields, log_note=note)
        pieces = UpstreamBody(answer, route, length)
        if length is not None and length <= SMALL_BODY:
            # A small answer is read whole: it then leaves with its head in one write.  The
            # body refuses more bytes than declared, so this holds at most one read more.
            try:
                data = b"".join([piece async for piece in pieces])
            except UpstreamBroke as exc:
                return _failure(502, route, f"broke off its answer ({exc.detail})", "broke off")
            finally:
                await answer.aclose()
            return Response(status=status, headers=fields, body=data, log_note=note)
        body = LiveBody(pieces=pieces, length=length)
        return Response(status=status, headers=fields, body=body, log_note=note)

    async def hold(self) -> None:
        """Run for as long as the server serves; then close every upstream connection."""
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                for pool in self._pools.values():
                    await pool.aclose()
                self._pools.clear()


async def _buffered(
    request: Request, stream: AsyncIterable[bytes], limit: int
) -> tuple[Request, bool]:
    """`request` with its body read whole when it is at most `limit` bytes (nginx's
    proxy_request_buffering): a slow client then holds no upstream connection while it
    uploads.  Else (request, True) with the pieces read so far put back before the rest."""
    pieces = aiter(stream)
    held: list[bytes] = []
    size = 0
    while size <= limit:  # each read is under the server's body deadline
        try:
            piece = await anext(pieces)
        except StopAsyncIteration:
            return dataclasses.replace(request, body=b"".join(held), body_stream=None), False
        held.append(piece)
        size += len(piece)
    return dataclasses.replace(request, body_stream=_chained(held, pieces)), True


async def _chained(held: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The pieces already read, then the rest of the body."""
    while held:  # bounded by what was held
        yield held.pop(0)
    async for piece in rest:
        yield piece


class UpstreamBody:
    """The upstream's body as raw pieces; closing it before its end closes that upstream
    connection (so a client that goes away cancels the upstream's answer)."""

    def __init__(self, answer: httpcore.Response, route: ProxyRoute, length: int | None) -> None:
        self._answer = answer
        self._route = route
        self._length = length  # the declared Content-Length, held to (RFC 9112 §6.3 (5))
        self._seen = 0
        # Each read as it comes (an event stream too), from the pool's body itself.
        self._pieces = aiter(cast("AsyncIterable[bytes]", answer.stream))

    def __aiter__(self) -> UpstreamBody:
        return self

    async def __anext__(self) -> bytes:
        origin = self._route.origin
        try:
            piece = await anext(self._pieces)
        except httpcore.TimeoutException:
            raise UpstreamBroke(f"upstream {origin} stalled mid-body", "stalled") from None
        except UPSTREAM_ERRORS as exc:
            why = _reason(exc)
            raise UpstreamBroke(f"upstream {origin} broke off mid-body ({why})", why) from None
        except StopAsyncIteration:
            if self._length is not None and self._seen != self._length:
                why = f"{self._seen} of its Content-Length {self._length} bytes came"
                raise UpstreamBroke(f"upstream {origin}: {why}", why) from None
            raise
        self._seen += len(piece)
        if self._length is not None and self._seen > self._length:
            why = f"more than its Content-Length {self._length} bytes came"
            raise UpstreamBroke(f"upstream {origin}: {why}", why)
        return piece

    async def aclose(self) -> None:
        await self._answer.aclose()


async def _no_pieces() -> AsyncIterator[bytes]:
    """A body with nothing in it (a HEAD answer's)."""
    empty: tuple[bytes, ...] = ()
    for piece in empty:
        yield piece


async def _close_switched(answer: httpcore.Response) -> None:
    """Close a switched upstream connection that is not piped."""
    stream = answer.extensions.get("network_stream")
    if stream is not None:
        await stream.aclose()
    await answer.aclose()


def _tunnel(answer: httpcore.Response) -> TunnelBody:
    """The upgraded connection to the upstream as a `TunnelBody` (its errors end it)."""
    stream = answer.extensions["network_stream"]

    async def receive() -> bytes:
        try:
            data: bytes = await stream.read(READ_CHUNK)
        except Exception:  # any failure of the upstream ends the pipe
            return b""
        return data

    async def send(data: bytes) -> None:
        try:
            await stream.write(data)
        except Exception:  # the next receive ends the pipe
            log.debug("websocket upstream write failed")

    async def close() -> None:
        await stream.aclose()
        await answer.aclose()

    return TunnelBody(receive=receive, send=send, close=close)


def _failure(status: int, route: ProxyRoute, what: str, note: str) -> Response:
    """A failure the browser can read (the policy adds its CORS headers): which upstream, and
    what happened."""
    return text_response(
        status,
        f"minicors: the upstream {route.target} (for {route.prefix}) {what}\n",
        headers=((b"cache-control", b"no-store"),),
        log_note=f"upstream {note}",
    )


def _reason(exc: BaseException) -> str:
    """What went wrong, in one short line: httpcore's error, or the one beneath it."""
    chain: list[BaseException] = [exc]
    while len(chain) < CAUSES_MAX and (chain[-1].__cause__ or chain[-1].__context__):
        chain.append(chain[-1].__cause__ or chain[-1].__context__)  # type: ignore[arg-type]
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"CERTIFICATE_VERIFY_FAILED: {cause.verify_message}; "
                "--proxy-insecure PREFIX turns the check off for it"
            )
    text = next((str(c) for c in chain if str(c)), type(exc).__name__)
    return text.splitlines()[0][:200]


_TRUST: ssl.SSLContext | None = None


def _context(insecure: bool) -> ssl.SSLContext:
    """The TLS context for an https upstream: verified (`_trust`), or, for a route that
    --proxy-insecure named, one that checks neither the certificate nor the host name."""
    if not insecure:
        return _trust()
    context = ssl.create_default_context()
    context.check_hostname = False  # (before verify_mode: ssl refuses the other order)
    context.verify_mode = ssl.CERT_NONE
    return context


def _trust() -> ssl.SSLContext:
    """The system's trust store plus minicors's local CA when it exists (made once)."""
    global _TRUST  # one context for every verified upstream
    if _TRUST is None:
        context = ssl.create_default_context()
        from .tls import CA_CERT, ca_home  # the CA's location only; nothing is created

        ca = os.path.join(ca_home(), CA_CERT)
        if os.path.exists(ca):
            context.load_verify_locations(ca)
        _TRUST = context
    return _TRUST
