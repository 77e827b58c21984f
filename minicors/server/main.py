"""A server as a process: run until SIGINT/SIGTERM (one process, or `--workers N`), announcing
the URL once it works.  The command line calls `run_until_signal`."""

from __future__ import annotations

import functools
import signal

import trio

from ..config import Config
from ..errors import ConfigError
from .listen import Server


async def serve_until_signal(config: Config, *, announce: bool = True) -> None:
    """Serve until SIGINT/SIGTERM, then stop gracefully; a second signal stops at once."""
    server = Server(config)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(
            functools.partial(server.serve_until_signals, (signal.SIGINT, signal.SIGTERM))
        )
        if announce:
            print(f"minicors: serving {config.root} at {address.url}", flush=True)
            if config.api is not None:
                print(
                    f"minicors: JSON API from {config.api.file} at "
                    f"{address.url}{config.api.prefix}",
                    flush=True,
                )


def run_until_signal(config: Config) -> int:
    """Serve `config` in this process (or its workers) until stopped; the exit status."""
    if config.workers > 1:
        from .workers import run_workers

        return run_workers(config)
    try:
        trio.run(serve_until_signal, config)
    except* ConfigError as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup):  # nurseries nest: take the first one
            error = error.exceptions[0]
        raise error from None
    return 0
