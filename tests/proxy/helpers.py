"""Starting the test upstream (`upstream.py` under uvicorn) as a real process on 127.0.0.1."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from minicors.server import BoundAddress

from ..conftest import Parsed, encode_request, socket_exchange

REPO = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT_S = 15.0
# uvicorn serving the app on the inherited listening socket (its --fd flag wants a Unix one).
RUNNER = """
import socket, sys, uvicorn
from tests.proxy.upstream import app
sock = socket.socket(fileno=int(sys.argv[1]))
config = uvicorn.Config(app, ws="wsproto", log_level="warning", lifespan="off")
uvicorn.Server(config).run(sockets=[sock])
"""


@dataclass
class Upstream:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            return conn.getresponse().read()
        finally:
            conn.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextmanager
def upstream() -> Iterator[Upstream]:
    """The upstream on a socket bound here (so its port is known before it starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(sock.fileno())], pass_fds=[sock.fileno()], cwd=REPO
    )
    sock.close()  # the child holds it now
    running = Upstream(port=port, proc=proc)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # bounded by START_TIMEOUT_S
            try:
                running.get("/ws-count")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield running
    finally:
        running.kill()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def request(
    address: BoundAddress,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    host: str = "t",
) -> Parsed:
    """One request with `Connection: close`, and no half-close after it: like nginx, minicors
    takes a client's EOF during a proxied answer as its leaving, and cuts the answer off."""
    raw = encode_request(method, target, headers, body, host=host, close=True)
    exchange = await socket_exchange(address, [raw], methods=[method.encode()], close_after=False)
    (response,) = exchange.responses
    return response
