"""The JSON API's change feed in a real Chromium: the bundled example page open in two windows,
one writes and the other updates; an `EventSource` with credentials from an allowed origin gets
the events, and the same stream without --allow-credentials is refused by the browser.

Every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import chromium, live_server

pytestmark = pytest.mark.browser

WAIT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as context:
        yield context


def new_page(browser: Any) -> Any:
    return browser.new_page()


def items_shown(page: Any) -> int:
    count: int = page.evaluate("document.querySelectorAll('#live-items li').length")
    return count


def test_two_windows_one_writes_the_other_updates(browser: Any, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parent.parent
    shutil.copytree(repo / "examples", tmp_path / "examples")
    public, db = tmp_path / "examples" / "public", tmp_path / "examples" / "db.json"
    start = len(json.loads(db.read_text())["items"])
    writer, watcher = new_page(browser), new_page(browser)
    try:
        with live_server([str(public), "--api", str(db), "--no-access-log"]) as server:
            for page in (writer, watcher):
                page.goto(f"http://localhost:{server.port}/index.html")
                page.wait_for_function(
                    "document.getElementById('live-log').textContent.startsWith('Following')",
                    timeout=WAIT_MS,
                )
                page.wait_for_function(
                    f"document.querySelectorAll('#live-items li').length === {start}",
                    timeout=WAIT_MS,
                )
            writer.click("#api-create")
            watcher.wait_for_function(
                f"document.querySelectorAll('#live-items li').length === {start + 1}",
                timeout=WAIT_MS,
            )
            assert "Made in the browser" in watcher.text_content("#live-items")
            assert watcher.text_content("#live-log").startswith("create ")
            writer.click("#api-toggle")
            watcher.wait_for_function(
                "document.getElementById('live-items').textContent.includes('(done)')"
                " && document.getElementById('live-log').textContent.startsWith('update ')",
                timeout=WAIT_MS,
            )
            writer.click("#api-delete")
            watcher.wait_for_function(
                f"document.querySelectorAll('#live-items li').length === {start}",
                timeout=WAIT_MS,
            )
            # An edit of the file from outside: a `reload` event, and the list read again.
            saved = json.loads(db.read_text())
            saved["items"] = saved["items"][:1]
            db.write_text(json.dumps(saved))
            watcher.wait_for_function(
                "document.querySelectorAll('#live-items li').length === 1"
                " && document.getElementById('live-log').textContent.startsWith('reload ')",
                timeout=WAIT_MS,
            )
    finally:
        writer.close()
        watcher.close()


LISTEN_JS = """
(url) => new Promise((resolve) => {
  window.feedEvents = [];
  const source = new EventSource(url, { withCredentials: true });
  window.feedSource = source;
  source.addEventListener("create", (e) => window.feedEvents.push(JSON.parse(e.data)));
  source.onopen = () => resolve("open");
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) resolve("refused"); };
})
"""


@pytest.mark.parametrize("credentials", [True, False], ids=["allowed", "refused"])
def test_a_credentialed_event_source_from_an_allowed_origin(
    browser: Any, tmp_path: Path, credentials: bool
) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("<!doctype html><title>elsewhere</title>")
    db = tmp_path / "db.json"
    db.write_text(json.dumps({"items": []}))
    page = new_page(browser)
    try:
        with live_server([str(www), "--no-access-log"]) as pages:
            origin = f"http://localhost:{pages.port}"
            flags = ["--allow-origin", origin, *(["--allow-credentials"] if credentials else [])]
            with live_server([str(www), "--api", str(db), *flags]) as api:
                page.goto(origin + "/")
                state = page.evaluate(LISTEN_JS, f"http://127.0.0.1:{api.port}/api/_events")
                if not credentials:
                    # The browser refuses a credentialed stream without
                    # Access-Control-Allow-Credentials (Fetch §4.9, CORS check).
                    assert state == "refused"
                    return
                assert state == "open"
                client = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
                headers = {"Content-Type": "application/json"}
                client.request("POST", "/api/items", b'{"title": "x"}', headers)
                created = client.getresponse()
                assert created.status == 201
                etag = created.headers["ETag"]
                client.close()
                page.wait_for_function("window.feedEvents.length === 1", timeout=WAIT_MS)
                event = page.evaluate("window.feedEvents[0]")
                assert event == {"collection": "items", "id": 1, "etag": etag}
                page.evaluate("window.feedSource.close()")
    finally:
        page.close()
