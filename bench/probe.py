"""One real request per (server, scenario) before measuring, and the idle-connection memory test.

A scenario's figures count only if the server's answer passes its `Check` (status, CORS
header, length): a fast 400 is a failure, not a result.  The memory test holds N kept-alive
connections open, each after one complete request, and reads the server's RSS before and after.
"""

from __future__ import annotations

import http.client
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from .scenarios import Scenario

TIMEOUT_S = 10


def check(scenario: Scenario, port: int) -> str:
    """ "" when the answer passes the scenario's check, else what was wrong."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.putrequest(scenario.method, scenario.path, skip_accept_encoding=True)
        for name, value in scenario.headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        status = response.status
        acao = response.getheader("access-control-allow-origin")
        length = response.getheader("content-length")
    except (OSError, http.client.HTTPException) as exc:
        return f"request failed: {exc!r}"
    finally:
        conn.close()
    want = scenario.check
    problems = []
    if status not in want.statuses:
        problems.append(f"status {status}")
    if want.allow_origin and not acao:
        problems.append("no Access-Control-Allow-Origin")
    if not want.allow_origin and acao:
        problems.append(f"Access-Control-Allow-Origin {acao} on a refusal")
    if want.length is not None and status == 200 and length != str(want.length):
        problems.append(f"Content-Length {length}, expected {want.length}")
    return "; ".join(problems)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdleMemory:
    connections: int
    rss_before_kb: int
    rss_after_kb: int

    @property
    def per_connection_kb(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / self.connections


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        limit = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def _read_response(sock: socket.socket) -> None:
    """Read one small response to its end (head + Content-Length bytes)."""
    data = b""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed a kept-alive connection")
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and len(body) >= int(value):
                    return
    raise TimeoutError("no complete response")


def idle_memory(port: int, rss_kb: Callable[[], int], count: int) -> IdleMemory:
    """RSS growth of the server while `count` kept-alive connections sit idle, each after one
    complete GET (so each holds whatever a served connection keeps between requests)."""
    raise_fd_limit(count + 256)
    request = b"GET /data.json HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://localhost:5173\r\n\r\n"
    warm = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    warm.sendall(request)
    _read_response(warm)
    warm.close()
    time.sleep(0.3)
    before = rss_kb()
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
            socks.append(sock)
            sock.sendall(request)
            _read_response(sock)
        time.sleep(0.5)  # let the server settle into its idle wait on every connection
        after = rss_kb()
    finally:
        for sock in socks:
            sock.close()
    return IdleMemory(connections=count, rss_before_kb=before, rss_after_kb=after)
