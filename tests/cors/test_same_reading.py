"""Defect 10: the CORS route must be chosen from the same reading of the path as the handler's.

Before the rewrite, the router decoded `%2F` and resolved dot-segments (`/api/items/..%2F..%2Fx`
became `/x`) while the JSON API claimed the raw path by its prefix: the API answered under the
default policy.  The other way round, `/x/..%2F..%2Fapi/items` was answered by the static files
under the `/api/**` route's policy.  Now the policy is the one of the route of the handler that
answers.  Each policy allows a different origin, so the headers show which one was applied.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minicors.app import App
from minicors.config import Config
from minicors.cors import CorsPolicy, CorsRouter
from minicors.messages import Request, Response
from minicors.options import ApiOptions

from ..conftest import fetch, live_server, parse_responses

API_ORIGIN = "https://api.example"
DEFAULT_ORIGIN = "https://default.example"
ACAO = b"access-control-allow-origin"

# Answered by the JSON API (its prefix is the first segment), so under the /api/** policy.
API_TARGETS = [
    "/api/items/..%2F..%2Fx",
    "/api/items/..%2f..%2fx",
    "/api/items/%2e%2e/%2e%2e/x",
    "/api/items/%2E%2E%2F%2E%2E%2Fx",
    "/api/..%2Fx",
    "/api/items/1",  # the plain case, for contrast
]
# Answered by the static files, so under the default policy.
STATIC_TARGETS = [
    "/x/..%2F..%2Fapi/items",
    "/x/%2e%2e/api/items",
    "/static/..%2Fapi/items",
    "/hello.txt",  # the plain case, for contrast
]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    root = tmp_path / "site"
    root.mkdir()
    (root / "hello.txt").write_text("hello\n")
    db = tmp_path / "db.json"
    db.write_text(json.dumps({"items": [{"id": 1, "name": "a"}]}))
    router = CorsRouter(
        CorsPolicy(allow_origins=[DEFAULT_ORIGIN]),
        [("/api/**", CorsPolicy(allow_origins=[API_ORIGIN]))],
    )
    return Config(
        root=str(root), api=ApiOptions(file=str(db), prefix="/api"), cors=router, access_log=False
    )


async def answer(app: App, target: str, origin: str) -> Response:
    request = Request.build("GET", target, [("host", "t"), ("origin", origin)])
    result = app(request)
    return result if isinstance(result, Response) else await result


def allowed(response: Response) -> bytes | None:
    return response.header(ACAO)


@pytest.mark.parametrize("target", API_TARGETS)
async def test_the_api_answers_under_the_api_routes_policy(config: Config, target: str) -> None:
    """Old: `/api/items/..%2F..%2Fx` (and the other spellings) got the default policy's
    `Access-Control-Allow-Origin: https://default.example` and none for the API's origin."""
    app = App(config)
    for_api = await answer(app, target, API_ORIGIN)
    for_default = await answer(app, target, DEFAULT_ORIGIN)
    assert for_api.header(b"content-type") == b"application/json"  # the API answered
    assert allowed(for_api) == API_ORIGIN.encode()
    assert allowed(for_default) is None


@pytest.mark.parametrize("target", STATIC_TARGETS)
async def test_static_files_answer_under_the_default_policy(config: Config, target: str) -> None:
    """Old: `/x/..%2F..%2Fapi/items` (a static 404) got the /api/** route's policy."""
    app = App(config)
    for_api = await answer(app, target, API_ORIGIN)
    for_default = await answer(app, target, DEFAULT_ORIGIN)
    assert for_default.header(b"content-type") != b"application/json"  # not the API
    assert allowed(for_default) == DEFAULT_ORIGIN.encode()
    assert allowed(for_api) is None


async def test_the_same_holds_on_the_wire(config: Config) -> None:
    """The raw request-target as a client sends it, through the server's own parsing."""
    async with live_server(config) as live:
        for target, origin in (
            (b"/api/items/..%2F..%2Fx", API_ORIGIN),
            (b"/x/..%2F..%2Fapi/items", DEFAULT_ORIGIN),
        ):
            for sent in (API_ORIGIN, DEFAULT_ORIGIN):
                raw = b"GET %s HTTP/1.1\r\nHost: t\r\nOrigin: %s\r\n\r\n" % (target, sent.encode())
                (response,) = parse_responses(await fetch(live.address, raw))
                expected = sent.encode() if sent == origin else None
                assert response.header(ACAO) == expected, (target, sent)
