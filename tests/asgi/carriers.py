"""ASGI servers started as subprocesses on 127.0.0.1 for the wire tests: uvicorn, and
hypercorn with its asyncio and its trio worker, each running `tests/asgi/wire_app.py`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
APP = "tests.asgi.wire_app:app"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.05

COMMANDS: dict[str, list[str]] = {
    # --http h11: the protocol minicors itself speaks; --ws wsproto: no extra dependency.
    "uvicorn": ["-m", "uvicorn", APP, "--host", "127.0.0.1", "--http", "h11", "--ws", "wsproto"],
    "hypercorn-asyncio": ["-m", "hypercorn", "-k", "asyncio", APP],
    "hypercorn-trio": ["-m", "hypercorn", "-k", "trio", APP],
}


@dataclass
class Carrier:
    name: str
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running(name: str, log: Path) -> Iterator[Carrier]:
    """`name` serving the wire app until the block ends (then stopped with SIGINT)."""
    port = _free_port()
    args = [sys.executable, *COMMANDS[name]]
    args += ["--port", str(port)] if name == "uvicorn" else ["--bind", f"127.0.0.1:{port}"]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    carrier = Carrier(name=name, port=port, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{carrier.output()}")
            time.sleep(POLL_S)
        yield carrier
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
