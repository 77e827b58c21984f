"""Local Network Access in the real Chromium, against what `minicors check` says of it.

The page's server is made a public address for the browser (`--ip-address-space-overrides`),
the API stays loopback: every fetch is public -> loopback.  A secure-context page
(http://127.0.0.1, potentially trustworthy) gets through once the permission is granted; an
insecure one (http://app.test) never does, and neither request reaches the server: the check
comes before CORS.  `minicors check --page-address-space public` must say the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from minicors.cli import main

from .browser import CHROMIUM, CHROMIUM_ARGS, LiveServer, browser_fetch, live_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, LiveServer]]:
    """(the page's port, the API) with the API allowing both page origins."""
    root = tmp_path_factory.mktemp("lna")
    (root / "index.html").write_text("<!doctype html><title>page</title>\n")
    (root / "data.json").write_text('{"a": 1}\n')
    with live_server([str(root), "--no-access-log"]) as front:
        origins = [f"http://127.0.0.1:{front.port}", f"http://app.test:{front.port}"]
        flags = [x for o in origins for x in ("--allow-origin", o)]
        with live_server([str(root), *flags]) as api:
            yield front.port, api


def _fetch_from(front: int, api: LiveServer, granted: bool) -> dict[str, bool]:
    """Whether each page (by origin) could read the API, in one fresh Chromium."""
    from playwright.sync_api import sync_playwright

    args = [*CHROMIUM_ARGS, f"--ip-address-space-overrides=127.0.0.1:{front}=public"]
    out: dict[str, bool] = {}
    with tempfile.TemporaryDirectory(prefix="minicors-lna-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=args
        )
        try:
            if granted:
                context.grant_permissions(["local-network-access"])
            page: Any = context.new_page()
            for origin in (f"http://127.0.0.1:{front}", f"http://app.test:{front}"):
                page.goto(f"{origin}/index.html")
                result = browser_fetch(page, f"http://127.0.0.1:{api.port}/data.json")
                out[origin] = bool(result["ok"]) and result["status"] == 200
        finally:
            context.close()
    return out


def _check_allows(origin: str, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    code = main(["check", "--origin", origin, "--allow-origin", origin,
                 "--page-address-space", "public"])  # fmt: skip
    return code == 0, capsys.readouterr().out


def test_public_to_loopback_needs_a_secure_page_and_the_permission(
    servers: tuple[int, LiveServer], capsys: pytest.CaptureFixture[str]
) -> None:
    front, api = servers
    secure, insecure = f"http://127.0.0.1:{front}", f"http://app.test:{front}"
    before = len(api.log_lines("GET /data.json"))
    # Not granted (headless: no one answers the prompt): both fail, before any request.
    assert _fetch_from(front, api, granted=False) == {secure: False, insecure: False}
    assert len(api.log_lines("GET /data.json")) == before
    # Granted: the secure page passes LNA and then CORS; the insecure one still cannot ask.
    assert _fetch_from(front, api, granted=True) == {secure: True, insecure: False}
    assert len(api.wait_for_log("GET /data.json", before + 1)) == before + 1

    allowed, report = _check_allows(secure, capsys)
    assert allowed
    assert "asks the user for the 'loopback-network' permission" in report
    allowed, report = _check_allows(insecure, capsys)
    assert not allowed
    assert "fails the request before CORS, without asking" in report
