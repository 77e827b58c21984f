"""What each benchmark scenario sends and what a correct answer looks like (pure data).

Every server gets the same requests: the same path, the same headers, the same connection
count.  `check` describes the answer a server must give before its figures count, so a server
that answers 400 to a big header block is reported as failing, not as fast.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from minicors.static.cache import SETTLE_NS

SETTLE_S = SETTLE_NS / 1e9 + 0.1

ORIGIN = "http://localhost:5173"
EVIL = "https://evil.test"
DATA_JSON = b'{"items":[{"id":1,"title":"first"},{"id":2,"title":"second"}],"total":2}\n'
SMALL_FILE = "app-4k.js"
LARGE_FILE = "large.bin"
HEADER_COUNTS = (0, 10, 50, 100)
COOKIE_BYTES = 8 * 1024
PIPELINE_DEPTH = 16
CONNECTIONS = 64

Metric = Literal["rps", "mbps"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """The answer that makes a scenario's figures valid."""

    statuses: frozenset[int]
    allow_origin: bool  # Access-Control-Allow-Origin must (True) or must not (False) be sent
    length: int | None = None  # expected Content-Length of a 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    name: str
    label: str
    method: str = "GET"
    path: str = "/data.json"
    headers: tuple[tuple[str, str], ...] = ()
    pipeline: int = 1
    connections: int = CONNECTIONS
    metric: Metric = "rps"
    check: Check
    header_count: int | None = None  # extra request headers, for the header-load curve
    note: str = ""
    long: bool = False  # measured longer (a large file: few responses per second)
    unique: bool = False  # every request carries a different X-Request-Id (no two heads alike)


def extra_headers(count: int) -> tuple[tuple[str, str], ...]:
    """`count` plausible custom headers of ~40 bytes each (name + value)."""
    return tuple((f"X-Bench-{i:03d}", f"value-{i:03d}-abcdefghijklmnopqr") for i in range(count))


def cookie(size: int) -> str:
    """A Cookie value of exactly `size` bytes made of `name=value; ` pairs, like a real one."""
    parts: list[str] = []
    total = 0
    i = 0
    while total < size:
        part = f"c{i:04d}=" + "v" * 24
        parts.append(part)
        total += len(part) + (2 if i else 0)
        i += 1
    return "; ".join(parts)[:size]


def scenarios(*, large_bytes: int) -> tuple[Scenario, ...]:
    origin = (("Origin", ORIGIN),)
    ok_get = Check(statuses=frozenset({200}), allow_origin=True, length=len(DATA_JSON))
    preflight = (
        ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "content-type,x-token"),
    )
    result = [
        Scenario(
            name="preflight-allowed",
            label="allowed preflight",
            method="OPTIONS",
            headers=(*origin, *preflight),
            check=Check(statuses=frozenset({200, 204}), allow_origin=True),
        ),
        Scenario(
            name="preflight-denied",
            label="denied preflight",
            method="OPTIONS",
            headers=(("Origin", EVIL), *preflight),
            # Refusals differ (minicors/nginx 403, Starlette 400): any answer without ACAO.
            check=Check(statuses=frozenset({200, 204, 400, 403}), allow_origin=False),
            note="non-2xx answers are expected here",
        ),
        Scenario(name="simple-get", label="simple GET (small JSON)", headers=origin, check=ok_get),
        Scenario(
            name="static-4k",
            label="static 4 KB file",
            path=f"/{SMALL_FILE}",
            headers=origin,
            check=Check(statuses=frozenset({200}), allow_origin=True, length=4096),
        ),
        Scenario(
            name="static-large",
            label=f"static {large_bytes // 2**20} MB file",
            path=f"/{LARGE_FILE}",
            headers=origin,
            connections=2,
            metric="mbps",
            long=True,
            check=Check(statuses=frozenset({200}), allow_origin=True, length=large_bytes),
        ),
    ]
    for count in HEADER_COUNTS:
        result.append(
            Scenario(
                name=f"headers-{count}",
                label=f"GET + {count} extra headers",
                headers=(*origin, *extra_headers(count)),
                header_count=count,
                check=ok_get,
            )
        )
    result += [
        Scenario(
            name="cookie-8k",
            label="GET + 8 KB Cookie",
            headers=(*origin, ("Cookie", cookie(COOKIE_BYTES))),
            check=ok_get,
        ),
        Scenario(
            name="unique-get",
            label="GET, unique X-Request-Id each",
            headers=(*origin, ("X-Request-Id", "0")),
            unique=True,
            check=ok_get,
            note="a wrk Lua counter makes every request head different (no cache can answer "
            "from the bytes alone)",
        ),
        Scenario(
            name="new-connection",
            label="new connection per request",
            headers=(*origin, ("Connection", "close")),
            check=ok_get,
            note="wrk keeps alive, so each request carries Connection: close",
        ),
        Scenario(
            name="pipelined-16",
            label=f"pipelined x{PIPELINE_DEPTH}",
            headers=origin,
            pipeline=PIPELINE_DEPTH,
            check=ok_get,
            note="a wrk Lua script writes 16 requests at once (TechEmpower style); "
            "wrk gives no latency percentiles then",
        ),
    ]
    return tuple(result)


def _small_file() -> bytes:
    line = b"export const answer = 42; // padding padding padding padding padding\n"
    return (line * (4096 // len(line) + 1))[:4095] + b"\n"


def make_root(root: Path, *, large_bytes: int) -> None:
    """The files every server serves.  Contents are fixed (no randomness) and written once.

    Returns once every file is older than minicors' settle time (a file changed in the last
    2 s is read from disk on every request, not kept in memory), so every measurement sees
    files in the state a served site is in: unchanged for a while.
    """
    root.mkdir(parents=True, exist_ok=True)
    for name, data in (("data.json", DATA_JSON), (SMALL_FILE, _small_file())):
        path = root / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    large = root / LARGE_FILE
    if not large.exists() or large.stat().st_size != large_bytes:
        block = bytes(range(256)) * 4096  # 1 MiB
        with large.open("wb") as f:
            for offset in range(0, large_bytes, len(block)):
                f.write(block[: large_bytes - offset])
    newest = max(os.stat(p).st_ctime for p in root.iterdir())
    time.sleep(max(0.0, newest + SETTLE_S - time.time()))
