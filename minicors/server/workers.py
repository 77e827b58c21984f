"""`--workers N`: N processes serving one port, and a supervisor that keeps N alive.

Each worker binds its own listening socket with SO_REUSEPORT, so the kernel spreads new
connections across them; the supervisor holds the port (bound, not listening, so it is never
handed a connection) so that `--port 0` names one port for all.  Where SO_REUSEPORT is missing,
the supervisor listens once and the workers share that socket.  A worker that dies is
replaced; SIGINT/SIGTERM stop every worker gracefully and the supervisor exits 0.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.queues import SimpleQueue
from types import FrameType

import trio

from ..config import Config
from .announce import announce_serving
from .listen import BACKLOG, BoundAddress, Server, bind_error

log = logging.getLogger("minicors.workers")

RESTART_BACKOFF_S = 1.0  # a worker that dies faster than this is restarted after a pause


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reserve(config: Config, port: int, *, reuse_port: bool, listen: bool) -> socket.socket:
    """A socket bound to (config.host, port) with the options trio's listeners use
    (IPv6-only for an IPv6 host), optionally shared by port (SO_REUSEPORT) and listening."""
    family = _family(config.host)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind((config.host, port))
    except OSError as exc:
        sock.close()
        raise bind_error(config, exc) from None
    if listen:
        sock.listen(BACKLOG)
    return sock


def _worker_main(
    config: Config, port: int, shared: socket.socket | None, ready: SimpleQueue[int]
) -> None:
    # Ctrl-C reaches the whole process group: let the supervisor decide and send SIGTERM once,
    # so a worker sees exactly one signal and stops gracefully.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    trio.run(_worker_serve, config, port, shared, ready)


async def _orphan_watch(server: Server, parent: int) -> None:
    # A supervisor killed with SIGKILL cannot stop its workers: they notice and stop.
    while os.getppid() == parent:  # noqa: ASYNC110 - nothing to wait on but a poll
        await trio.sleep(0.5)
    server.shutdown()


async def _worker_serve(
    config: Config, port: int, shared: socket.socket | None, ready: SimpleQueue[int]
) -> None:
    if shared is None:
        shared = _reserve(config, port, reuse_port=True, listen=True)
    sock = trio.socket.from_stdlib_socket(shared)
    server = Server(config)
    listeners = [trio.SocketListener(sock)]
    serve = functools.partial(server.serve_until_signals, (signal.SIGTERM,), listeners=listeners)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_orphan_watch, server, os.getppid())
        async with trio.open_nursery() as serving:
            await serving.start(serve)
            ready.put(os.getpid())
        nursery.cancel_scope.cancel()  # served out: the orphan watch is no longer needed


def run_workers(config: Config, *, startup: Sequence[str] = ()) -> int:
    """Run `config.workers` worker processes until SIGINT/SIGTERM; exit status 0."""
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    # With SO_REUSEPORT the supervisor only holds the port (each worker listens on its own
    # socket); without it, it listens and the workers share its socket.
    holder = _reserve(config, config.port, reuse_port=reuse_port, listen=not reuse_port)
    port = holder.getsockname()[1]
    shared = None if reuse_port else holder
    context = multiprocessing.get_context("fork")
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def start() -> tuple[BaseProcess, float]:
        process = context.Process(
            target=_worker_main, args=(config, port, shared, ready), name="minicors-worker"
        )
        process.start()
        return process, time.monotonic()

    ready: SimpleQueue[int] = context.SimpleQueue()
    workers = [start() for _ in range(config.workers)]
    # Announce only once every worker listens: the first line is a promise that the URL works.
    deadline = time.monotonic() + 30
    started = 0
    while started < config.workers and time.monotonic() < deadline and not stopping:
        if ready.empty():
            if any(not p.is_alive() for p, _ in workers):
                break
            time.sleep(0.01)
            continue
        ready.get()
        started += 1
    if started < config.workers:
        # The first line promises a working URL: never print it for a half-started server.
        _stop(workers, grace_s=config.limits.grace_period_s)
        holder.close()
        if stopping:
            return 0
        why = "one exited" if any(not p.is_alive() for p, _ in workers) else "start-up timed out"
        sys.stderr.write(
            f"minicors: only {started} of {config.workers} workers started ({why}); "
            "see the messages above, or try --workers 1 to see the error directly\n"
        )
        return 1
    scheme = "https" if config.tls is not None else "http"
    address = BoundAddress(host=config.host, port=port, scheme=scheme)
    announce_serving(config, address, note=f" ({config.workers} workers)", startup=startup)
    while not stopping:
        sentinels = [p.sentinel for p, _ in workers]
        multiprocessing.connection.wait(sentinels, timeout=0.2)
        while not ready.empty():
            ready.get()
        for i, (process, began) in enumerate(workers):
            if process.is_alive() or stopping:
                continue
            sys.stderr.write(
                f"minicors: worker {process.pid} exited with status {process.exitcode}; "
                "starting a new one\n"
            )
            if time.monotonic() - began < RESTART_BACKOFF_S:
                time.sleep(RESTART_BACKOFF_S)
            workers[i] = start()
    _stop(workers, grace_s=config.limits.grace_period_s)
    holder.close()
    return 0


def _stop(workers: list[tuple[BaseProcess, float]], *, grace_s: float) -> None:
    """SIGTERM every worker (a graceful stop within the grace period), then kill stragglers."""
    for process, _ in workers:
        if process.is_alive() and process.pid is not None:
            process.terminate()
    deadline = time.monotonic() + grace_s + 2.0
    for process, _ in workers:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
