"""Where the CPU time of one request goes, stage by stage, with no socket and no event loop.

The request bytes of a scenario go through minicors's real protocol object (`HttpConnection`:
screening, h11's parse, the `Request` value), the real app, and the protocol's head rendering
and keep-alive bookkeeping, each timed over many repetitions on one connection, as a
kept-alive client drives it; the floor's path (h11 parse, lookup, h11 serialisation) is timed
the same way.  What a live server spends on top of these stages (trio scheduling, syscalls) is
1/requests-per-second minus their sum.  Run: `python -m bench.stages [N]`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import h11

import minicors
from minicors.app import App
from minicors.messages import FileBody, Request, Response
from minicors.options import Limits
from minicors.protocol import HeadCache, HttpConnection

from .peers.floor import Floor
from .scenarios import ORIGIN, Scenario, make_root, scenarios

SCENARIOS = ("preflight-allowed", "simple-get", "headers-100", "cookie-8k")
PARSE = "protocol: bytes -> Request (screen, h11 parse, checks)"
APP = "app: CORS + route (a kept file answer: one stat)"
WRITE_RENDERED = "protocol: head rendered or memoised, body read if not kept, next cycle"
WRITE_FLOOR = "write with h11 (pre-built event, serialise, next cycle)"


def request_bytes(scenario: Scenario) -> bytes:
    lines = [f"{scenario.method} {scenario.path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in scenario.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(result: Response | Awaitable[Response]) -> Response:
    """The static and CORS paths answer without waiting: time them without an event loop."""
    if not isinstance(result, Response):
        raise RuntimeError("the app wants to wait: time it inside trio instead")
    return result


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


def minicors_stages(root: Path, raw: bytes, n: int) -> dict[str, float]:
    """The steps the server's connection task takes for a body-less request on a kept-alive
    connection, through the same protocol object and app."""
    config = minicors.Config(root=str(root), cors=minicors.CorsPolicy(allow_origins=[ORIGIN]))
    app = App(config)
    conn = HttpConnection(Limits(), HeadCache(b"minicors"), peer="127.0.0.1:1")
    clock = Clock()
    for _ in range(n):
        clock.start()
        conn.receive_data(raw)
        request = conn.next_request()
        assert isinstance(request, Request)
        clock.lap(PARSE)
        response = _answer(app(request))
        clock.lap(APP)
        body = response.body
        if isinstance(body, FileBody):  # not kept in memory: read it as the server does
            assert body.fd is not None
            data = os.pread(body.fd, body.length, body.offset)
            body.close()
        else:
            assert isinstance(body, bytes)
            data = body
        out = conn.response_head(response, len(data))
        if conn.sends_body(response):
            out += data
        assert conn.response_done()
        clock.lap(WRITE_RENDERED)
        assert out
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
        clock.lap(PARSE)
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
        mine_total = sum(by_server["minicors"].values())
        floor_total = sum(by_server["floor"].values())
        lines += [f"| **total** | **{mine_total:.1f}** | **{floor_total:.1f}** |", ""]
    return "\n".join(lines)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    print(markdown(measure(n)))


if __name__ == "__main__":
    main()
