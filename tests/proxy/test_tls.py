"""An https upstream: a second minicors behind --tls is trusted through minicors's own CA, an
upstream whose certificate cannot be verified is a readable 502, and --proxy-insecure lets it
through."""

from __future__ import annotations

from pathlib import Path

import pytest

from minicors import proxyclient
from minicors.config import Config
from minicors.options import TlsOptions
from minicors.proxy import ProxyOptions, route

from ..conftest import live_server
from .helpers import request

ALLOWED = "http://localhost:5173"


@pytest.fixture(autouse=True)
def ca_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary CA home (never the user's), and no trust remembered from another test."""
    home = tmp_path / "minicors-home"
    monkeypatch.setenv("MINICORS_HOME", str(home))
    monkeypatch.setattr(proxyclient, "_TRUST", None)
    return home


def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "hello.txt").write_text("from the https upstream\n")
    return root


@pytest.mark.parametrize("insecure", [False, True])
async def test_a_second_minicors_behind_tls_is_trusted(tmp_path: Path, insecure: bool) -> None:
    upstream = Config(root=str(site(tmp_path)), tls=TlsOptions())
    async with live_server(upstream) as tls:
        target = f"https://127.0.0.1:{tls.address.port}"
        proxy = ProxyOptions(routes=(route("/api", target, insecure=insecure),))
        async with live_server(Config(root=str(tmp_path), proxy=proxy)) as live:
            response = await request(live.address, "GET", "/api/hello.txt", [("Origin", ALLOWED)])
    assert response.status == 200, response.body
    assert response.body == b"from the https upstream\n"


async def test_an_unverifiable_upstream_is_a_502_unless_insecure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = Config(root=str(site(tmp_path)), tls=TlsOptions())
    async with live_server(upstream) as tls:
        # The proxy looks for its CA elsewhere: the upstream's certificate is unknown to it.
        monkeypatch.setenv("MINICORS_HOME", str(tmp_path / "another-home"))
        target = f"https://127.0.0.1:{tls.address.port}"
        proxy = ProxyOptions(routes=(route("/api", target),))
        async with live_server(Config(root=str(tmp_path), proxy=proxy)) as live:
            response = await request(live.address, "GET", "/api/hello.txt", [("Origin", ALLOWED)])
    assert response.status == 502
    assert response.header(b"access-control-allow-origin") == ALLOWED.encode()
    assert b"CERTIFICATE_VERIFY_FAILED" in response.body and target.encode() in response.body
