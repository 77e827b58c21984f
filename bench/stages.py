"""Where the CPU time of one request goes, stage by stage, with no socket and no event loop.

The request bytes of a scenario go through the same steps the server takes (h11 parse, the
`Request` value, the app, the response head, h11's serialisation, the next cycle), each timed
over many repetitions; the floor's path is timed the same way.  What a live server spends on
top of these stages (trio scheduling, cancel scopes, syscalls) is 1/requests-per-second minus
their sum.  Run: `python -m bench.stages [N]`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import h11

import minicors
from minicors.app import App
from minicors.connection import DateCache, header_dict
from minicors.messages import FileBody, Request, Response

from .peers.floor import Floor
from .scenarios import ORIGIN, Scenario, make_root, scenarios

SCENARIOS = ("preflight-allowed", "simple-get", "headers-100", "cookie-8k")
WRITE_H11 = "write with h11 (validate, serialise, next cycle)"
WRITE_RENDERED = "write pre-rendered (render + check, fresh h11.Connection)"
WRITE_FLOOR = "write with h11 (pre-built event, serialise, next cycle)"


def request_bytes(scenario: Scenario) -> bytes:
    lines = [f"{scenario.method} {scenario.path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in scenario.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _run(coro: Coroutine[Any, Any, Response]) -> Response:
    """Run a coroutine that never suspends (the static and CORS paths do not) to its end."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: Response = done.value
        return result
    raise RuntimeError("the app suspended: time it inside trio instead")


class Clock:
    """Accumulates nanoseconds per stage name, in the order stages were first seen."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self.last = 0

    def start(self) -> None:
        self.last = time.perf_counter_ns()

    def lap(self, stage: str) -> None:
        now = time.perf_counter_ns()
        self.totals[stage] = self.totals.get(stage, 0) + now - self.last
        self.last = time.perf_counter_ns()

    def per_request_us(self, n: int) -> dict[str, float]:
        return {stage: total / n / 1000 for stage, total in self.totals.items()}


def render_head(response: Response, length: int, date: bytes) -> bytes | None:
    """A response head rendered without h11, guarded as a server must: no CR, LF or NUL may
    hide in a field (one C-level count over the whole head instead of a regex per field)."""
    parts = [b"HTTP/1.1 %d \r\ndate: %s\r\nserver: minicors\r\n" % (response.status, date)]
    for name, value in response.headers:
        parts.append(b"%s: %s\r\n" % (name, value))
    if response.header(b"content-length") is None:
        parts.append(b"content-length: %d\r\n" % length)
    parts.append(b"\r\n")
    head = b"".join(parts)
    lines = len(parts) + 2  # the first part holds three lines
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        return None
    return head


def h11_head(response: Response, length: int, date: bytes) -> h11.Response:
    headers = [(b"date", date), (b"server", b"minicors"), *response.headers]
    if response.header(b"content-length") is None:
        headers.append((b"content-length", b"%d" % length))
    return h11.Response(status_code=response.status, headers=headers)


def minicors_stages(root: Path, raw: bytes, n: int) -> dict[str, float]:
    config = minicors.Config(root=str(root), cors=minicors.CorsPolicy(allow_origins=[ORIGIN]))
    app = App(config)
    dates = DateCache()
    conn = h11.Connection(h11.SERVER)
    clock = Clock()
    for _ in range(n):
        clock.start()
        conn.receive_data(raw)
        event = conn.next_event()
        assert isinstance(event, h11.Request)
        conn.next_event()  # EndOfMessage
        clock.lap("h11: parse request")
        raw_headers = event.headers
        headers = header_dict(raw_headers)
        request = Request(
            method=event.method.decode("ascii"),
            target=event.target.decode("latin-1"),
            headers=headers,
            raw_headers=raw_headers,
            http_version=event.http_version.decode("ascii"),
            peer="127.0.0.1:1",
        )
        clock.lap("Request value (headers dict)")
        response = _run(app(request))
        clock.lap("app: CORS + route (+ open/fstat)")
        body = response.body
        if isinstance(body, FileBody):
            assert body.fd is not None
            data = os.pread(body.fd, body.length, body.offset)
            body.close()
        else:
            assert isinstance(body, bytes)
            data = body
        clock.lap("file read (pread + close)")
        date = dates.get()
        head = render_head(response, len(data), date)
        assert head is not None
        out = head + data
        fresh = h11.Connection(h11.SERVER)
        leftover, _ = conn.trailing_data
        if leftover:
            fresh.receive_data(leftover)
        clock.lap(WRITE_RENDERED)
        out = conn.send(h11_head(response, len(data), date)) or b""
        if data:
            out += conn.send(h11.Data(data=data)) or b""
        out += conn.send(h11.EndOfMessage()) or b""
        conn.start_next_cycle()
        clock.lap(WRITE_H11)
    return clock.per_request_us(n)


def floor_stages(root: Path, raw: bytes, n: int) -> dict[str, float]:
    floor = Floor(str(root))
    conn = h11.Connection(h11.SERVER)
    clock = Clock()
    for _ in range(n):
        clock.start()
        conn.receive_data(raw)
        event = conn.next_event()
        assert isinstance(event, h11.Request)
        conn.next_event()
        clock.lap("h11: parse request")
        head, file = floor.head(event)
        clock.lap("lookup (pre-built response)")
        out = conn.send(head) or b""
        if file is not None and file[2] is not None and event.method == b"GET":
            out += conn.send(h11.Data(data=file[2])) or b""
        out += conn.send(h11.EndOfMessage()) or b""
        conn.start_next_cycle()
        clock.lap(WRITE_FLOOR)
    return clock.per_request_us(n)


Timer = Callable[[Path, bytes, int], dict[str, float]]


def measure(n: int, names: tuple[str, ...] = SCENARIOS) -> dict[str, dict[str, dict[str, float]]]:
    """scenario -> server -> stage -> microseconds per request (best of three runs)."""
    by_name = {s.name: s for s in scenarios(large_bytes=2**20)}
    result: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_root(root, large_bytes=2**20)
        for name in names:
            raw = request_bytes(by_name[name])
            timers: dict[str, Timer] = {"minicors": minicors_stages, "floor": floor_stages}
            result[name] = {}
            for server, timer in timers.items():
                timer(root, raw, max(1, n // 10))  # warm caches and memos
                runs = [timer(root, raw, n) for _ in range(3)]
                best = min(runs, key=lambda r: sum(r.values()))
                result[name][server] = best
    return result


def markdown(results: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = []
    for name, by_server in results.items():
        lines += [f"**{name}** (microseconds per request, CPU only)", ""]
        lines += ["| stage | minicors | floor |", "|---|---:|---:|"]
        stages = list(dict.fromkeys([*by_server["minicors"], *by_server["floor"]]))
        for stage in stages:
            mine = by_server["minicors"].get(stage)
            floor = by_server["floor"].get(stage)
            cells = [f"{v:.1f}" if v is not None else "" for v in (mine, floor)]
            lines.append(f"| {stage} | {cells[0]} | {cells[1]} |")
        stages_mc = by_server["minicors"]
        with_h11 = sum(v for k, v in stages_mc.items() if k != WRITE_RENDERED)
        rendered = sum(v for k, v in stages_mc.items() if k != WRITE_H11)
        floor_total = sum(by_server["floor"].values())
        lines += [
            f"| **total, writing with h11** | **{with_h11:.1f}** | **{floor_total:.1f}** |",
            f"| **total, writing pre-rendered** | **{rendered:.1f}** | |",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    print(markdown(measure(n)))


if __name__ == "__main__":
    main()
