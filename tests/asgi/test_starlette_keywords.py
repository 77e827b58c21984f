"""Starlette's keywords keep Starlette's meanings: for each setting and request of the table,
`minicors.asgi.CORSMiddleware` allows exactly what `starlette.middleware.cors.CORSMiddleware`
allows, with the same origin, credentials, exposed headers and max-age.  Where the two differ
on purpose (the README lists it), a test of its own says so."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.middleware.cors import CORSMiddleware as StarletteCORS

from minicors.asgi import CORSMiddleware

from .helpers import Exchange, StubApp, call, http_scope

APP = "https://app.test"
EVIL = "https://evil.test"
ORG = "https://a.example.org"

SETTINGS: dict[str, dict[str, Any]] = {
    "listed": {"allow_origins": [APP]},
    "creds-any-method-header": {
        "allow_origins": [APP],
        "allow_credentials": True,
        "allow_methods": ["*"],
        "allow_headers": ["*"],
    },
    "star": {"allow_origins": ["*"], "allow_methods": ["GET", "PUT"]},
    "regex": {"allow_origin_regex": r"https://[a-z]+\.example\.org", "allow_methods": ["PUT"]},
    "detailed": {
        "allow_origins": [APP],
        "allow_headers": ["X-Token"],
        "allow_methods": ["GET", "PUT"],
        "expose_headers": ["X-Request-Id"],
        "max_age": 60,
    },
    "nothing": {},
}


def _preflight(origin: str, method: str, headers: str = "") -> tuple[tuple[str, str], ...]:
    out = [("Origin", origin), ("Access-Control-Request-Method", method)]
    return (*out, ("Access-Control-Request-Headers", headers)) if headers else tuple(out)


REQUESTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "get-app": ("GET", (("Origin", APP),)),
    "get-evil": ("GET", (("Origin", EVIL),)),
    "get-org": ("GET", (("Origin", ORG),)),
    "pre-put-token": ("OPTIONS", _preflight(APP, "PUT", "x-token")),
    "pre-put-json": ("OPTIONS", _preflight(APP, "PUT", "content-type")),
    "pre-delete": ("OPTIONS", _preflight(APP, "DELETE")),
    "pre-get-authorization": ("OPTIONS", _preflight(APP, "GET", "authorization")),
    "pre-evil": ("OPTIONS", _preflight(EVIL, "GET")),
    "pre-org-put": ("OPTIONS", _preflight(ORG, "PUT", "accept")),
}


def _view(out: Exchange, method: str) -> dict[str, Any]:
    """What a browser reads.  A refused preflight is refused by its status alone (Starlette
    sends its allow headers on the 400 as well), and a simple response's other CORS headers
    count only next to an Access-Control-Allow-Origin (Fetch §"CORS check")."""
    allowed = out.header("access-control-allow-origin")
    view: dict[str, Any] = {}
    if method == "OPTIONS":
        # Starlette answers 200/400, minicors 204/403: the same yes and no.
        view["allowed"] = out.status < 400
        if not view["allowed"]:
            return view
        view["max-age"] = out.header("access-control-max-age")
    view["allow-origin"] = allowed
    if allowed is not None:
        view["credentials"] = out.header("access-control-allow-credentials")
        if method != "OPTIONS":
            view["expose"] = out.header("access-control-expose-headers")
    return view


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", REQUESTS)
async def test_same_answers_as_starlette(setting: str, name: str) -> None:
    method, headers = REQUESTS[name]
    options = SETTINGS[setting]
    theirs = await call(StarletteCORS(StubApp(), **options), http_scope(method, headers=headers))
    ours = await call(CORSMiddleware(StubApp(), **options), http_scope(method, headers=headers))
    assert _view(ours, method) == _view(theirs, method)
    if method == "OPTIONS" and ours.status < 400:
        asked = dict(headers).get("Access-Control-Request-Headers", "")
        granted = (ours.header("access-control-allow-headers") or "").lower()
        assert {h.strip() for h in asked.split(",") if h} <= {h.strip() for h in granted.split(",")}


async def test_difference_safelisted_methods_need_no_listing() -> None:
    """Fetch §"CORS-preflight fetch": GET, HEAD and POST pass the method check whatever
    Access-Control-Allow-Methods says, so refusing their preflight (Starlette: 400) protects
    nothing; minicors allows it."""
    headers = _preflight(APP, "POST", "x-token")
    options: dict[str, Any] = {"allow_origins": [APP], "allow_headers": ["x-token"]}
    theirs = await call(StarletteCORS(StubApp(), **options), http_scope("OPTIONS", headers=headers))
    ours = await call(CORSMiddleware(StubApp(), **options), http_scope("OPTIONS", headers=headers))
    assert (theirs.status, ours.status) == (400, 204)


async def test_difference_error_responses_carry_cors_headers() -> None:
    """The reason for the middleware: Starlette's error 500 has no CORS headers, so the page
    sees a CORS error instead of the 500 (starlette#1116)."""
    from starlette.middleware.errors import ServerErrorMiddleware

    def failing(cors: Any) -> Any:
        return cors(StubApp(fail=RuntimeError("boom")), allow_origins=[APP])

    sent_theirs: list[Any] = []
    sent_ours: list[Any] = []
    for cors, sent in ((StarletteCORS, sent_theirs), (CORSMiddleware, sent_ours)):
        app = ServerErrorMiddleware(failing(cors))

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: Any, sent: list[Any] = sent) -> None:
            sent.append(message)

        with pytest.raises(RuntimeError):
            await app(http_scope("GET", headers=[("Origin", APP)]), receive, send)
    theirs, ours = Exchange(sent_theirs), Exchange(sent_ours)
    assert (theirs.status, ours.status) == (500, 500)
    assert theirs.header("access-control-allow-origin") is None
    assert ours.header("access-control-allow-origin") == APP


def test_difference_star_with_credentials_is_refused() -> None:
    """Starlette answers it by reflecting every origin with credentials (any site reads the
    user's data); minicors refuses to start with it, as `minicors serve` does."""
    StarletteCORS(StubApp(), allow_origins=["*"], allow_credentials=True)
    with pytest.raises(Exception, match="with credentials"):
        CORSMiddleware(StubApp(), allow_origins=["*"], allow_credentials=True)
