"""Driving `wrk`: the command line, the Lua script, and reading its figures.

The Lua `done` hook prints one JSON line (raw counts, latency percentiles in microseconds), so
nothing depends on wrk's human-readable units.  Pipelining uses a `request` function returning
`depth` copies of the request in one write, as TechEmpower's pipeline.lua does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .scenarios import Scenario

MARKER = "WRK_JSON "

DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""

PIPELINE = """
local depth = {depth}
local batch = nil
init = function(args)
  local r = {{}}
  for i = 1, depth do r[i] = wrk.format() end
  batch = table.concat(r)
end
request = function()
  return batch
end
"""


UNIQUE = """
local counter = 0
request = function()
  counter = counter + 1
  wrk.headers["X-Request-Id"] = tostring(counter)
  return wrk.format()
end
"""


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class WrkResult:
    requests: int
    duration_s: float
    bytes: int
    socket_errors: int  # connect + read + write + timeout
    non_2xx: int  # responses with a status outside 2xx/3xx
    p50_ms: float | None  # None: wrk records no percentiles when pipelining (a wrk quirk)
    p99_ms: float | None
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def mbps(self) -> float:
        return self.bytes / 1e6 / self.duration_s if self.duration_s > 0 else 0.0


def lua_script(scenario: Scenario) -> str:
    """The wrk script for `scenario`: the `done` hook, plus pipelining when asked."""
    text = f'wrk.method = "{scenario.method}"\n' + DONE
    if scenario.pipeline > 1:
        text = PIPELINE.format(depth=scenario.pipeline) + text
    elif scenario.unique:
        text = UNIQUE + text
    return text


def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(
            "wrk is not installed: run `make bench-tools` (Debian package wrk) and try again"
        )
    return path


def command(
    scenario: Scenario,
    *,
    url: str,
    script: Path,
    duration_s: float,
    cpu: int | None,
    wrk: str,
) -> list[str]:
    argv = [] if cpu is None else ["taskset", "-c", str(cpu)]
    argv += [
        wrk,
        "-t1",
        f"-c{scenario.connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
    ]
    for name, value in scenario.headers:
        argv += ["-H", f"{name}: {value}"]
    argv.append(url + scenario.path)
    return argv


def parse(output: str) -> WrkResult:
    """The figures from wrk's stdout (the line our `done` hook printed)."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            # With a pipelining script wrk's histogram stays empty (percentiles read 0) while
            # its mean is set: report "no percentile" rather than a false 0 ms.
            blank = raw["p99_us"] == 0 and raw["mean_us"] > 0
            return WrkResult(
                requests=int(raw["requests"]),
                duration_s=raw["duration_us"] / 1e6,
                bytes=int(raw["bytes"]),
                socket_errors=int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]),
                non_2xx=int(raw["status"]),
                p50_ms=None if blank else raw["p50_us"] / 1000,
                p99_ms=None if blank else raw["p99_us"] / 1000,
                mean_ms=raw["mean_us"] / 1000,
            )
    raise ValueError(f"no {MARKER.strip()} line in wrk output: {output[-500:]!r}")


def run(
    scenario: Scenario,
    *,
    url: str,
    script: Path,
    duration_s: float,
    cpu: int | None,
    wrk: str,
) -> WrkResult:
    argv = command(scenario, url=url, script=script, duration_s=duration_s, cpu=cpu, wrk=wrk)
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return parse(done.stdout)
