"""--tls in a real Chromium that trusts minicors's CA the way a user makes it trust it: through
`minicors tls trust`, into the NSS database of a temporary `$HOME` (no ignored certificate
errors anywhere).  The page loads over https with no certificate error, and a credentialed
cross-origin fetch sends and receives a `SameSite=None; Secure` cookie.

The page is served by a `minicors serve --tls` subprocess on https://localhost:PORT; the API
origin is https://localhost:OTHER (cross-origin, same site), a minicors server run in a thread
with two extra answers, one that sets the cookie and one that says which cookie it received
(minicors itself never sets cookies).  The two are the same site on purpose: this Chromium
blocks third-party cookies, so a cookie set by a cross-site API (https://127.0.0.1 under a page
on https://localhost) is dropped by the browser whatever the server does.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from minicors.app import App
from minicors.config import Config
from minicors.cors import CorsPolicy
from minicors.messages import Request, Response
from minicors.options import TlsOptions
from minicors.server import BoundAddress, Server

from .browser import browser_fetch, chromium, live_server
from .procs import minicors_cmd

pytestmark = pytest.mark.browser

COOKIE = b"session=s3cret; SameSite=None; Secure; Path=/"


def cookie_app(app: App) -> Any:
    """`app`, plus /set-cookie and /whoami, under the same CORS policy."""

    def answer(request: Request) -> Any:
        if request.path == "/set-cookie":
            response = Response(status=200, headers=((b"set-cookie", COOKIE),), body=b"set\n")
        elif request.path == "/whoami":
            response = Response(status=200, body=(request.header(b"cookie") or "").encode())
        else:
            return app(request)
        policy = app.router.policy_for(request.url)
        decision = policy.decide(request)
        if decision.is_preflight:
            return policy.preflight_response(decision)
        return policy.annotate(decision, response)

    return answer


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A temporary HOME whose NSS database trusts a fresh minicors CA (via `minicors tls
    trust`), and the environment that points minicors and Chromium at it."""
    base = tmp_path_factory.mktemp("tls-home")
    env = dict(os.environ, HOME=str(base / "home"), MINICORS_HOME=str(base / "ca"))
    env.pop("XDG_DATA_HOME", None)
    os.makedirs(env["HOME"])
    done = subprocess.run(
        minicors_cmd("tls", "trust", "--no-system-store"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    yield env


@pytest.fixture
def api(home: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    """The API origin on https://localhost:PORT (a thread running minicors with the cookie
    answers); yields its port."""
    monkeypatch.setenv("MINICORS_HOME", home["MINICORS_HOME"])
    root = tmp_path / "api"
    root.mkdir()
    ready: list[BoundAddress] = []
    stop = threading.Event()

    async def main() -> None:
        config = Config(
            root=str(root),
            port=0,
            access_log=False,
            tls=TlsOptions(),
            cors=CorsPolicy(allow_origins=["https://localhost:*"], allow_credentials=True),
        )
        server = Server(config, app=cookie_app(App(config)))
        async with trio.open_nursery() as nursery:
            ready.append(await nursery.start(server.serve))
            while not stop.is_set():
                await trio.sleep(0.05)
            nursery.cancel_scope.cancel()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if ready:
                break
            thread.join(0.05)
        assert ready, "the API server did not start"
        assert ready[0].url.startswith("https://")
        yield ready[0].port
    finally:
        stop.set()
        thread.join(10)


@pytest.fixture
def pages(home: dict[str, str], tmp_path: Path) -> Iterator[int]:
    root = tmp_path / "pages"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>secure</title><p>page</p>\n")
    old = {k: os.environ.get(k) for k in ("HOME", "MINICORS_HOME")}
    os.environ.update(HOME=home["HOME"], MINICORS_HOME=home["MINICORS_HOME"])
    try:
        with live_server([str(root), "--tls", "--no-access-log"]) as server:
            yield server.port
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_https_page_and_a_credentialed_cross_origin_cookie(
    home: dict[str, str], pages: int, api: int
) -> None:
    with chromium(env=dict(home)) as browser:
        page = browser.new_page()
        response = page.goto(f"https://localhost:{pages}/")  # raises on a certificate error
        assert response is not None and response.ok
        assert page.evaluate("window.isSecureContext") is True
        target = f"https://localhost:{api}"
        made = browser_fetch(page, f"{target}/set-cookie", {"credentials": "include"})
        assert made["ok"] and made["status"] == 200, made
        jar = {c["name"]: c for c in page.context.cookies()}
        assert jar["session"]["secure"] and jar["session"]["sameSite"] == "None", jar
        seen = browser_fetch(page, f"{target}/whoami", {"credentials": "include"})
        assert seen["ok"] and seen["body"] == "session=s3cret", seen
        # Without credentials the browser sends no cookie: the one above came by `include`.
        bare = browser_fetch(page, f"{target}/whoami")
        assert bare["ok"] and bare["body"] == "", bare


def test_without_trust_the_same_page_is_a_certificate_error(
    home: dict[str, str], pages: int, tmp_path: Path
) -> None:
    """The trust above is what makes the page load: a HOME whose NSS database never saw
    `minicors tls trust` gets the browser's certificate error for the very same server."""
    from playwright.sync_api import Error

    untrusting: dict[str, str | float | bool] = dict(home, HOME=str(tmp_path / "fresh-home"))
    os.makedirs(str(untrusting["HOME"]))
    with chromium(env=untrusting) as browser:
        page = browser.new_page()
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(f"https://localhost:{pages}/")
