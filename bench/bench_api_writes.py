"""Durable API writes per second, with and without group commit, against an in-process server.

Each run starts the real server (`minicors.server.Server`) on a fresh FILE, opens C kept-alive
client connections in the same trio run and has each POST to /api/items back to back for a fixed
time.  Every 201 means the item was fsynced into FILE, so writes/s is bounded by fsyncs/s unless
writes share them.  The table also gives fsyncs (committed batches) and writes per fsync.
Run: `python -m bench.bench_api_writes [--seconds 2] [--clients 1,16,64,200] [--dir DIR]`
(DIR must be on the disk you care about: on tmpfs an fsync costs nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import h11
import trio

from minicors.app import App
from minicors.config import Config
from minicors.options import ApiOptions
from minicors.server import Server


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    group_commit: bool
    clients: int
    writes: int
    seconds: float
    fsyncs: int

    @property
    def per_second(self) -> float:
        return self.writes / self.seconds

    @property
    def per_fsync(self) -> float:
        return self.writes / max(self.fsyncs, 1)


async def client(port: int, number: int, until: float, counts: list[int]) -> None:
    """POST back to back on one kept-alive connection until the monotonic time `until`."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    conn = h11.Connection(h11.CLIENT)
    sent = 0
    async with stream:
        while trio.current_time() < until:
            body = json.dumps({"client": number, "n": sent}).encode()
            request = h11.Request(
                method="POST",
                target="/api/items",
                headers=[
                    ("host", "bench"),
                    ("content-type", "application/json"),
                    ("content-length", str(len(body))),
                ],
            )
            events = (request, h11.Data(data=body), h11.EndOfMessage())
            data = b"".join(conn.send(event) or b"" for event in events)
            await stream.send_all(data)
            status = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.EndOfMessage):
                    break
            if status != 201:
                raise RuntimeError(f"POST answered {status}")
            counts[number] += 1
            sent += 1
            conn.start_next_cycle()


async def measure(directory: Path, group_commit: bool, clients: int, seconds: float) -> Result:
    work = Path(tempfile.mkdtemp(prefix="api-writes-", dir=directory))
    db_file = work / "db.json"
    db_file.write_text('{"items": []}\n')
    config = Config(
        root=str(work),
        port=0,
        access_log=False,
        api=ApiOptions(file=str(db_file), group_commit=group_commit),
    )
    server = Server(config)
    assert isinstance(server.app, App) and server.app.api is not None
    store = server.app.api.store
    counts = [0] * clients
    async with trio.open_nursery() as nursery:
        address = await nursery.start(server.serve)
        start = trio.current_time()
        async with trio.open_nursery() as load:
            for number in range(clients):
                load.start_soon(client, address.port, number, start + seconds, counts)
        elapsed = trio.current_time() - start
        nursery.cancel_scope.cancel()
    on_disk = len(json.loads(db_file.read_text())["items"])
    if on_disk != sum(counts):
        raise RuntimeError(f"{sum(counts)} writes acknowledged but {on_disk} in FILE")
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    return Result(
        group_commit=group_commit,
        clients=clients,
        writes=sum(counts),
        seconds=elapsed,
        fsyncs=store.commits,
    )


def filesystem(directory: Path) -> str:
    try:
        out = subprocess.run(
            ["df", "--output=fstype,source", str(directory)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"
    return " ".join(out.split())


def table(results: list[Result]) -> str:
    lines = [
        "| group commit | clients | writes | writes/s | fsyncs | writes per fsync |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {'on' if r.group_commit else 'off'} | {r.clients} | {r.writes} | "
            f"{r.per_second:,.0f} | {r.fsyncs} | {r.per_fsync:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per run (default 2)")
    parser.add_argument("--clients", default="1,16,64,200", help="comma-separated concurrencies")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where FILE lives")
    args = parser.parse_args()
    directory = Path(args.dir)
    levels = [int(c) for c in args.clients.split(",")]
    results = []
    for clients in levels:
        for group_commit in (True, False):
            results.append(trio.run(measure, directory, group_commit, clients, args.seconds))
    print(f"# durable POSTs to an in-process minicors ({args.seconds:g} s per run)")
    where = f"{directory} ({filesystem(directory)})"
    print(f"# FILE in {where}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")
    print(table(results))


if __name__ == "__main__":
    main()
