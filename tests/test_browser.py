"""What a real browser allows: Debian's Chromium fetches from a page on another origin.

Every test serves a blank page from one minicors (the "front end" origin) and points `fetch()`
at another minicors (the "API" origin) started with the policy under test; the assertion is
on what Chromium let the page see, and on the API's access log (preflights are invisible to
the page).  *.test names resolve to 127.0.0.1 inside the browser (--host-resolver-rules).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import browser_fetch, chromium, live_server

pytestmark = pytest.mark.browser

_unique = itertools.count()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as context:
        yield context


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api-root")
    (root / "data.json").write_text('{"items": [1, 2, 3]}\n')
    return root


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The front end's origin: a blank page served by its own minicors; yields its port."""
    root = tmp_path_factory.mktemp("pages")
    (root / "index.html").write_text("<!doctype html><title>front end</title><p>page</p>\n")
    with live_server([str(root), "--no-access-log"]) as server:
        yield server.port


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def open_page(page: Any, origin: str) -> None:
    page.goto(f"{origin}/index.html")


def url(port: int, path: str = "/data.json") -> str:
    # A fresh query per fetch: Chromium caches preflights per URL, so tests stay independent.
    return f"http://127.0.0.1:{port}{path}?n={next(_unique)}"


def test_default_policy_allows_loopback_origins_only(page: Any, site: Path, pages: int) -> None:
    with live_server([str(site)]) as api:
        open_page(page, f"http://localhost:{pages}")
        allowed = browser_fetch(page, url(api.port))
        assert allowed["ok"] and allowed["status"] == 200
        assert allowed["body"] == '{"items": [1, 2, 3]}\n'

        open_page(page, f"http://app.example.test:{pages}")
        refused = browser_fetch(page, url(api.port))
        assert not refused["ok"]
        assert api.wait_for_log("cors: origin http://app.example.test")


def test_allowed_and_refused_get(page: Any, site: Path, pages: int) -> None:
    with live_server([str(site), "--allow-origin", f"http://localhost:{pages}"]) as api:
        open_page(page, f"http://localhost:{pages}")
        assert browser_fetch(page, url(api.port))["ok"]
        open_page(page, f"http://other.test:{pages}")
        assert not browser_fetch(page, url(api.port))["ok"]


def test_preflighted_put_with_custom_header(page: Any, site: Path, pages: int) -> None:
    with live_server([str(site), "--allow-origin", f"http://localhost:{pages}"]) as api:
        open_page(page, f"http://localhost:{pages}")
        result = browser_fetch(
            page, url(api.port), {"method": "PUT", "headers": {"X-Token": "t"}, "body": "{}"}
        )
        # Static files answer PUT with 405, but CORS let the page read that answer.
        assert result["ok"] and result["status"] == 405
        (preflight,) = api.wait_for_log('"OPTIONS /data.json')
        assert " 204 " in preflight
        assert api.wait_for_log('"PUT /data.json')


def test_method_not_allowed_is_refused(page: Any, site: Path, pages: int) -> None:
    origin = f"http://localhost:{pages}"
    args = [str(site), "--allow-origin", origin, "--allow-method", "GET", "--allow-method", "PUT"]
    with live_server(args) as api:
        open_page(page, origin)
        assert browser_fetch(page, url(api.port), {"method": "PUT"})["ok"]
        assert not browser_fetch(page, url(api.port), {"method": "DELETE"})["ok"]
        (line,) = api.wait_for_log("cors: method DELETE")
        assert '"OPTIONS /data.json' in line and " 403 " in line
        assert not api.log_lines('"DELETE /data.json')  # the refused request never ran


def test_credentialed_fetch_needs_allow_credentials(
    browser: Any, page: Any, site: Path, pages: int
) -> None:
    origin = f"http://localhost:{pages}"
    browser.add_cookies([{"name": "session", "value": "s1", "url": "http://127.0.0.1/"}])
    init = {"credentials": "include"}
    with live_server([str(site), "--allow-origin", origin]) as api:
        open_page(page, origin)
        assert not browser_fetch(page, url(api.port), init)["ok"]
        assert browser_fetch(page, url(api.port))["ok"]  # the same fetch without credentials
    with live_server([str(site), "--allow-origin", origin, "--allow-credentials"]) as api:
        open_page(page, origin)
        result = browser_fetch(page, url(api.port), init)
        assert result["ok"] and result["status"] == 200


def test_exposed_headers_are_readable_and_others_are_not(page: Any, site: Path, pages: int) -> None:
    with live_server([str(site)]) as api:
        open_page(page, f"http://localhost:{pages}")
        result = browser_fetch(page, url(api.port))
        assert result["ok"]
        assert result["headers"].get("etag")  # in the default expose list
        assert "x-content-type-options" not in result["headers"]  # not exposed
        assert result["headers"].get("content-type", "").startswith("application/json")


@pytest.mark.parametrize(("max_age", "preflights"), [("600", 1), ("0", 2)])
def test_max_age_caches_preflights(
    page: Any, site: Path, pages: int, max_age: str, preflights: int
) -> None:
    origin = f"http://localhost:{pages}"
    with live_server([str(site), "--allow-origin", origin, "--max-age", max_age]) as api:
        open_page(page, origin)
        target = f"http://127.0.0.1:{api.port}/data.json?max-age-{max_age}-{next(_unique)}"
        for _ in range(2):
            assert browser_fetch(page, target, {"method": "PUT", "headers": {"X-A": "1"}})["ok"]
        api.wait_for_log('"PUT /data.json', count=2)
        assert len(api.log_lines('"OPTIONS /data.json')) == preflights


def test_subdomain_pattern(page: Any, site: Path, pages: int) -> None:
    with live_server([str(site), "--allow-origin", "http://*.example.test:*"]) as api:
        for host, allowed in [
            ("app.example.test", True),
            ("a.b.example.test", True),
            ("example.test", False),  # the apex is not a subdomain
            ("evilexample.test", False),  # no dot boundary
            ("example.test.evil.test", False),  # suffix appended
        ]:
            open_page(page, f"http://{host}:{pages}")
            result = browser_fetch(page, url(api.port))
            assert result["ok"] is allowed, host


@pytest.mark.parametrize(
    ("extra", "allowed"),
    [
        (["--allow-header", "*"], False),  # Fetch: '*' never covers Authorization
        (["--allow-header", "*", "--allow-header", "Authorization"], True),
    ],
)
def test_authorization_must_be_listed(
    page: Any, site: Path, pages: int, extra: list[str], allowed: bool
) -> None:
    origin = f"http://localhost:{pages}"
    with live_server([str(site), "--allow-origin", origin, *extra]) as api:
        open_page(page, origin)
        init = {"headers": {"Authorization": "Bearer t", "X-Other": "1"}}
        assert browser_fetch(page, url(api.port), init)["ok"] is allowed
