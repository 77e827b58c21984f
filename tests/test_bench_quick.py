"""`make bench QUICK=1` end to end, so the harness cannot rot: minicors and the floor, every
scenario for about a second, real wrk, real processes; the table and the JSON must hold every
scenario with non-zero throughput for both servers, and the idle-connection memory figure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scenarios import scenarios

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_bench_measures_every_scenario(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: run `make bench-tools` (Debian package wrk)")
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["quick"] is True
    assert [s["name"] for s in doc["servers"]] == ["minicors", "floor"]
    expected = [s.name for s in scenarios(large_bytes=10 * 2**20)]
    assert [s["name"] for s in doc["scenarios"]] == expected
    cells = {(c["server"], c["scenario"]): c for c in doc["cells"]}
    for server in ("minicors", "floor"):
        for name in expected:
            cell = cells[(server, name)]
            assert cell["problem"] == "", (server, name, cell["problem"])
            (figures,) = cell["rounds"]
            key = "mbps" if name == "static-large" else "rps"
            assert figures[key] > 0, (server, name)
            assert figures["rss_kb"] > 0
    memory = {m["server"]: m for m in doc["memory"]}
    assert memory["minicors"]["connections"] == 1000
    assert memory["minicors"]["rss_after_kb"] > memory["minicors"]["rss_before_kb"]
    # The stdout table names every scenario, and results.md and the plot were written.
    for scenario in doc["scenarios"]:
        assert f"| {scenario['label']} |" in done.stdout
    assert (tmp_path / "results.md").read_text().startswith("# Benchmark results")
    assert (tmp_path / "headers.png").stat().st_size > 1000
