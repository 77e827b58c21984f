"""Listening sockets, the accept loop, the connection limit and graceful shutdown.

`serve` is trio-native: `await nursery.start(serve, config)` binds, reports the bound address,
and serves until cancelled or until its `shutdown` event is set.  Each accepted connection is
one task (`ConnectionTask`).  At the connection limit, a new connection does not wait behind
clients that hold their slot without making progress: the connection that has waited longest
on its peer (an idle keep-alive one first, else one stalled for a second or more on its head,
body or a blocked write) is shed to make room; only when every connection is busy does the
newcomer wait in the kernel's accept backlog.
"""

from __future__ import annotations

import errno
import logging
import math
import select
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from ..accesslog import AccessLog
from ..app import App
from ..config import Config
from ..errors import ConfigError
from ..protocol import HeadCache, Phase
from ..version import __version__
from .connection import App as AppCallable
from .connection import ConnectionTask
from .tls import TlsTransport
from .transport import SocketTransport, Transport

log = logging.getLogger("minicors.server")

BACKLOG = 1024
SHED_AFTER_S = 1.0  # a busy connection may be shed once it has waited this long on its peer
FULL_POLL_S = 0.1  # at the limit: how often to look for a newcomer waiting in the backlog
# Accept errors that mean "out of a resource, try again soon" (as trio's serve_listeners).
ACCEPT_RETRY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


@dataclass(frozen=True, slots=True)
class BoundAddress:
    """Where the server listens; `url` brackets IPv6 hosts (`http://[::1]:8000`)."""

    host: str
    port: int
    scheme: str = "http"  # "https" with --tls

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


class Server:
    """One listening server.  `shutdown()` starts a graceful stop: stop accepting, close idle
    connections now, let busy ones finish their response (then close) within the grace
    period, then cancel whatever is left."""

    def __init__(
        self,
        config: Config,
        *,
        app: AppCallable | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self.config = config
        self.app: AppCallable = app if app is not None else App(config)
        # The app's long-running duties (the API file's poll, the --reload watcher).
        self._jobs: list[Callable[[], Awaitable[None]]] = (
            self.app.background() if isinstance(self.app, App) else []
        )
        self.access_log = access_log or AccessLog(enabled=config.access_log)
        self.tasks: set[ConnectionTask] = set()
        self.shutdown_event = trio.Event()
        self.heads = HeadCache(f"minicors/{__version__}".encode())
        self._slots = trio.Semaphore(config.limits.max_connections)
        self._warned_full = False
        self._stopping = False
        self._all_closed = trio.Event()  # set when the last connection ends after shutdown
        self._tls: ssl.SSLContext | None = None
        if config.tls is not None:
            from ..tls import server_context  # only loaded with --tls

            self._tls = server_context(config.tls, config.host)
        self._url = ""

    def shutdown(self) -> None:
        self.shutdown_event.set()

    def stopping(self) -> bool:
        return self._stopping

    async def bind(self) -> list[trio.SocketListener]:
        config = self.config
        try:
            listeners = await trio.open_tcp_listeners(
                config.port, host=config.host, backlog=BACKLOG
            )
        except OSError as exc:
            raise bind_error(config, exc) from None
        # A host name resolving to several addresses with --port 0 gets one port per socket;
        # keep the first so the printed URL is the whole truth.
        if config.port == 0 and len(listeners) > 1:
            for extra in listeners[1:]:
                extra.socket.close()
            listeners = listeners[:1]
        return listeners

    async def serve(
        self,
        *,
        listeners: list[trio.SocketListener] | None = None,
        task_status: trio.TaskStatus[BoundAddress] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        if listeners is None:
            listeners = await self.bind()
        sockname = listeners[0].socket.getsockname()
        scheme = "https" if self._tls is not None else "http"
        address = BoundAddress(host=sockname[0], port=sockname[1], scheme=scheme)
        self._url = address.url
        try:
            async with trio.open_nursery() as nursery:
                for job in self._jobs:
                    nursery.start_soon(job)
                async with trio.open_nursery() as connections:
                    for listener in listeners:
                        connections.start_soon(self._accept_loop, listener, connections)
                    task_status.started(address)
                    await self.shutdown_event.wait()
                    # Stop accepting, close what is idle, give the rest the grace period.
                    _close_all(listeners)
                    self._stopping = True
                    for task in list(self.tasks):
                        # Idle connections and event streams would only hold the grace period.
                        if task.protocol.phase is Phase.IDLE or task.live:
                            task.deadline.scope.cancel()
                    with trio.move_on_after(self.config.limits.grace_period_s):
                        if self.tasks:
                            await self._all_closed.wait()
                    connections.cancel_scope.cancel()
                nursery.cancel_scope.cancel()
        finally:
            _close_all(listeners)  # synchronous: cancellation cannot leave one open

    async def serve_until_signals(
        self,
        signums: tuple[int, ...],
        *,
        listeners: list[trio.SocketListener] | None = None,
        task_status: trio.TaskStatus[BoundAddress] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """`serve` until one of `signums` arrives, then stop gracefully (the grace period);
        a second signal stops at once."""
        with trio.open_signal_receiver(*signums) as signals:
            async with trio.open_nursery() as nursery:

                async def serve_then_stop(
                    *, task_status: trio.TaskStatus[BoundAddress] = trio.TASK_STATUS_IGNORED
                ) -> None:
                    await self.serve(listeners=listeners, task_status=task_status)
                    nursery.cancel_scope.cancel()  # served out: stop waiting for signals

                task_status.started(await nursery.start(serve_then_stop))
                async for _ in signals:
                    if self.shutdown_event.is_set():
                        nursery.cancel_scope.cancel()  # second signal: stop now
                    self.shutdown()

    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        while True:
            try:
                # No scheduler pass when a slot is free: under load the accept loop otherwise
                # gets one turn per batch and new connections pile up (p99 tails).
                self._slots.acquire_nowait()
            except trio.WouldBlock:
                await self._make_room(listener)
            try:
                stream = await listener.accept()
            except OSError as exc:
                self._slots.release()
                if exc.errno in ACCEPT_RETRY_ERRNOS:
                    log.warning("minicors: accept failed (%s); retrying", exc.strerror)
                    await trio.sleep(0.1)
                    continue
                raise
            except trio.ClosedResourceError:
                self._slots.release()
                return  # shutdown closed the listener: stop accepting
            except trio.Cancelled:
                self._slots.release()
                raise
            nursery.start_soon(self._handle, stream.socket)

    async def _make_room(self, listener: trio.SocketListener) -> None:
        """Wait for a free slot.  While none is free, whenever a newcomer waits in the
        backlog, shed the connection that has waited longest on its peer."""
        if not self._warned_full:
            self._warned_full = True
            log.warning(
                "minicors: %d connections open (the --max-connections limit); connections "
                "that wait on their client are closed to make room for new ones",
                self.config.limits.max_connections,
            )
        while True:
            with trio.move_on_after(FULL_POLL_S):
                await self._slots.acquire()
                return
            if _has_pending(listener.socket):
                victim = self._victim()
                if victim is not None:
                    log.debug("minicors: shedding %s (waits on its client)", victim.peer)
                    victim.deadline.scope.cancel()

    def _victim(self) -> ConnectionTask | None:
        """Idle keep-alive connections first (longest idle first), then connections stalled on
        their peer for at least SHED_AFTER_S (longest first)."""
        now = trio.current_time()
        best: ConnectionTask | None = None
        best_key = (2, math.inf)
        for task in self.tasks:
            if task.deadline.scope.cancel_called:
                continue
            since = task.deadline.waiting_since
            if task.protocol.phase is Phase.IDLE and since != math.inf:
                key = (0, since)
            elif since < now - SHED_AFTER_S:
                key = (1, since)
            else:
                continue
            if key < best_key:
                best, best_key = task, key
        return best

    async def _handle(self, sock: trio.socket.SocketType) -> None:
        try:
            # trio sets TCP_NODELAY already; say it here too, since the one-write responses
            # depend on it (no Nagle delay on the last segment).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
            task = ConnectionTask(
                app=self.app,
                limits=self.config.limits,
                access_log=self.access_log,
                heads=self.heads,
                peer=_peer_text(sock),
                stopping=self.stopping,
            )
            send_timeout_s = self.config.limits.send_timeout_s
            transport: Transport
            if self._tls is None:
                transport = SocketTransport(sock, task.deadline, send_timeout_s)
            else:
                transport = TlsTransport(
                    sock, self._tls, task.deadline, send_timeout_s, url=self._url, peer=task.peer
                )
            self.tasks.add(task)
            try:
                await task.run(transport)
            finally:
                self.tasks.discard(task)
                if not self.tasks and self._stopping:
                    self._all_closed.set()
        except OSError as exc:
            log.debug("connection ended with %s", exc)
        finally:
            self._slots.release()
            if self._slots.value > 0:
                self._warned_full = False


def _has_pending(sock: trio.socket.SocketType) -> bool:
    """Whether a connection waits in the listening socket's backlog (it is readable)."""
    try:
        readable, _, _ = select.select([sock.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(readable)


def _close_all(listeners: list[trio.SocketListener]) -> None:
    for listener in listeners:
        listener.socket.close()


def _peer_text(sock: trio.socket.SocketType) -> str:
    try:
        peer = sock.getpeername()
    except OSError:
        return "-"
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind_error(config: Config, exc: OSError) -> ConfigError:
    where = f"{config.host}:{config.port}"
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            f"port {config.port} on {config.host} is already in use; "
            "stop the other server or choose another port (--port 0 picks a free one)"
        )
    if exc.errno == errno.EACCES:
        return ConfigError(
            f"not allowed to listen on {where} (ports below 1024 need privileges); "
            "use a port of 1024 or above"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return ConfigError(
            f"cannot listen on {where}: the address is not on this machine; "
            "use --host 127.0.0.1, ::1 or an address this machine has"
        )
    if isinstance(exc, socket.gaierror):
        return ConfigError(
            f"cannot resolve host {config.host!r}; use an IP address such as 127.0.0.1"
        )
    return ConfigError(f"cannot listen on {where}: {exc.strerror or exc}; check --host/--port")


async def serve(
    config: Config,
    shutdown: trio.Event | None = None,
    *,
    task_status: trio.TaskStatus[BoundAddress] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `config` until cancelled, or until `shutdown` is set (then stop gracefully).

    `await nursery.start(serve, config)` returns the `BoundAddress` (host, port, url).
    """
    server = Server(config)
    if shutdown is not None:
        server.shutdown_event = shutdown
    await server.serve(task_status=task_status)


def run(config: Config) -> None:
    """Serve `config` in a new trio run until interrupted (for scripts)."""
    trio.run(serve, config)
