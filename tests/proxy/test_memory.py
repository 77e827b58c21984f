"""A big upload and a big download through --proxy keep the minicors process's memory flat:
both bodies stream (nothing buffers them whole), so its RSS, read from /proc while the bytes
pass, stays within a fixed bound of what it was before, whatever the size.

`minicors serve` runs as its own process, in front of the proxy tests' upstream; the client
here is a plain socket, reading and writing in bounded loops under a deadline.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..browser import LiveServer, live_server
from .helpers import Upstream, upstream

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
# The 1 GB each way (16x the bound below, so a body buffered whole shows); both
# transfers take about 7 s together on an idle 2-core machine.
SIZE = 1024 * MIB
RSS_BOUND = 64 * MIB  # growth allowed over the warmed-up RSS (allocator slack, pool, buffers)
BLOCK = 64 * 1024  # bytes per socket read or write
SAMPLE_EVERY = 16 * MIB  # RSS read after this many bytes have passed
DEADLINE_S = 60.0  # per transfer: far beyond what it needs, so only a hang trips it
ALLOWED = "http://localhost:5173"


def rss(pid: int) -> int:
    """The process's resident set, in bytes (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with upstream() as running:
        yield running


@pytest.fixture(scope="module")
def proxy(up: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("memory-root")
    args = [str(root), "--proxy", f"/api={up.origin}/v1", "--allow-origin", ALLOWED]
    with live_server([*args, "--no-access-log"]) as server:
        yield server


def open_request(server: LiveServer, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE_S)
    sock.sendall(head.encode("latin-1"))
    return sock


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """(the response head, the body bytes read with it)."""
    data = b""
    for _ in range(64):  # a head is a few hundred bytes: a few reads at most
        if b"\r\n\r\n" in data:
            break
        chunk = sock.recv(BLOCK)
        assert chunk, f"closed before the head ended: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def download(server: LiveServer, peak: list[int]) -> int:
    """GET SIZE bytes through the proxy; the body bytes received."""
    head = f"GET /api/big?n={SIZE} HTTP/1.1\r\nHost: t\r\nOrigin: {ALLOWED}\r\n\r\n"
    with open_request(server, head) as sock:
        status, received = read_head(sock)
        assert status.startswith(b"HTTP/1.1 200"), status
        assert f"content-length: {SIZE}".encode() in status.lower()
        size, next_sample = len(received), SAMPLE_EVERY
        deadline = time.monotonic() + DEADLINE_S
        for _ in range(SIZE // BLOCK * 4 + 64):  # reads may come short; bounded all the same
            if size >= SIZE or time.monotonic() > deadline:
                break
            chunk = sock.recv(BLOCK)
            if not chunk:
                break
            size += len(chunk)
            if size >= next_sample:
                peak.append(rss(server.proc.pid))
                next_sample += SAMPLE_EVERY
        return size


def upload(server: LiveServer, peak: list[int]) -> dict[str, object]:
    """POST SIZE bytes through the proxy to the echo; what the upstream says it received."""
    head = (
        f"POST /api/echo HTTP/1.1\r\nHost: t\r\nOrigin: {ALLOWED}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {SIZE}\r\n\r\n"
    )
    block = bytes(range(256)) * (BLOCK // 256)
    with open_request(server, head) as sock:
        deadline = time.monotonic() + DEADLINE_S
        for i in range(SIZE // BLOCK):
            assert time.monotonic() < deadline, f"upload stalled after {i * BLOCK} bytes"
            sock.sendall(block)
            if (i + 1) * BLOCK % SAMPLE_EVERY == 0:
                peak.append(rss(server.proc.pid))
        status, body = read_head(sock)
        assert status.startswith(b"HTTP/1.1 200"), status
        for _ in range(64):  # the echo's JSON is a few KiB
            try:
                return dict(json.loads(body))
            except ValueError:
                chunk = sock.recv(BLOCK)
                assert chunk, f"closed mid-answer: {body!r}"
                body += chunk
    raise AssertionError(f"no JSON answer: {body[:200]!r}")


def test_a_big_download_and_upload_keep_rss_flat(proxy: LiveServer) -> None:
    # Warm up first (imports, the upstream pool, the allocator's arenas), then take the base.
    warm = 8 * MIB
    sock = open_request(proxy, f"GET /api/big?n={warm} HTTP/1.1\r\nHost: t\r\n\r\n")
    with sock:
        head, got = read_head(sock)
        for _ in range(warm // BLOCK * 4 + 64):
            if len(got) >= warm:
                break
            chunk = sock.recv(BLOCK)
            if not chunk:
                break
            got += chunk
    assert head.startswith(b"HTTP/1.1 200") and len(got) == warm
    before = rss(proxy.proc.pid)
    peak: list[int] = []
    assert download(proxy, peak) == SIZE
    echoed = upload(proxy, peak)
    assert echoed["size"] == SIZE and echoed["method"] == "POST"
    assert len(peak) >= 2 * SIZE // SAMPLE_EVERY - 2  # RSS was read throughout both
    growth = max(peak) - before
    assert growth < RSS_BOUND, f"RSS grew by {growth / MIB:.1f} MiB over {before / MIB:.1f} MiB"
