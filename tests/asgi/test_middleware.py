"""`CORSMiddleware` driven as an ASGI server drives it: every answer is the engine's (the same
`CorsPolicy` asked directly gives the same headers), the app's errors and exceptions are
annotated, refusals are logged with the engine's reason, lifespan and WebSockets pass."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from minicors import ConfigError, CorsPolicy, CorsRouter, Request
from minicors.asgi import CORSMiddleware, Message

from .helpers import StubApp, call, http_scope, ws_scope

APP = "https://app.test"
EVIL = "https://evil.test"
POLICY = CorsPolicy(allow_origins=[APP], allow_credentials=True, max_age_s=60)
PREFLIGHT = (("Origin", APP), ("Access-Control-Request-Method", "PUT"))


def engine_headers(
    policy: CorsPolicy, method: str, headers: tuple[tuple[str, str], ...]
) -> set[tuple[str, str]]:
    """What `minicors serve` adds for this request: the engine asked directly."""
    request = Request.build(method, "/data.json", (("Host", "api.test"), *headers))
    decision = policy.decide(request)
    if decision.response is not None:
        pairs = decision.response.headers
    else:
        pairs = (*decision.headers, *(((b"vary", decision.vary),) if decision.vary else ()))
    return {(n.decode(), v.decode()) for n, v in pairs if n != b"content-type"}


async def test_preflight_is_the_engines_answer_and_never_reaches_the_app() -> None:
    app = StubApp()
    out = await call(CORSMiddleware(app, policy=POLICY), http_scope("OPTIONS", headers=PREFLIGHT))
    assert out.status == 204
    assert set(out.headers) == engine_headers(POLICY, "OPTIONS", PREFLIGHT)
    assert out.body == b""
    assert app.scopes == []


async def test_refused_preflight_is_403_without_allow_headers_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = StubApp()
    headers = (("Origin", EVIL), ("Access-Control-Request-Method", "PUT"))
    caplog.set_level(logging.INFO, logger="minicors.cors")
    out = await call(CORSMiddleware(app, policy=POLICY), http_scope("OPTIONS", headers=headers))
    assert out.status == 403
    assert not [n for n, _ in out.headers if n.startswith("access-control-allow")]
    assert out.header("content-length") == str(len(out.body))
    assert b"CORS preflight refused: origin https://evil.test not allowed" in out.body
    assert app.scopes == []
    reason = POLICY.decide(Request.build("OPTIONS", "/", headers)).reason
    assert reason.startswith("cors: origin https://evil.test not allowed")
    assert [r.getMessage() for r in caplog.records if r.name == "minicors.cors"] == [
        f"OPTIONS /data.json {reason}"
    ]


async def test_simple_refusal_is_logged_and_the_app_still_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="minicors.cors")
    out = await call(
        CORSMiddleware(StubApp(), policy=POLICY), http_scope("GET", headers=[("Origin", EVIL)])
    )
    assert out.status == 200
    assert out.header("access-control-allow-origin") is None
    assert out.header("vary") == "Origin"
    messages = [r.getMessage() for r in caplog.records if r.name == "minicors.cors"]
    assert messages == ["GET /data.json cors: origin https://evil.test not allowed"]


@pytest.mark.parametrize("status", [200, 401, 404, 500, 503])
async def test_every_app_response_is_annotated(status: int) -> None:
    app = StubApp(status=status)
    headers = (("Origin", APP),)
    out = await call(CORSMiddleware(app, policy=POLICY), http_scope("GET", headers=headers))
    assert out.status == status
    assert set(engine_headers(POLICY, "GET", headers)) <= set(out.headers)
    assert out.header("access-control-allow-origin") == APP
    assert out.header("access-control-allow-credentials") == "true"
    assert out.body == b"hello\n"


async def test_app_cors_headers_are_replaced_and_its_vary_merged() -> None:
    app = StubApp(
        headers=(
            (b"Access-Control-Allow-Origin", b"*"),
            (b"Vary", b"Accept-Encoding"),
            (b"content-type", b"text/plain"),
        )
    )
    out = await call(
        CORSMiddleware(app, policy=POLICY), http_scope("GET", headers=[("Origin", APP)])
    )
    assert out.header("access-control-allow-origin") == APP
    assert out.header("vary") == "Accept-Encoding, Origin"


async def test_exception_before_the_response_is_a_readable_500_then_reraised() -> None:
    app = StubApp(fail=RuntimeError("boom"))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    mw = CORSMiddleware(app, policy=POLICY)
    with pytest.raises(RuntimeError, match="boom"):
        await mw(http_scope("GET", headers=[("Origin", APP)]), receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    start = sent[0]
    assert start["status"] == 500
    headers = dict(start["headers"])
    assert headers[b"access-control-allow-origin"] == APP.encode()
    assert headers[b"access-control-allow-credentials"] == b"true"
    assert headers[b"vary"] == b"Origin"
    assert sent[1]["body"] == b"internal server error\n"


async def test_exception_after_the_response_started_is_only_reraised() -> None:
    app = StubApp(fail=RuntimeError("late"), fail_after_start=True)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="late"):
        await CORSMiddleware(app, policy=POLICY)(
            http_scope("GET", headers=[("Origin", APP)]), receive, send
        )
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert dict(sent[0]["headers"])[b"access-control-allow-origin"] == APP.encode()


async def test_lifespan_passes_through() -> None:
    app = StubApp()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    out = await call(CORSMiddleware(app, policy=POLICY), scope, [{"type": "lifespan.startup"}])
    assert app.scopes == [scope]
    assert out.sent == [{"type": "lifespan.startup.complete"}]


@pytest.mark.parametrize(
    "headers",
    [[("Origin", APP)], [], [("Origin", "https://api.test")]],
    ids=["allowed", "no-origin", "same-origin"],
)
async def test_websocket_passes_when_the_origin_may(headers: list[tuple[str, str]]) -> None:
    app = StubApp()
    scope = ws_scope(headers)
    out = await call(CORSMiddleware(app, policy=POLICY), scope, [{"type": "websocket.connect"}])
    assert app.scopes == [scope]
    assert out.sent == [{"type": "websocket.accept"}]


async def test_websocket_from_a_refused_origin_gets_403_before_the_app(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="minicors.cors")
    app = StubApp()
    scope = ws_scope([("Origin", EVIL)], extensions={"websocket.http.response": {}})
    out = await call(CORSMiddleware(app, policy=POLICY), scope, [{"type": "websocket.connect"}])
    assert app.scopes == []
    assert out.status == 403
    assert out.body.startswith(b"WebSocket handshake refused: cors: origin https://evil.test")
    assert [r.getMessage() for r in caplog.records if r.name == "minicors.cors"] == [
        "GET /ws cors: origin https://evil.test not allowed"
    ]


async def test_websocket_refused_without_the_extension_is_closed_before_accept() -> None:
    app = StubApp()
    scope = ws_scope([("Origin", EVIL)])
    out = await call(CORSMiddleware(app, policy=POLICY), scope, [{"type": "websocket.connect"}])
    assert app.scopes == []
    assert out.sent == [{"type": "websocket.close", "code": 1008}]


async def test_router_policy_picks_the_route_by_the_parsed_path() -> None:
    api = CorsPolicy(allow_origins=[APP])
    router = CorsRouter(CorsPolicy(allow_origins=["https://other.test"]), [("/api/**", api)])
    mw = CORSMiddleware(StubApp(), policy=router)
    headers = [("Origin", APP)]
    assert (await call(mw, http_scope("GET", "/api/x?q=1", headers))).header(
        "access-control-allow-origin"
    ) == APP
    # %61 is "a": the handler serves /api/x, so the /api/** policy applies (CVE-2024-6866).
    assert (await call(mw, http_scope("GET", "/%61pi/x", headers))).header(
        "access-control-allow-origin"
    ) == APP
    assert (await call(mw, http_scope("GET", "/static/x", headers))).header(
        "access-control-allow-origin"
    ) is None


CONFIG = """\
[cors]
allow_origins = ["https://app.test"]
allow_credentials = true

[[cors.route]]
path = "/public/**"
allow_origins = ["*"]
"""


async def test_config_file_is_read_as_serve_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text(CONFIG)
    mw = CORSMiddleware(StubApp(), config=str(path))
    out = await call(mw, http_scope("GET", headers=[("Origin", APP)]))
    assert out.header("access-control-allow-origin") == APP
    assert out.header("access-control-allow-credentials") == "true"
    # minicors's defaults, as with `minicors serve --config`: the exposed headers.
    assert out.header("access-control-expose-headers") == "ETag, Link, Location, X-Total-Count"
    out = await call(mw, http_scope("GET", "/public/a.css", [("Origin", EVIL)]))
    assert out.header("access-control-allow-origin") == "*"


def test_config_file_mistakes_are_the_loaders_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text('[cors]\nallow_origin = ["https://app.test"]\nallow_creds = true\n')
    with pytest.raises(ConfigError, match="unknown key '\\[cors\\] allow_creds'"):
        CORSMiddleware(StubApp(), config=str(path))
    path.write_text('root = "."\n')
    with pytest.raises(ConfigError, match="has no \\[cors\\] settings"):
        CORSMiddleware(StubApp(), config=str(path))
    with pytest.raises(ConfigError, match="does not exist"):
        CORSMiddleware(StubApp(), config=str(tmp_path / "missing.toml"))


def test_policy_and_keywords_do_not_mix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="allow_origins cannot be combined with policy="):
        CORSMiddleware(StubApp(), policy=POLICY, allow_origins=[APP])
    with pytest.raises(ConfigError, match="either policy= or config="):
        CORSMiddleware(StubApp(), policy=POLICY, config=str(tmp_path / "cors.toml"))


def test_unsafe_settings_are_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="'\\*' with credentials"):
        CORSMiddleware(StubApp(), allow_origins=["*"], allow_credentials=True)
    with pytest.raises(ConfigError, match="must be a list, not one string"):
        CORSMiddleware(StubApp(), allow_origins=APP)


def test_policy_warnings_are_logged_at_start(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="minicors.cors")
    mw = CORSMiddleware(StubApp(), allow_origins=["null"])
    logged = [r.getMessage() for r in caplog.records if r.name == "minicors.cors"]
    assert logged == [f"minicors: {w}" for w in mw.warnings]
    assert any("'null' is an allowed origin" in w for w in mw.warnings)


@pytest.mark.parametrize(
    ("mw", "fix"),
    [
        (CORSMiddleware(StubApp(), allow_origins=[APP]), b"fix: add 'PUT' to allow_methods\n"),
        (
            CORSMiddleware(StubApp(), policy=CorsPolicy(allow_origins=[APP], allow_methods=[])),
            b"fix: add 'PUT' to allow_methods\n",
        ),
    ],
    ids=["keywords", "policy"],
)
async def test_a_refusals_fix_names_the_keyword(mw: CORSMiddleware, fix: bytes) -> None:
    """The body of a refused preflight ends with the fix, worded as the keyword to change
    (not as `minicors serve`'s flag)."""
    out = await call(mw, http_scope("OPTIONS", headers=PREFLIGHT))
    assert out.status == 403
    assert out.body.endswith(fix)


async def test_a_refusals_fix_names_the_file_key(tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text('[cors]\nallow_origins = ["https://app.test"]\nallow_methods = ["GET"]\n')
    out = await call(
        CORSMiddleware(StubApp(), config=str(path)), http_scope("OPTIONS", headers=PREFLIGHT)
    )
    assert out.body.endswith(
        f'fix: in {path}, set allow_methods = ["GET", "PUT"] under [cors]\n'.encode()
    )


async def test_a_logged_refusal_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="minicors.cors")
    scope = http_scope("GET", "/x", [("Origin", EVIL)])
    scope["path"] = "/x\r\nGET /forged 200"
    await call(CORSMiddleware(StubApp(), policy=POLICY), scope)
    (message,) = [r.getMessage() for r in caplog.records if r.name == "minicors.cors"]
    assert "\n" not in message and "\r" not in message
    assert message.startswith("GET /x\\x0d\\x0aGET /forged 200 cors: origin")


async def test_websocket_with_cookies_logs_no_cors_credential_note(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under a policy without credentials, an HTTP request with a Cookie is noted (the browser
    will refuse the response); a WebSocket is not: no CORS check applies to it."""
    caplog.set_level(logging.INFO, logger="minicors.cors")
    mw = CORSMiddleware(StubApp(), allow_origins=[APP])
    cookie = [("Origin", APP), ("Cookie", "session=1")]
    await call(mw, ws_scope(cookie), [{"type": "websocket.connect"}])
    assert [r for r in caplog.records if r.name == "minicors.cors"] == []
    await call(mw, http_scope("GET", headers=cookie))
    (message,) = [r.getMessage() for r in caplog.records if r.name == "minicors.cors"]
    assert message.startswith("GET /data.json cors: the request carries Cookie")
