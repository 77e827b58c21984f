"""The shared wire table (`wire_table.py`) answered by `minicors serve` itself: each case's
view is what the other carriers (the ASGI middleware, nginx and Caddy exports) must match."""

from __future__ import annotations

from pathlib import Path

import pytest

from minicors.config import Config
from minicors.cors import CorsPolicy

from ..conftest import live_server, request
from .wire_table import APP, CASES, WireCase, cors_view


def _text(pairs: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_minicors_answers_each_case(tmp_path: Path, case: WireCase) -> None:
    (tmp_path / "data.json").write_text('{"a": 1}\n')
    config = Config(root=str(tmp_path), cors=CorsPolicy(**case.policy))
    async with live_server(config) as live:
        r = await request(live.address, case.method, case.path, case.headers, host="api.test")
    status, acx, vary = cors_view(case, r.status, _text(r.headers))
    acx_names = {name for name, _ in acx}
    if case.is_preflight:
        assert status in (204, 403)
        assert (status == 204) == ("access-control-allow-origin" in acx_names)
    if case.name in ("simple-allowed", "simple-creds", "listed-expose"):
        assert ("access-control-allow-origin", APP) in acx
    if "refused" in case.name:
        assert "access-control-allow-origin" not in acx_names
    if case.policy.get("allow_origins") != ["*"]:
        assert "origin" in vary
