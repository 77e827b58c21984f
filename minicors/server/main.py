"""A server as a process: run until SIGINT/SIGTERM (one process, or `--workers N`), announcing
the URL once it works.  The command line calls `run_until_signal`."""

from __future__ import annotations

import functools
import signal
from collections.abc import Sequence

import trio

from ..config import Config
from ..errors import ConfigError
from .announce import announce_serving
from .listen import Server


async def serve_until_signal(
    config: Config, *, announce: bool = True, startup: Sequence[str] = ()
) -> None:
    """Serve until SIGINT/SIGTERM, then stop gracefully; a second signal stops at once.
    `startup`: lines for stderr once it listens (see `announce_serving`)."""
    server = Server(config)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(
            functools.partial(server.serve_until_signals, (signal.SIGINT, signal.SIGTERM))
        )
        if announce:
            # In a thread: finding the LAN addresses may resolve the machine's own name.
            await trio.to_thread.run_sync(
                functools.partial(announce_serving, config, address, startup=startup)
            )


def run_until_signal(config: Config, *, startup: Sequence[str] = ()) -> int:
    """Serve `config` in this process (or its workers) until stopped; the exit status."""
    if config.workers > 1:
        from .workers import run_workers

        return run_workers(config, startup=startup)
    try:
        trio.run(functools.partial(serve_until_signal, config, startup=startup))
    except* ConfigError as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup):  # nurseries nest: take the first one
            error = error.exceptions[0]
        raise error from None
    return 0
