"""What hostile or heavy requests cost a live server, and whether they stall everyone else.

- **Chunked bodies**: one `POST` whose body comes as 65,536 chunks of 1 byte, 65,536 of 16 bytes
  and 256 of 4096 bytes (so cost per chunk and cost per byte can be told apart), then 9 MiB in
  1-byte chunks (a reproduction of the memory amplification it once caused).  Reported: the
  time until the answer (the server's CPU, since the client writes pre-built bytes) and the
  server's peak RSS growth (VmHWM).
- **Stalls**: a probe client sends a small GET every 10 ms while another client downloads a
  large text file compressed on the fly (`--gzip`); the probe's latency shows how long the event
  loop was busy with the download.  Reported: the probe's p50, p99 and max, with and without
  the download running.

Each scenario runs on the tree's minicors and on every `--candidate DIR` (a copy of the package,
e.g. a checkout of an earlier commit), one after the other, server and clients on their own
cores.  Run: `python -m bench.hostile [--candidate DIR] [--rounds N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .servers import Running, ServerSpec, candidate, minicors_command, process_tree, started

SHAPES = ((1, 65_536), (16, 65_536), (4096, 256))  # (chunk size, chunk count)
PROBE_EVERY_S = 0.01
STALL_SECONDS = 3.0
LARGE_TEXT_BYTES = 32 * 1024 * 1024
MINICORS = ServerSpec(name="minicors", label="minicors (this tree)", command=minicors_command)


def chunked_body(chunk: int, count: int) -> bytes:
    piece = b"%x\r\n%s\r\n" % (chunk, b"a" * chunk)
    return piece * count + b"0\r\n\r\n"


def peak_rss_kb(pid: int) -> int:
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def post_chunked(port: int, body: bytes, timeout_s: float = 120) -> tuple[float, bytes]:
    """Send a chunked POST (pre-built bytes), return (seconds until the status line, it)."""
    head = b"POST /data.json HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        start = time.perf_counter()
        reply = bytearray()

        def read() -> None:
            while b"\r\n" not in reply:
                data = s.recv(4096)
                if not data:
                    return
                reply.extend(data)

        reader = threading.Thread(target=read)
        reader.start()
        with contextlib.suppress(OSError):  # refused early: closed while we were still sending
            s.sendall(head + body)
        reader.join(timeout_s)
        return time.perf_counter() - start, bytes(reply).split(b"\r\n", 1)[0]


def chunk_costs(server: Running) -> list[str]:
    rows = []
    for chunk, count in SHAPES:
        before = peak_rss_kb(server.proc.pid)
        seconds, status = post_chunked(server.port, chunked_body(chunk, count))
        grew = peak_rss_kb(server.proc.pid) - before
        rows.append(
            f"| {server.spec.name} | {count:,} chunks of {chunk} B | {status.decode()} "
            f"| {seconds * 1000:,.0f} ms | {grew / 1024:,.1f} MB |"
        )
    before = peak_rss_kb(server.proc.pid)
    seconds, status = post_chunked(server.port, b"1\r\na\r\n" * 9_437_184 + b"0\r\n\r\n")
    grew = peak_rss_kb(server.proc.pid) - before
    rows.append(
        f"| {server.spec.name} | 9 MiB in 1-byte chunks | {status.decode()} "
        f"| {seconds * 1000:,.0f} ms | {grew / 1024:,.1f} MB |"
    )
    return rows


def probe(port: int, seconds: float) -> list[float]:
    """Latencies of small GETs on one kept-alive connection, one every PROBE_EVERY_S."""
    latencies = []
    request = b"GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            s.sendall(request)
            data = b""
            while not data.endswith(b"ok\n"):
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError("probe connection closed")
                data += chunk
            latencies.append(time.perf_counter() - start)
            time.sleep(PROBE_EVERY_S)
    return latencies


def download_loop(port: int, stop: threading.Event) -> None:
    request = (
        b"GET /large.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
        b"Connection: close\r\n\r\n"
    )
    while not stop.is_set():
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(request)
            while s.recv(1 << 20):
                pass


def stalls(server: Running) -> list[str]:
    rows = []
    for label, downloading in (("idle", False), ("gzip download running", True)):
        stop = threading.Event()
        worker = threading.Thread(target=download_loop, args=(server.port, stop))
        if downloading:
            worker.start()
            time.sleep(0.3)
        try:
            lat = sorted(probe(server.port, STALL_SECONDS))
        finally:
            stop.set()
            if downloading:
                worker.join(60)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        rows.append(
            f"| {server.spec.name} | {label} | {statistics.median(lat) * 1000:.2f} ms "
            f"| {p99 * 1000:.2f} ms | {lat[-1] * 1000:.2f} ms |"
        )
    return rows


@contextmanager
def serving(spec: ServerSpec, root: Path, scratch: Path) -> Iterator[Running]:
    with started(spec, root=root, scratch=scratch, cpu=0, extra=("--gzip",)) as server:
        yield server


def make_root(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.json").write_text('{"ok": true}\n')
    (root / "small.txt").write_text("ok\n")
    line = b"minicors serves this line again and again, compressed on the fly.\n"
    (root / "large.txt").write_bytes(line * (LARGE_TEXT_BYTES // len(line)))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--candidate", type=Path, action="append", default=[])
    args = parser.parse_args()
    specs = [MINICORS, *(candidate(d) for d in args.candidate)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        make_root(root)
        chunk_rows: list[str] = []
        stall_rows: list[str] = []
        for spec in specs:
            with serving(spec, root, Path(tmp)) as server:
                chunk_rows += chunk_costs(server)
            with serving(spec, root, Path(tmp)) as server:
                stall_rows += stalls(server)
    print("| server | body | answer | time to answer | peak RSS growth |")
    print("|---|---|---|---:|---:|")
    print("\n".join(chunk_rows))
    print()
    print("| server | while | probe p50 | probe p99 | probe max |")
    print("|---|---|---:|---:|---:|")
    print("\n".join(stall_rows))


if __name__ == "__main__":
    main()
