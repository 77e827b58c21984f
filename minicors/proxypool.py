"""One upstream's kept-alive connections for the proxy: httpcore's HTTP/1.1 connections, lent
one request at a time.

httpcore's own `AsyncConnectionPool` rescans every connection for every queued request each
time a request starts or ends (and counts its idle connections once per idle connection), so
with many clients waiting its bookkeeping costs more than the exchange itself.  Here a request
first waits for one of `size` slots, then takes the most recently used idle connection (the
one whose socket is likeliest still open) or opens a new one: constant work per request, and
never more than `size` connections to the upstream.  Everything on the wire (connecting, TLS,
h11, timeouts, a kept-alive socket the upstream closed meanwhile) is httpcore's.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator

import anyio
import httpcore


class UpstreamPool:
    """At most `size` connections to one upstream (None: one per request, none kept, for
    WebSocket upgrades, which hold theirs until they end)."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None, size: int | None, keepalive_s: float
    ) -> None:
        self._ssl_context = ssl_context
        self._keepalive_s = keepalive_s
        self._slots = anyio.Semaphore(size) if size is not None else None
        self._idle: list[httpcore.AsyncHTTPConnection] = []  # the most recently used last

    async def send(self, request: httpcore.Request) -> httpcore.Response:
        """The upstream's answer; its body must be closed (`aclose`), which gives the
        connection back."""
        slots = self._slots
        if slots is not None:
            try:
                slots.acquire_nowait()  # (a deadline costs more than the request when free)
            except anyio.WouldBlock:
                await _wait_for(slots, request.extensions["timeout"]["pool"])
        connection = None
        try:
            connection = await self._take(request.url.origin)
            response = await connection.handle_async_request(request)
        except BaseException:
            with anyio.CancelScope(shield=True):
                if connection is not None:
                    await connection.aclose()
                if slots is not None:
                    slots.release()
            raise
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_Lent(self, connection, response),
            extensions=response.extensions,
        )

    async def _take(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        """An idle connection still usable, or a new one (it connects on its first request)."""
        while self._idle:
            connection = self._idle.pop()
            # An idle socket the upstream closed reads as expired (httpcore checks it).
            if connection.is_idle() and not connection.has_expired():
                return connection
            await connection.aclose()
        return httpcore.AsyncHTTPConnection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_s,
            http1=True,
            http2=False,
            retries=0,  # a request is sent once: a retried POST could act twice
        )

    async def _give_back(self, connection: httpcore.AsyncHTTPConnection) -> None:
        """After a body was closed: keep its connection if it can serve again; close the
        oldest idle ones whose keep-alive ran out."""
        if self._slots is not None and connection.is_idle():
            self._idle.append(connection)
        else:
            await connection.aclose()
        while self._idle and self._idle[0].has_expired():
            await self._idle.pop(0).aclose()
        if self._slots is not None:
            self._slots.release()

    async def aclose(self) -> None:
        """Close the idle connections (one lent out closes with its body)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.aclose()


async def _wait_for(slots: anyio.Semaphore, timeout_s: float) -> None:
    """A slot, waited for no longer than the request's pool timeout (--proxy-timeout)."""
    try:
        with anyio.fail_after(timeout_s):
            await slots.acquire()
    except TimeoutError:
        raise httpcore.PoolTimeout("no upstream connection became free") from None


class _Lent:
    """A response body whose closing hands its connection back to the pool (once)."""

    def __init__(
        self,
        pool: UpstreamPool,
        connection: httpcore.AsyncHTTPConnection,
        response: httpcore.Response,
    ) -> None:
        self._pool: UpstreamPool | None = pool
        self._connection = connection
        self._response = response

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The connection's own iterator, not a generator around it: one layer less per piece.
        stream = self._response.stream
        assert isinstance(stream, AsyncIterable)  # noqa: S101 - an async connection's body
        return aiter(stream)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self._response.aclose()  # an unread rest closes the connection
            finally:
                await pool._give_back(self._connection)
