"""The benchmark harness's pure parts (wrk command and output, scenarios, report maths) and
the floor server on a real loopback socket: it must be an honest HTTP/1.1 server, or the
ratios measured against it mean nothing."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from bench import probe, report, run, servers, stages, wrk
from bench.peers import nginx
from bench.peers.floor import Floor
from bench.scenarios import (
    COOKIE_BYTES,
    DATA_JSON,
    HEADER_COUNTS,
    ORIGIN,
    cookie,
    extra_headers,
    make_root,
    scenarios,
)
from minicors.server import BoundAddress

from .conftest import fetch, parse_responses

ALL = scenarios(large_bytes=1024 * 1024)
BY_NAME = {s.name: s for s in ALL}


# --- scenarios ---------------------------------------------------------------------------


def test_scenario_names_are_unique_and_cover_issue_6() -> None:
    names = [s.name for s in ALL]
    assert len(names) == len(set(names))
    wanted = {"preflight-allowed", "preflight-denied", "simple-get", "static-4k", "static-large"}
    wanted |= {f"headers-{n}" for n in HEADER_COUNTS} | {"cookie-8k", "new-connection"}
    wanted |= {"pipelined-16", "unique-get"}
    assert set(names) == wanted


@pytest.mark.parametrize("count", [0, 1, 10, 50, 100])
def test_extra_headers_are_distinct(count: int) -> None:
    headers = extra_headers(count)
    assert len(headers) == count
    assert len({name.lower() for name, _ in headers}) == count


@pytest.mark.parametrize("size", [100, 1000, COOKIE_BYTES])
def test_cookie_has_exact_size_and_cookie_syntax(size: int) -> None:
    value = cookie(size)
    assert len(value) == size
    assert all("=" in pair for pair in value.split("; ")[:-1])


def test_every_request_head_fits_the_16k_limit() -> None:
    for sc in ALL:
        head = sum(len(n) + len(v) + 4 for n, v in sc.headers) + len(sc.path) + 64
        assert head < 16 * 1024, sc.name


def test_make_root_writes_the_served_files(tmp_path: Path) -> None:
    make_root(tmp_path, large_bytes=3 * 1024 * 1024 + 5)
    assert (tmp_path / "data.json").read_bytes() == DATA_JSON
    assert (tmp_path / "app-4k.js").stat().st_size == 4096
    assert (tmp_path / "large.bin").stat().st_size == 3 * 1024 * 1024 + 5


# --- wrk ------------------------------------------------------------------------------------


def test_lua_script_sets_method_and_pipelines_only_when_asked() -> None:
    preflight = wrk.lua_script(BY_NAME["preflight-allowed"])
    assert 'wrk.method = "OPTIONS"' in preflight
    assert "request = function" not in preflight  # keeps wrk's static fast path
    piped = wrk.lua_script(BY_NAME["pipelined-16"])
    assert "local depth = 16" in piped and "request = function" in piped
    assert "done = function" in piped
    unique = wrk.lua_script(BY_NAME["unique-get"])
    assert 'wrk.headers["X-Request-Id"] = tostring(counter)' in unique


def test_command_pins_wrk_and_passes_every_header(tmp_path: Path) -> None:
    sc = BY_NAME["headers-50"]
    argv = wrk.command(
        sc, url="http://127.0.0.1:1", script=tmp_path / "s.lua", duration_s=2, cpu=1, wrk="wrk"
    )
    assert argv[:3] == ["taskset", "-c", "1"]
    assert "-c64" in argv and "-d2s" in argv and "--latency" in argv
    assert argv.count("-H") == 51  # Origin + 50 extra
    assert argv[-1] == "http://127.0.0.1:1/data.json"
    unpinned = wrk.command(sc, url="u", script=Path("s"), duration_s=1, cpu=None, wrk="wrk")
    assert unpinned[0] == "wrk"


SAMPLE = (
    "Running 2s test\n"
    'WRK_JSON {"requests":20000,"duration_us":2000000,"bytes":5000000,"connect":0,"read":2,'
    '"write":1,"status":7,"timeout":0,"p50_us":1500,"p99_us":9000,"mean_us":1700}\n'
)


def test_parse_reads_the_done_hook_line() -> None:
    res = wrk.parse(SAMPLE)
    assert res.rps == pytest.approx(10000)
    assert res.mbps == pytest.approx(2.5)
    assert (res.socket_errors, res.non_2xx) == (3, 7)
    assert (res.p50_ms, res.p99_ms, res.mean_ms) == (1.5, 9.0, 1.7)


def test_parse_reports_no_percentiles_for_pipelining() -> None:
    text = SAMPLE.replace('"p50_us":1500', '"p50_us":0').replace('"p99_us":9000', '"p99_us":0')
    res = wrk.parse(text)
    assert res.p50_ms is None and res.p99_ms is None and res.mean_ms == 1.7


def test_parse_without_the_line_fails() -> None:
    with pytest.raises(ValueError, match="WRK_JSON"):
        wrk.parse("Running 2s test\nRequests/sec: 10\n")


def test_missing_wrk_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(wrk.WrkMissing, match="make bench-tools"):
        wrk.find_wrk()


# --- report -------------------------------------------------------------------------------


def _round(value: float, *, rss_kb: int = 20480) -> dict[str, Any]:
    return {"rps": value, "mbps": value / 10, "p50_ms": 1.0, "p99_ms": 4.0, "rss_kb": rss_kb}


def _doc(cells: list[dict[str, Any]], memory: list[dict[str, Any]] | None = None) -> Any:
    return {
        "started": "now",
        "elapsed_s": 60,
        "command": "make bench",
        "quick": False,
        "machine": {"nproc": 2, "cpu": "cpu", "python": "3.11", "wrk": "wrk 4"},
        "settings": {
            "rounds": 3,
            "duration_s": 2,
            "warmup_s": 1,
            "connections": 64,
            "server_cpu": 0,
            "wrk_cpu": 1,
        },
        "servers": [{"name": n, "label": n} for n in ("minicors", "floor", "nginx")],
        "scenarios": [
            {"name": "simple-get", "label": "GET", "metric": "rps", "header_count": None},
            {"name": "headers-100", "label": "100 h", "metric": "rps", "header_count": 100},
            {"name": "static-large", "label": "big", "metric": "mbps", "header_count": None},
        ],
        "cells": cells,
        "memory": memory or [],
        "errors": [],
    }


def _cell(server: str, scenario: str, values: list[float], problem: str = "") -> Any:
    return {
        "server": server,
        "scenario": scenario,
        "problem": problem,
        "rounds": [_round(v) for v in values],
    }


SUMMARY_CASES = [
    # (minicors rounds, floor rounds, expected median, spread %, ratio)
    ([100, 120, 110], [100, 100, 100], 110, 100 * 20 / 110, 1.1),
    ([50], [200], 50, 0, 0.25),
    ([90, 110], [100, 100], 100, 20, 1.0),
]


@pytest.mark.parametrize(("mine", "floor", "median", "spread", "ratio"), SUMMARY_CASES)
def test_summary_median_spread_ratio(
    mine: list[float], floor: list[float], median: float, spread: float, ratio: float
) -> None:
    doc = _doc([_cell("minicors", "simple-get", mine), _cell("floor", "simple-get", floor)])
    s = report.summarize(doc)[("minicors", "simple-get")]
    assert s.value == pytest.approx(median)
    assert s.spread_pct == pytest.approx(spread)
    assert s.ratio == pytest.approx(ratio)
    assert s.rss_mb == pytest.approx(20.0)


def test_failed_cell_has_no_value_and_shows_failed() -> None:
    doc = _doc(
        [
            _cell("minicors", "headers-100", [], problem="status 431"),
            _cell("floor", "headers-100", [100]),
        ]
    )
    s = report.summarize(doc)[("minicors", "headers-100")]
    assert s.value == 0 and s.ratio is None
    assert "FAILED" in report.ratio_table(doc)


def test_targets_verdicts() -> None:
    doc = _doc(
        [
            _cell("minicors", "simple-get", [1300]),
            _cell("floor", "simple-get", [1000]),
            _cell("minicors", "headers-100", [900]),
            _cell("floor", "headers-100", [1000]),
            _cell("minicors", "static-large", [6000]),
            _cell("nginx", "static-large", [10000]),
        ],
        memory=[{"server": "minicors", "per_connection_kb": 10.0}],
    )
    verdicts = {t.what: t.verdict for t in report.targets(doc)}
    assert verdicts["simple-get: minicors / floor"] == "met"
    assert verdicts["simple-get: minicors / floor (stretch)"] == "met"
    assert verdicts["simple-get: minicors / Starlette+hypercorn(trio)"] == "n/a"
    assert verdicts["headers-100: minicors / floor"] == "MISSED"  # 0.90 < 0.95
    assert verdicts["static-large: minicors / nginx (MB/s)"] == "met"
    assert verdicts["idle keep-alive connection: 20 KB / RSS per connection"] == "met"


def test_markdown_and_plot_are_written(tmp_path: Path) -> None:
    doc = _doc([_cell("minicors", "headers-100", [900]), _cell("floor", "headers-100", [1000])])
    text = report.write_all(doc, tmp_path)
    assert "| 100 h | 900 (0.90x) | 1,000 (1.00x) | - |" in text
    assert (tmp_path / "headers.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "results.json").exists() and (tmp_path / "results.md").exists()


# --- processes -------------------------------------------------------------------------------


def test_rss_counts_the_whole_process_tree() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in servers.process_tree(os.getpid())
        assert servers.rss_kb(os.getpid()) > servers.rss_kb(child.pid) > 0
    finally:
        child.kill()
        child.wait()


def test_nginx_conf_is_valid(tmp_path: Path) -> None:
    if not Path(nginx.NGINX).exists():
        pytest.fail("nginx is not installed: run `make bench-tools` (Debian package nginx-light)")
    conf = nginx.write_conf(tmp_path, root=tmp_path, port=1, origin=ORIGIN)
    done = subprocess.run(
        [nginx.NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# --- the floor on a real socket ----------------------------------------------------------


@asynccontextmanager
async def floor_server(root: Path) -> AsyncIterator[BoundAddress]:
    """The floor (not minicors, so not conftest's `live_server`) on 127.0.0.1."""
    floor = Floor(str(root))
    async with trio.open_nursery() as nursery:
        serve = functools.partial(trio.serve_tcp, floor.connection, 0, host="127.0.0.1")
        listeners = await nursery.start(serve)
        yield BoundAddress("127.0.0.1", listeners[0].socket.getsockname()[1])
        nursery.cancel_scope.cancel()


async def test_floor_answers_pipelined_requests_in_order(tmp_path: Path) -> None:
    make_root(tmp_path, large_bytes=2 * 1024 * 1024)
    origin = f"Origin: {ORIGIN}\r\n".encode()
    raw = (
        b"GET /data.json HTTP/1.1\r\nHost: t\r\n" + origin + b"\r\n"
        b"OPTIONS /data.json HTTP/1.1\r\nHost: t\r\n" + origin + b"Access-Control-Request-Method:"
        b" PUT\r\nAccess-Control-Request-Headers: x-token\r\n\r\n"
        b"OPTIONS /data.json HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.test\r\n"
        b"Access-Control-Request-Method: PUT\r\n\r\n"
        b"GET /large.bin HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        b"GET /data.json HTTP/1.1\r\nHost: t\r\n\r\n"  # after close: never answered
    )
    async with floor_server(tmp_path) as address:
        data = await fetch(address, raw)
    got = parse_responses(data, [b"GET", b"OPTIONS", b"OPTIONS"])
    assert [r.status for r in got] == [200, 204, 403, 200, 404]
    assert got[0].body == DATA_JSON
    assert got[0].header(b"access-control-allow-origin") == ORIGIN.encode()
    assert got[1].header(b"access-control-allow-headers") == b"x-token"
    assert got[2].header(b"access-control-allow-origin") is None
    assert got[3].body == (tmp_path / "large.bin").read_bytes()
    assert got[3].header(b"access-control-allow-origin") is None  # no Origin sent


async def test_probe_check_accepts_the_floor_and_names_problems(tmp_path: Path) -> None:
    make_root(tmp_path, large_bytes=1024 * 1024)
    async with floor_server(tmp_path) as address:
        port = address.port
        for sc in ALL:
            assert await trio.to_thread.run_sync(probe.check, sc, port) == "", sc.name
        wrong = BY_NAME["simple-get"]
        bad = type(wrong)(
            name="x", label="x", path="/nope", headers=wrong.headers, check=wrong.check
        )
        problem = await trio.to_thread.run_sync(probe.check, bad, port)
        assert "status 404" in problem


def test_wrk_is_installed_for_the_quick_run() -> None:
    # The bench test below needs it; `make test` installs it through `bench-tools`.
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: run `make bench-tools` (Debian package wrk)")


# --- stages and options -------------------------------------------------------------------


def test_stages_time_every_step_of_both_paths() -> None:
    result = stages.measure(30, names=("preflight-allowed",))["preflight-allowed"]
    assert set(result) == {"minicors", "floor"}
    for stage in (stages.PARSE, stages.APP, stages.WRITE_RENDERED):
        assert result["minicors"][stage] > 0
    assert result["floor"][stages.PARSE] > 0 and result["floor"][stages.WRITE_FLOOR] > 0
    table = stages.markdown({"preflight-allowed": result})
    total = sum(result["minicors"].values())
    assert f"| **total** | **{total:.1f}** |" in table


def test_candidate_must_hold_a_minicors_package(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run.parse_args(["--candidate", str(tmp_path)])
    (tmp_path / "minicors").mkdir()
    (tmp_path / "minicors" / "__init__.py").write_text("")
    options = run.parse_args(["--quick", "--candidate", str(tmp_path)])
    assert [s.name for s in options.servers] == ["minicors", "floor", f"cand-{tmp_path.name}"]
    assert options.rounds == 1 and options.large_bytes == 10 * 2**20
