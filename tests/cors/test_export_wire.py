"""The shared wire table (`wire_table.py`) answered by real nginx and Caddy running the policy
exported by `minicors export`, in front of a bare upstream that sets CORS headers of its own:
every case's `cors_view` must equal `minicors serve`'s for the same policy and request."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import pytest
import trio

from minicors.config import Config
from minicors.cors import CorsPolicy, export_policy

from ..conftest import live_server, request
from . import proxies
from .wire_table import CASES, CaseView, WireCase, cors_view, find

Starter = Callable[[str, int, Path], AbstractContextManager[int]]
TARGETS: dict[str, Starter] = {"nginx": proxies.nginx, "caddy": proxies.caddy}


def _text(pairs: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]


def _key(policy: dict[str, Any]) -> str:
    return json.dumps(policy, sort_keys=True)


class Fleet:
    """The proxy of each target for one policy at a time: a request for another policy stops
    it and starts the next (the cases run grouped by policy, so each policy starts once)."""

    def __init__(self, tmp: Path, upstream_port: int) -> None:
        self.tmp, self.upstream = tmp, upstream_port
        self.running: dict[str, tuple[str, int, ExitStack]] = {}
        self.started = 0

    def port(self, target: str, policy: dict[str, Any]) -> int:
        key = _key(policy)
        current = self.running.get(target)
        if current is not None and current[0] == key:
            return current[1]
        self.stop(target)
        port = proxies.free_port()
        conf = export_policy(
            target,
            CorsPolicy(**policy),
            upstream=f"http://127.0.0.1:{self.upstream}",
            listen=f"127.0.0.1:{port}",
            version="test",
            source="the wire table",
        )
        self.started += 1
        stack = ExitStack()
        stack.enter_context(TARGETS[target](conf, port, self.tmp / f"{target}-{self.started}"))
        self.running[target] = (key, port, stack)
        return port

    def stop(self, target: str) -> None:
        current = self.running.pop(target, None)
        if current is not None:
            current[2].close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with proxies.upstream() as port:
        fleet = Fleet(tmp_path_factory.mktemp("proxies"), port)
        try:
            yield fleet
        finally:
            for target in TARGETS:
                fleet.stop(target)


async def minicors_view(tmp_path: Path, case: WireCase) -> CaseView:
    (tmp_path / "data.json").write_text('{"a": 1}\n')
    config = Config(root=str(tmp_path), cors=CorsPolicy(**case.policy))
    async with live_server(config) as live:
        r = await request(live.address, case.method, case.path, case.headers, host="api.test")
    return cors_view(case, r.status, _text(r.headers))


BY_POLICY = sorted(CASES, key=lambda c: _key(c.policy))


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("case", BY_POLICY, ids=[c.name for c in BY_POLICY])
async def test_export_answers_as_minicors(
    tmp_path: Path, fleet: Fleet, target: str, case: WireCase
) -> None:
    port = fleet.port(target, case.policy)
    status, headers = await trio.to_thread.run_sync(
        proxies.exchange, port, case.method, case.path, case.headers, "api.test"
    )
    assert cors_view(case, status, headers) == await minicors_view(tmp_path, case)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("path", ["/fail", "/down"])
async def test_error_answers_carry_the_cors_headers(
    tmp_path: Path, fleet: Fleet, target: str, path: str
) -> None:
    """The app's 500 and the proxy's own 502 (upstream down) are readable by the page, as
    minicors's error answers are: the same CORS headers as a 200 (nginx: `always`)."""
    (case,) = find(["simple-allowed"])
    if path == "/down":
        port, dead = proxies.free_port(), proxies.free_port()  # nothing listens on `dead`
        conf = export_policy(
            target,
            CorsPolicy(**case.policy),
            upstream=f"http://127.0.0.1:{dead}",
            listen=f"127.0.0.1:{port}",
            version="test",
            source="the wire table",
        )
        with TARGETS[target](conf, port, tmp_path / target):
            status, headers = await trio.to_thread.run_sync(
                proxies.exchange, port, "GET", path, case.headers, "api.test"
            )
        assert status == 502
    else:
        port = fleet.port(target, case.policy)
        status, headers = await trio.to_thread.run_sync(
            proxies.exchange, port, "GET", path, case.headers, "api.test"
        )
        assert status == 500
    assert cors_view(case, status, headers) == await minicors_view(tmp_path, case)
