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


# --- static files seen from another origin (media seeking, wasm, module scripts) -----------

WASM_ANSWER = bytes.fromhex(
    "0061736d01000000"  # magic, version 1
    "01050160"
    "00017f"  # type section: () -> i32
    "03020100"  # function section: one function of type 0
    "070a0106"
    "616e73776572"
    "0000"  # export section: "answer" = function 0
    "0a060104"
    "00412a0b"  # code section: no locals; i32.const 42; end
)


def _write_wav(path: Path, seconds: int) -> None:
    import wave

    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        frame = bytes(range(4)) * 4410  # a quiet, non-constant pattern; content is irrelevant
        for _ in range(seconds * 10):
            wav.writeframes(frame)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assets")
    _write_wav(root / "tone.wav", 120)  # ~21 MB: big enough that seeking needs new ranges
    (root / "answer.wasm").write_bytes(WASM_ANSWER)
    (root / "mod.mjs").write_text("export const answer = 42;\n")
    return root


SEEK_JS = """
async (src) => {
  const audio = new Audio();
  audio.crossOrigin = "anonymous";  // CORS mode: the media must pass the CORS check
  audio.preload = "metadata";
  const wait = (name) => new Promise((ok, fail) => {
    audio.addEventListener(name, () => ok(true), {once: true});
    audio.addEventListener("error", () => fail(new Error("media error " + audio.error?.code)),
                           {once: true});
  });
  const loaded = wait("loadedmetadata");
  audio.src = src;
  await loaded;
  const seeked = wait("seeked");
  audio.currentTime = audio.duration - 5;
  await seeked;
  return {duration: audio.duration, time: audio.currentTime, ready: audio.readyState};
}
"""


def test_cross_origin_media_seek_uses_ranges(page: Any, assets: Path, pages: int) -> None:
    with live_server([str(assets)]) as api:
        open_page(page, f"http://localhost:{pages}")
        result = page.evaluate(SEEK_JS, f"http://127.0.0.1:{api.port}/tone.wav")
        assert abs(result["duration"] - 120) < 1
        assert result["time"] > 100
        ranged = api.wait_for_log('"GET /tone.wav')
        assert any(" 206 " in line for line in ranged), ranged
        assert not api.log_lines('"OPTIONS /tone.wav')  # media range requests need no preflight


def test_simple_range_fetch_needs_no_preflight(page: Any, assets: Path, pages: int) -> None:
    with live_server([str(assets)]) as api:
        open_page(page, f"http://localhost:{pages}")
        target = f"http://127.0.0.1:{api.port}/mod.mjs"
        result = browser_fetch(page, target, {"headers": {"Range": "bytes=7-11"}})
        assert result["ok"] and result["status"] == 206
        assert result["body"] == "const"
        # A suffix range is not CORS-safelisted (Fetch §"CORS-safelisted request-header"):
        # the browser preflights it, and the default policy allows it.
        suffix = browser_fetch(page, target + "?suffix", {"headers": {"Range": "bytes=-3"}})
        assert suffix["ok"] and suffix["status"] == 206
        (preflight,) = api.wait_for_log('"OPTIONS /mod.mjs?suffix')
        assert " 204 " in preflight
        assert not api.log_lines('"OPTIONS /mod.mjs HTTP')


WASM_JS = """
async (src) => {
  const {instance} = await WebAssembly.instantiateStreaming(fetch(src));
  return instance.exports.answer();
}
"""


def test_cross_origin_wasm_and_module_script(page: Any, assets: Path, pages: int) -> None:
    with live_server([str(assets)]) as api:
        open_page(page, f"http://localhost:{pages}")
        base = f"http://127.0.0.1:{api.port}"
        assert page.evaluate(WASM_JS, f"{base}/answer.wasm") == 42
        assert page.evaluate("async (u) => (await import(u)).answer", f"{base}/mod.mjs") == 42


def test_module_script_refused_for_an_origin_not_allowed(
    page: Any, assets: Path, pages: int
) -> None:
    with live_server([str(assets), "--allow-origin", "https://elsewhere.test"]) as api:
        open_page(page, f"http://localhost:{pages}")
        outcome = page.evaluate(
            "async (u) => { try { await import(u); return 'loaded'; } "
            "catch (e) { return 'blocked'; } }",
            f"http://127.0.0.1:{api.port}/mod.mjs",
        )
        assert outcome == "blocked"


# --- the JSON API from another origin ------------------------------------------------------

CRUD_JS = """
async (base) => {
  const json = {"Content-Type": "application/json"};
  const out = {};
  const created = await fetch(base + "/api/items", {
    method: "POST", headers: json, body: JSON.stringify({title: "from the browser", done: false}),
  });
  out.createStatus = created.status;
  out.location = created.headers.get("Location");
  const item = await created.json();
  out.id = item.id;
  const edited = await fetch(base + out.location, {
    method: "PATCH", headers: json, body: JSON.stringify({done: true}),
  });
  out.editStatus = edited.status;
  out.edited = await edited.json();
  const list = await fetch(base + "/api/items?_page=1&_limit=2");
  out.total = list.headers.get("X-Total-Count");
  out.link = list.headers.get("Link");
  const removed = await fetch(base + out.location, {method: "DELETE"});
  out.deleteStatus = removed.status;
  const gone = await fetch(base + out.location);
  out.goneStatus = gone.status;
  return out;
}
"""


def test_api_crud_from_another_origin(page: Any, tmp_path: Path, pages: int) -> None:
    import json

    db = tmp_path / "db.json"
    db.write_text(json.dumps({"items": [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]}))
    (tmp_path / "www").mkdir()
    with live_server([str(tmp_path / "www"), "--api", str(db)]) as api:
        open_page(page, f"http://localhost:{pages}")
        out = page.evaluate(CRUD_JS, f"http://127.0.0.1:{api.port}")
        assert out["createStatus"] == 201
        assert out["location"] == f"/api/items/{out['id']}"  # Location is exposed by default
        assert out["id"] == 3  # integer ids continue the sequence
        assert out["editStatus"] == 200 and out["edited"]["done"] is True
        assert out["total"] == "3"  # X-Total-Count is exposed by default
        assert out["link"] and 'rel="next"' in out["link"]
        assert out["deleteStatus"] in (200, 204)
        assert out["goneStatus"] == 404
        # JSON bodies are not CORS-safelisted: POST and PATCH were preflighted, DELETE too.
        assert api.wait_for_log('"OPTIONS /api/items HTTP', count=1)
        assert len(api.log_lines('"OPTIONS /api/items/3 HTTP')) >= 1
    saved = json.loads(db.read_text())
    assert [item["id"] for item in saved["items"]] == [1, 2]  # the delete reached the file


def test_example_page_demos_work_cross_origin(page: Any, tmp_path: Path) -> None:
    """The bundled example (what `make run` serves), driven like a person would."""
    import shutil

    repo = Path(__file__).resolve().parent.parent
    shutil.copytree(repo / "examples", tmp_path / "examples")
    public, db = tmp_path / "examples" / "public", tmp_path / "examples" / "db.json"
    with live_server([str(public), "--api", str(db)]) as server:
        page.goto(f"http://localhost:{server.port}/index.html")
        # Wait for the finished line ("LABEL: STATUS ..."), not the "LABEL …" shown meanwhile.
        page.click("#simple")
        page.wait_for_function("document.getElementById('out').textContent.includes('GET: 200')")
        page.click("#preflight")
        page.wait_for_function(
            "document.getElementById('out').textContent.includes('(preflighted): 200')"
        )
        page.click("#api-create")
        page.wait_for_function("document.getElementById('api-out').textContent.includes('201')")
        assert "Location: /api/items/" in page.text_content("#api-out")
        page.click("#api-list")
        page.wait_for_function(
            "document.getElementById('api-out').textContent.includes('X-Total-Count')"
        )
        page.click("#api-delete")
        page.wait_for_function(
            "(t => t.startsWith('DELETE') && t.includes(': 200'))"
            "(document.getElementById('api-out').textContent)"
        )
        assert server.log_lines('"OPTIONS /api/items HTTP')  # the POST was preflighted
