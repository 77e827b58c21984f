"""--proxy as Chromium sees it: a page on another origin uses a proxied API with credentials,
gets the upstream's cookie back on the next request, reads a 502, and talks over a proxied
WebSocket; a page on an origin the policy refuses can do none of that.

The upstream is the proxy tests' ASGI app under uvicorn; pages and proxy are `minicors serve`
processes.  Page and API are on `localhost` (other ports, so other origins, same site), as a
front end's dev server and minicors are: the upstream's `SameSite=Lax` cookie is then kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from .browser import browser_fetch, chromium, live_server
from .proxy.helpers import Upstream, free_port, upstream

pytestmark = pytest.mark.browser

_unique = itertools.count()

WEBSOCKET_JS = """
async (url) => new Promise((resolve) => {
  const ws = new WebSocket(url);
  const timer = setTimeout(() => resolve({opened: false, error: "timeout"}), 5000);
  ws.onopen = () => ws.send("hi");
  ws.onmessage = (event) => {
    clearTimeout(timer);
    ws.close();
    resolve({opened: true, data: event.data});
  };
  ws.onerror = () => { clearTimeout(timer); resolve({opened: false, error: "error"}); };
})
"""


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with upstream() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as context:
        yield context


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    root = tmp_path_factory.mktemp("pages")
    (root / "index.html").write_text("<!doctype html><title>front end</title><p>page</p>\n")
    with live_server([str(root), "--no-access-log"]) as server:
        yield server.port


@pytest.fixture(scope="module")
def proxy(up: Upstream, pages: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("proxy-root")
    args = [
        str(root),
        "--proxy", f"/api={up.origin}/v1",
        "--proxy", f"/dead=http://127.0.0.1:{free_port()}",
        "--allow-origin", f"http://localhost:{pages}",
        "--allow-credentials",
    ]  # fmt: skip
    with live_server(args) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def api(proxy: Any, path: str) -> str:
    separator = "&" if "?" in path else "?"
    return f"http://localhost:{proxy.port}{path}{separator}n={next(_unique)}"


def test_a_page_uses_the_proxied_api_with_credentials(page: Any, proxy: Any, pages: int) -> None:
    page.goto(f"http://localhost:{pages}/index.html")
    credentials = {"credentials": "include"}
    set_cookie = browser_fetch(page, api(proxy, "/api/cookie"), credentials)
    assert set_cookie["ok"] and set_cookie["status"] == 200, set_cookie
    assert set_cookie["body"] == "cookie set\n"
    echoed = browser_fetch(page, api(proxy, "/api/echo"), credentials)
    assert echoed["ok"] and echoed["status"] == 200, echoed
    # The upstream's cookie came back through the proxy: it landed on minicors's host.
    assert '["cookie", "session=s3cret"]' in echoed["body"]
    assert proxy.wait_for_log("upstream 200 in")


def test_a_page_reads_a_502(page: Any, proxy: Any, pages: int) -> None:
    page.goto(f"http://localhost:{pages}/index.html")
    failed = browser_fetch(page, api(proxy, "/dead/anything"))
    assert failed["ok"] and failed["status"] == 502, failed
    assert "could not be reached" in failed["body"]


def test_a_page_opens_a_websocket_through_the_proxy(page: Any, proxy: Any, pages: int) -> None:
    page.goto(f"http://localhost:{pages}/index.html")
    result = page.evaluate(WEBSOCKET_JS, f"ws://localhost:{proxy.port}/api/ws")
    assert result == {"opened": True, "data": "echo: hi"}
    assert proxy.wait_for_log('"GET /api/ws HTTP/1.1" 101')


def test_a_refused_origin_can_do_none_of_it(
    page: Any, proxy: Any, pages: int, up: Upstream
) -> None:
    before = up.get("/ws-count")
    page.goto(f"http://app.example.test:{pages}/index.html")
    refused = browser_fetch(page, api(proxy, "/api/echo"), {"credentials": "include"})
    assert not refused["ok"]
    socket = page.evaluate(WEBSOCKET_JS, f"ws://localhost:{proxy.port}/api/ws")
    assert not socket["opened"]
    assert proxy.wait_for_log('"GET /api/ws HTTP/1.1" 403')
    assert up.get("/ws-count") == before  # the upstream never saw the upgrade
