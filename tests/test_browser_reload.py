"""--reload in a real Chromium: an edited script reloads the page, an edited stylesheet changes
the page's style without a reload, a deleted and recreated file is seen, and after a server
restart the page reconnects and reloads once.

A page proves it was not reloaded by keeping a value set on `window` before the edit; a reload
clears it.  Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import chromium, free_port, live_server

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html><head><title>reload</title><link rel="stylesheet" href="/style.css"></head>
<body><h1 id="title">hello</h1><script src="/app.js"></script></body></html>
"""
RED, BLUE = "rgb(255, 0, 0)", "rgb(0, 0, 255)"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(PAGE)
    (root / "style.css").write_text("#title { color: red }\n")
    (root / "app.js").write_text("window.version = 1;\n")
    return root


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as context:
        yield context


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def color(page: Any) -> str:
    value: str = page.evaluate("getComputedStyle(document.getElementById('title')).color")
    return value


def wait_for(page: Any, script: str, timeout_s: float = 10) -> None:
    page.wait_for_function(script, timeout=timeout_s * 1000)


def opened(page: Any, port: int) -> None:
    page.goto(f"http://127.0.0.1:{port}/")
    wait_for(page, "window.version === 1")
    # The reload script has connected: its stream's first event arrived.
    time.sleep(0.5)
    page.evaluate("window.marker = 'kept'")


def test_a_script_edit_reloads_the_page(page: Any, site: Path) -> None:
    with live_server([str(site), "--reload", "--no-access-log"]) as server:
        opened(page, server.port)
        (site / "app.js").write_text("window.version = 2;\n")
        wait_for(page, "window.version === 2")
        assert page.evaluate("window.marker") is None  # a fresh page


def test_a_stylesheet_edit_changes_the_style_without_a_reload(page: Any, site: Path) -> None:
    with live_server([str(site), "--reload", "--no-access-log"]) as server:
        opened(page, server.port)
        assert color(page) == RED
        (site / "style.css").write_text("#title { color: blue }\n")
        wait_for(page, f"getComputedStyle(document.getElementById('title')).color === '{BLUE}'")
        assert page.evaluate("window.marker") == "kept"  # the same page: no reload
        links = page.evaluate("document.querySelectorAll('link[rel=stylesheet]').length")
        assert links == 1  # the old link went once the new one loaded


def test_a_deleted_and_recreated_file_is_seen(page: Any, site: Path) -> None:
    with live_server([str(site), "--reload", "--no-access-log"]) as server:
        opened(page, server.port)
        (site / "app.js").unlink()
        wait_for(page, "window.marker === undefined && document.readyState === 'complete'")
        page.evaluate("window.marker = 'again'")
        (site / "app.js").write_text("window.version = 3;\n")
        wait_for(page, "window.version === 3")


def test_the_page_reloads_once_after_a_server_restart(page: Any, site: Path) -> None:
    port = free_port()
    with live_server([str(site), "--reload", "--no-access-log"], port=port):
        opened(page, port)
    # The server is gone; a new one comes up on the same port.
    with live_server([str(site), "--reload", "--no-access-log"], port=port):
        wait_for(page, "window.marker === undefined && window.version === 1", timeout_s=15)
        page.evaluate("window.marker = 'after restart'")
        time.sleep(2.5)  # a second reload would clear the marker again
        assert page.evaluate("window.marker") == "after restart"


def cross_origin_page(root: Path, watched_port: int) -> None:
    """A page on another origin that takes the reload script from the watching server (as a
    page served by another dev server would)."""
    root.mkdir()
    (root / "index.html").write_text(
        "<!doctype html><title>elsewhere</title><body><script>window.version = 1;</script>"
        f'<script src="http://127.0.0.1:{watched_port}/_minicors/reload.js"></script></body>'
    )


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "refused"])
def test_an_event_stream_from_another_origin_follows_the_policy(
    page: Any, site: Path, tmp_path: Path, allowed: bool
) -> None:
    policy = [] if allowed else ["--allow-origin", "https://elsewhere.test"]
    watching = [str(site), "--reload", *policy]
    with live_server(watching) as watched:
        other = tmp_path / "other"
        cross_origin_page(other, watched.port)
        with live_server([str(other), "--no-access-log"]) as server:
            page.goto(f"http://localhost:{server.port}/")  # origin http://localhost:PORT
            wait_for(page, "window.version === 1")
            time.sleep(0.5)  # the stream connects (its log line comes only when it ends)
            page.evaluate("window.marker = 'kept'")
            (site / "app.js").write_text("window.version = 2;\n")
            if allowed:
                wait_for(page, "window.marker === undefined")
            else:
                # The stream's answer carries no Access-Control-Allow-Origin: the browser
                # refuses it, so the edit never reaches the page.
                time.sleep(3)
                assert page.evaluate("window.marker") == "kept"
                assert watched.wait_for_log("cors: origin http://localhost")
