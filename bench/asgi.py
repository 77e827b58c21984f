"""`minicors.asgi.CORSMiddleware` against Starlette's `CORSMiddleware`, both around the same
tiny ASGI app under the same uvicorn, on an allowed preflight and a simple GET.

Both middlewares get the policy the rest of the bench uses (bench/peers/starlette_app.py), in
Starlette's keywords: the migration is the import line, so that is what is measured.  The
server runs on one core (`taskset -c 0`), wrk on the other; rounds are interleaved (round 1 of
both before round 2 of either) and the headline is the ratio of the medians, minicors over
Starlette, from the same run.

    python -m bench.asgi                      # 3 rounds x 2 s per scenario, ~40 s
    python -m bench.asgi --rounds 5 --duration 3
    python -m bench.asgi --cpu-only           # only the in-process cost per request, ~5 s

Before the servers, the cost of one request through each middleware is measured in-process (the
app called directly on one asyncio loop, the fastest of many batches): on a loaded machine that
figure moves far less than requests/s under wrk.

The same module is the app uvicorn serves (`bench.asgi:app`); MINICORS_BENCH_CORS picks the
middleware.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .peers.starlette_app import EXPOSE, METHODS, ORIGIN
from .probe import check
from .scenarios import DATA_JSON, Scenario, scenarios
from .servers import ServerSpec, _bin, started
from .wrk import find_wrk, lua_script
from .wrk import run as run_wrk

ENV = "MINICORS_BENCH_CORS"
MIDDLEWARES = ("starlette", "minicors")
SCENARIOS = ("preflight-allowed", "simple-get")
SETTINGS: dict[str, Any] = {
    "allow_origins": [ORIGIN],
    "allow_methods": METHODS,
    "allow_headers": ["*"],
    "expose_headers": EXPOSE,
    "max_age": 600,
}
_HEAD = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(DATA_JSON))]


async def tiny_app(scope: Any, receive: Any, send: Any) -> None:
    """The same 73-byte JSON answer for every request (lifespan declined)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEAD})
    await send({"type": "http.response.body", "body": DATA_JSON})


def build(which: str) -> Any:
    if which == "minicors":
        from minicors.asgi import CORSMiddleware

        return CORSMiddleware(tiny_app, **SETTINGS)
    from starlette.middleware.cors import CORSMiddleware as StarletteCORS

    return StarletteCORS(tiny_app, **SETTINGS)


app = build(os.environ.get(ENV, "minicors"))


def _uvicorn(http: str, loop: str) -> Any:
    def argv(root: Path, port: int, tmp: Path) -> list[str]:
        quiet = ["--no-access-log", "--log-level", "warning", "--lifespan", "off"]
        port_args = ["--port", str(port), "--http", http, "--loop", loop]
        return [_bin("uvicorn"), "bench.asgi:app", *port_args, *quiet]

    return argv


BATCHES = 15
BATCH_CALLS = 5000


def _scope(scenario: Scenario) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk")]
    headers += [(n.lower().encode(), v.encode()) for n, v in scenario.headers]
    return {
        "type": "http",
        "method": scenario.method,
        "path": scenario.path,
        "raw_path": scenario.path.encode(),
        "query_string": b"",
        "headers": headers,
    }


async def _cpu_us(chosen: list[Scenario]) -> dict[tuple[str, str], float]:
    """Microseconds per request through each middleware (fastest batch), app and all."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    apps = {which: build(which) for which in MIDDLEWARES}
    best: dict[tuple[str, str], float] = {}
    for _ in range(BATCHES):  # interleaved, so drift hits both alike
        for which, asgi_app in apps.items():
            for s in chosen:
                scope = _scope(s)
                started_at = time.perf_counter()
                for _ in range(BATCH_CALLS):
                    await asgi_app(scope, receive, send)
                per_call = (time.perf_counter() - started_at) / BATCH_CALLS * 1e6
                best[(which, s.name)] = min(best.get((which, s.name), per_call), per_call)
    return best


def cpu_report(chosen: list[Scenario], us: dict[tuple[str, str], float]) -> str:
    lines = [
        f"in-process, fastest of {BATCHES} batches of {BATCH_CALLS} calls, microseconds per "
        "request (lower is better)",
        "",
        "| scenario | Starlette CORSMiddleware | minicors.asgi.CORSMiddleware "
        "| Starlette / minicors |",
        "|---|---:|---:|---:|",
    ]
    for s in chosen:
        theirs, ours = us[("starlette", s.name)], us[("minicors", s.name)]
        lines.append(f"| {s.label} | {theirs:.2f} | {ours:.2f} | {theirs / ours:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.asgi", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per measurement")
    parser.add_argument("--http", default="httptools", choices=["httptools", "h11"])
    parser.add_argument("--loop", default="uvloop", choices=["uvloop", "asyncio"])
    parser.add_argument("--cpu-only", action="store_true", help="skip the servers and wrk")
    args = parser.parse_args(argv)
    chosen = [s for s in scenarios(large_bytes=0) if s.name in SCENARIOS]
    print(cpu_report(chosen, asyncio.run(_cpu_us(chosen))) + "\n", flush=True)
    if args.cpu_only:
        return 0
    wrk = find_wrk()
    spec = ServerSpec(name="uvicorn", label="uvicorn", command=_uvicorn(args.http, args.loop))
    rps: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as scratch:
        tmp = Path(scratch)
        scripts = {s.name: tmp / f"{s.name}.lua" for s in chosen}
        for s in chosen:
            scripts[s.name].write_text(lua_script(s))
        for round_no in range(1, args.rounds + 1):
            for which in MIDDLEWARES:
                os.environ[ENV] = which
                with started(spec, root=tmp, scratch=tmp / which, cpu=0) as server:
                    for s in chosen:
                        problem = check(s, server.port)
                        if problem:
                            print(f"{which} {s.name}: FAILED check: {problem}", file=sys.stderr)
                            return 1
                        run_wrk(
                            s, url=server.url, script=scripts[s.name], duration_s=1, cpu=1, wrk=wrk
                        )
                        result = run_wrk(
                            s,
                            url=server.url,
                            script=scripts[s.name],
                            duration_s=args.duration,
                            cpu=1,
                            wrk=wrk,
                        )
                        rps.setdefault((which, s.name), []).append(result.rps)
                        print(f"round {round_no} {which:9} {s.name:18} {result.rps:9.0f} req/s")
    print(report(chosen, rps, args))
    return 0


def report(chosen: list[Scenario], rps: dict[tuple[str, str], list[float]], args: Any) -> str:
    lines = [
        f"uvicorn --http {args.http} --loop {args.loop}, {args.rounds} rounds x "
        f"{args.duration:g} s, median req/s",
        "",
        "| scenario | Starlette CORSMiddleware | minicors.asgi.CORSMiddleware | ratio |",
        "|---|---:|---:|---:|",
    ]
    for s in chosen:
        theirs = statistics.median(rps[("starlette", s.name)])
        ours = statistics.median(rps[("minicors", s.name)])
        lines.append(f"| {s.label} | {theirs:,.0f} | {ours:,.0f} | {ours / theirs:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
