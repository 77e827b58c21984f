"""`make bench`: every server, every scenario, the same work, one server at a time.

Rounds are interleaved (round 1 of every server, then round 2 of every server, ...) and every
server is restarted and warmed up for each round, so slow drift of a shared 2-core machine
lands on all servers alike; the headline figures are ratios to the floor of the same run.
The server runs pinned to CPU 0 and wrk to CPU 1.  `--quick` runs minicors and the floor only,
one 1-second round per scenario, with a 10 MB file instead of 100 MB.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import probe, report, wrk
from .scenarios import Scenario, make_root, scenarios
from .servers import SERVERS, ServerSpec, candidate, floor_command, minicors_command, started

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SERVER_CPU, WRK_CPU = 0, 1
MB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    quick: bool
    servers: tuple[ServerSpec, ...]
    scenarios: tuple[Scenario, ...]
    rounds: int
    duration_s: int
    warmup_s: int
    large_bytes: int
    memory_connections: int
    out: Path
    pin: bool


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="minicors + floor, ~1 s each")
    parser.add_argument("--servers", help="comma-separated names (default: all, or quick's two)")
    parser.add_argument("--scenarios", help="comma-separated scenario names (default: all)")
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 5, quick 1)")
    parser.add_argument("--duration", type=int, help="seconds per round (default 2, quick 1)")
    parser.add_argument("--memory-connections", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="results directory (default bench/results)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument(
        "--candidate",
        type=Path,
        action="append",
        default=[],
        help="also measure minicors imported from DIR (a changed copy of the package; repeatable)",
    )
    args = parser.parse_args(argv)
    quick: bool = args.quick
    large = (10 if quick else 100) * MB
    servers = tuple(s for s in SERVERS if s.quick or not quick)
    if args.servers:
        wanted = args.servers.split(",")
        unknown = set(wanted) - {s.name for s in SERVERS}
        if unknown:
            parser.error(f"unknown server(s) {sorted(unknown)}; known: {[s.name for s in SERVERS]}")
        servers = tuple(s for s in SERVERS if s.name in wanted)
    for directory in args.candidate:
        if not (directory / "minicors" / "__init__.py").exists():
            parser.error(f"--candidate {directory}: no minicors/__init__.py in it")
        servers = (*servers, candidate(directory.resolve()))
    chosen = scenarios(large_bytes=large)
    if args.scenarios:
        names = args.scenarios.split(",")
        unknown = set(names) - {s.name for s in chosen}
        if unknown:
            parser.error(f"unknown scenario(s) {sorted(unknown)}")
        chosen = tuple(s for s in chosen if s.name in names)
    out = args.out or (RESULTS / "quick" if quick else RESULTS)
    return Options(
        quick=quick,
        servers=servers,
        scenarios=chosen,
        rounds=args.rounds or (1 if quick else 5),
        duration_s=args.duration or (1 if quick else 2),
        warmup_s=1,
        large_bytes=large,
        memory_connections=args.memory_connections,
        out=out,
        pin=not args.no_pin and (os.cpu_count() or 1) >= 2,
    )


def machine(wrk_path: str) -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    version = subprocess.run([wrk_path, "-v"], capture_output=True, text=True, check=False)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": (version.stdout or version.stderr).splitlines()[0].split(" Copyright")[0],
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(options: Options, wrk_path: str, scratch: Path) -> dict[str, Any]:
    root = scratch / "root"
    make_root(root, large_bytes=options.large_bytes)
    scripts: dict[str, Path] = {}
    for sc in options.scenarios:
        scripts[sc.name] = scratch / f"{sc.name}.lua"
        scripts[sc.name].write_text(wrk.lua_script(sc))
    server_cpu = SERVER_CPU if options.pin else None
    wrk_cpu = WRK_CPU if options.pin else None
    cells: dict[tuple[str, str], dict[str, Any]] = {
        (sp.name, sc.name): {"server": sp.name, "scenario": sc.name, "problem": "", "rounds": []}
        for sp in options.servers
        for sc in options.scenarios
    }
    errors: list[str] = []
    by_name = {sc.name: sc for sc in scenarios(large_bytes=options.large_bytes)}
    warmups = [by_name["simple-get"], by_name["preflight-allowed"]]
    for round_no in range(options.rounds):
        for spec in options.servers:
            try:
                with started(spec, root=root, scratch=scratch, cpu=server_cpu) as server:
                    for sc in warmups[: 1 if options.quick else 2]:
                        path = scratch / f"warmup-{sc.name}.lua"
                        path.write_text(wrk.lua_script(sc))
                        wrk.run(
                            sc,
                            url=server.url,
                            script=path,
                            duration_s=options.warmup_s,
                            cpu=wrk_cpu,
                            wrk=wrk_path,
                        )
                    for sc in options.scenarios:
                        cell = cells[(spec.name, sc.name)]
                        if cell["problem"]:
                            continue  # failed its check in an earlier round
                        problem = probe.check(sc, server.port)
                        if problem:
                            cell["problem"] = problem
                            log(f"  {spec.name:18} {sc.name:18} FAILED: {problem}")
                            continue
                        seconds = options.duration_s + (1 if sc.long else 0)
                        try:
                            res = wrk.run(
                                sc,
                                url=server.url,
                                script=scripts[sc.name],
                                duration_s=seconds,
                                cpu=wrk_cpu,
                                wrk=wrk_path,
                            )
                        except (RuntimeError, ValueError, subprocess.SubprocessError) as exc:
                            cell["problem"] = f"wrk: {exc}"
                            log(f"  {spec.name:18} {sc.name:18} FAILED: {exc}")
                            continue
                        figures = {
                            **asdict(res),
                            "rps": res.rps,
                            "mbps": res.mbps,
                            "rss_kb": server.rss_kb(),
                        }
                        cell["rounds"].append(figures)
                        if res.requests == 0 and res.bytes == 0:
                            cell["problem"] = "no responses"
                        shown = (
                            f"{res.mbps:,.0f} MB/s" if sc.metric == "mbps" else f"{res.rps:,.0f}/s"
                        )
                        log(
                            f"  round {round_no + 1} {spec.name:18} {sc.name:18} {shown:>12} "
                            f"p99 {res.p99_ms or 0:7.2f} ms  errors {res.socket_errors}"
                        )
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                message = f"round {round_no + 1}, {spec.name}: {exc}"
                errors.append(message)
                log(f"  {message}")
                for sc in options.scenarios:
                    cell = cells[(spec.name, sc.name)]
                    if not cell["rounds"]:
                        cell["problem"] = cell["problem"] or "server failed"
    memory = []
    for spec in options.servers:
        if spec.command not in (minicors_command, floor_command) or options.memory_connections <= 0:
            continue
        extra = ("--keepalive-timeout", "60", "--max-connections", "4000")
        try:
            with started(
                spec,
                root=root,
                scratch=scratch,
                cpu=server_cpu,
                extra=() if spec.command is floor_command else extra,
            ) as server:
                idle = probe.idle_memory(server.port, server.rss_kb, options.memory_connections)
        except (RuntimeError, OSError) as exc:
            errors.append(f"memory, {spec.name}: {exc}")
            continue
        memory.append(
            {"server": spec.name, **asdict(idle), "per_connection_kb": idle.per_connection_kb}
        )
        log(f"  memory {spec.name}: {idle.per_connection_kb:.1f} KB per idle connection")
    return {"cells": list(cells.values()), "memory": memory, "errors": errors}


def update_readme(markdown: str) -> None:
    """Replace the results section of bench/README.md (between its markers)."""
    text = README.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return
    README.write_text(text[: start + len(START)] + "\n" + markdown + text[end:])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    options = parse_args(args)
    try:
        wrk_path = wrk.find_wrk()
    except wrk.WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    began = time.monotonic()
    started_at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory(prefix="minicors-bench-") as tmp:
        figures = measure(options, wrk_path, Path(tmp))
    make = {(): "make bench", ("--quick",): "make bench QUICK=1"}
    command = make.get(tuple(args), "python -m bench.run " + shlex.join(args))
    doc = {
        "version": 1,
        "started": started_at,
        "elapsed_s": time.monotonic() - began,
        "command": command,
        "quick": options.quick,
        "machine": machine(wrk_path),
        "settings": {
            "rounds": options.rounds,
            "duration_s": options.duration_s,
            "warmup_s": options.warmup_s,
            "connections": options.scenarios[0].connections if options.scenarios else 0,
            "server_cpu": SERVER_CPU if options.pin else None,
            "wrk_cpu": WRK_CPU if options.pin else None,
            "large_bytes": options.large_bytes,
        },
        "servers": [{"name": s.name, "label": s.label} for s in options.servers],
        "scenarios": [
            {
                "name": s.name,
                "label": s.label,
                "metric": s.metric,
                "header_count": s.header_count,
                "connections": s.connections,
                "pipeline": s.pipeline,
                "note": s.note,
            }
            for s in options.scenarios
        ],
        **figures,
    }
    markdown = report.write_all(doc, options.out)
    if options.out == RESULTS:
        update_readme(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
