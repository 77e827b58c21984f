"""What a hostile client or upstream tries against the proxy, without sockets: framing that
disagrees (RFC 9112 §6.3), paths that escape the target (`..%2F`, `..;`), redirects that leave
the origin (`//evil`), forwarding fields a client made up, and malformed upstream fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpcore
import pytest
import trio

from minicors.config import Config
from minicors.cors import CorsPolicy
from minicors.errors import HttpError
from minicors.messages import Request, parse_target
from minicors.proxy import (
    ProxyOptions,
    accept_for,
    handshake_problem,
    request_headers,
    response_headers,
    rewrite_location,
    route,
    upstream_url,
    without_credentials,
    without_domain,
)
from minicors.proxyclient import UpstreamBody, UpstreamBroke

from ..conftest import encode_request, live_server, socket_exchange
from .canned import canned
from .helpers import request

API = route("/api", "https://up.example:8443/v1")
ROOT = route("/", "http://up.example/v1")


def proxied(root: Path, origin: str) -> Config:
    return Config(root=str(root), proxy=ProxyOptions(routes=(route("/api", origin),)))


def test_transfer_encoding_overrides_content_length() -> None:
    # RFC 9112 §6.3 (3): Transfer-Encoding wins and a proxy removes Content-Length; the
    # upstream's Content-Length is then no length at all, in either order.
    for raw in (
        [(b"Content-Length", b"100"), (b"Transfer-Encoding", b"chunked")],
        [(b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"100")],
    ):
        fields, length, _ = response_headers(raw, API, public_origin="", upgrade=False)
        assert length is None
        assert not any(n in (b"content-length", b"transfer-encoding") for n, _ in fields)


@pytest.mark.parametrize(
    "target",
    [
        "/api/..%2Fsecret.txt",
        "/api/%2e%2e%2fsecret.txt",
        "/api/..%5cadmin",
        "/api/a%2Fb",
        "/api/..;/admin",
        "/api/.;x/admin",
        "/api/%2e%2e;jsessionid=1/admin",
    ],
)
def test_a_segment_that_could_climb_out_is_refused(target: str) -> None:
    with pytest.raises(HttpError) as caught:
        upstream_url(API, parse_target(target))
    assert caught.value.status == 400


@pytest.mark.parametrize("target", ["/api/a;b", "/api/x..y", "/api/..x", "/api/%3Bv"])
def test_ordinary_segments_still_pass(target: str) -> None:
    assert upstream_url(API, parse_target(target)).startswith("https://up.example:8443/v1/")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/v1//evil.example/x", "http://me.test//evil.example/x"),
        ("/v1/\\evil.example/x", "http://me.test/\\evil.example/x"),
        ("/v1/a", "/a"),
    ],
)
def test_a_location_never_becomes_scheme_relative(value: str, expected: str) -> None:
    assert rewrite_location(value, ROOT, "http://me.test") == expected
    # Without a public origin (an HTTP/1.0 client sent no Host) the value stays as it was.
    if expected.startswith("http://"):
        assert rewrite_location(value, ROOT, "") == value


@pytest.mark.parametrize("value", ["http://[::1/x", "http://up.example:99999/v1/x", "http://[x]/"])
def test_a_malformed_location_passes_unchanged(value: str) -> None:
    raw = [(b"Location", value.encode())]
    fields, _, _ = response_headers(raw, API, public_origin="http://me.test", upgrade=False)
    assert fields == ((b"location", value.encode()),)


def test_made_up_forwarding_fields_do_not_reach_the_upstream() -> None:
    claims = [
        ("X_Forwarded_For", "6.6.6.6"),
        ("X-Real-IP", "6.6.6.6"),
        ("X-Forwarded-Port", "1"),
        ("X-Forwarded-Prefix", "/evil"),
        ("X-Forwarded-Server", "evil"),
        ("X-Kept", "yes"),
    ]
    request = Request.build("GET", "/api/x", [("Host", "t"), *claims])
    out = request_headers(request, API, scheme="http", keep_host=False, upgrade=False)
    names = [n.lower() for n, _ in out]
    assert b"x-kept" in names
    assert not any(b"_" in n for n in names)
    for gone in (b"x-real-ip", b"x-forwarded-port", b"x-forwarded-prefix", b"x-forwarded-server"):
        assert gone not in names


def test_cookie_domain_with_spaces_goes_and_its_path_is_mapped() -> None:
    got = without_domain(b"a=1; Domain =up.example; Path=/v1", "up.example")
    assert got == b"a=1; Path=/v1"  # without a route the path stays
    assert without_domain(b"a=1; Path=/v1/x", "up.example", API) == b"a=1; Path=/api/x"
    assert without_domain(b"a=1; Path=/v1", "up.example", API) == b"a=1; Path=/api"
    assert without_domain(b"a=1; path=/other", "up.example", API) == b"a=1; path=/other"


def chunked(body: bytes, size: int = 8192) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


@pytest.mark.parametrize("declared", [100, 100_000])
async def test_an_answer_with_both_framings_is_relayed_chunked(
    tmp_path: Path, declared: int
) -> None:
    body = bytes(range(256)) * 800  # 204800 bytes, more than either Content-Length says
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n" % declared
    ) + chunked(body)
    async with canned(answer) as (origin, _), live_server(proxied(tmp_path, origin)) as live:
        raw = encode_request("GET", "/api/x", host="t")
        raw += encode_request("GET", "/missing", host="t", close=True)
        exchange = await socket_exchange(live.address, [raw], close_after=False, timeout=20)
    first = exchange.responses[0]
    assert first.status == 200 and first.body == body
    assert first.header(b"content-length") is None
    assert first.header(b"transfer-encoding") == b"chunked"
    # The next response is minicors's own (a 404 for a missing file), not the rest of the body.
    assert [r.status for r in exchange.responses] == [200, 404]


@pytest.mark.parametrize("declared", [10, 100_000])
async def test_less_than_the_declared_length_is_never_passed_as_whole(
    tmp_path: Path, declared: int
) -> None:
    # An upstream that sends fewer bytes than it declared and closes: a small answer is a 502,
    # a streamed one is cut off (the connection closes), never completed as if whole.
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % declared
    answer += b"x" * (declared // 2)
    async with canned(answer) as (origin, _), live_server(proxied(tmp_path, origin)) as live:
        raw = encode_request("GET", "/api/x", host="t", close=True)
        exchange = await socket_exchange(live.address, [raw], close_after=False, timeout=20)
    if declared <= 64 * 1024:
        (response,) = exchange.responses
        assert response.status == 502
    else:  # the head has gone: the connection is closed before the body is complete
        assert all(len(r.body) < declared for r in exchange.responses)
        assert b"x" * declared not in exchange.data


class Pieces:
    """An upstream body in the shape httpcore's stream has."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def __aiter__(self) -> Pieces:
        return self

    async def __anext__(self) -> bytes:
        if not self.pieces:
            raise StopAsyncIteration
        return self.pieces.pop(0)

    async def aclose(self) -> None:
        self.pieces.clear()


@pytest.mark.parametrize("pieces", [(b"abc", b"de"), (b"ab",)])  # too many, too few
async def test_the_relay_holds_the_upstream_to_its_length(pieces: tuple[bytes, ...]) -> None:
    answer = httpcore.Response(200, content=Pieces(*pieces))
    body = UpstreamBody(answer, API, 4)
    with pytest.raises(UpstreamBroke):
        async for _ in body:
            pass
    exact = UpstreamBody(httpcore.Response(200, content=Pieces(b"ab", b"cd")), API, 4)
    assert [p async for p in exact] == [b"ab", b"cd"]


KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example key


def test_the_accept_value_is_the_rfcs() -> None:
    assert accept_for(KEY.encode()) == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def websocket_request(*extra: tuple[str, str]) -> Request:
    fields = [("Host", "t"), ("Connection", "Upgrade, HTTP2-Settings"), *extra]
    return Request.build("GET", "/api/ws", fields)


def test_only_a_websocket_upgrade_is_asked_of_the_upstream() -> None:
    request = websocket_request(
        ("Upgrade", "h2c, websocket"),
        ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    )
    assert handshake_problem(request) is None
    out = request_headers(request, API, scheme="http", keep_host=False, upgrade=True)
    assert [v for n, v in out if n.lower() == b"upgrade"] == [b"websocket"]
    assert not any(n.lower() == b"http2-settings" for n, _ in out)


@pytest.mark.parametrize(
    "fields",
    [
        [("Sec-WebSocket-Version", "13")],
        [("Sec-WebSocket-Key", "short"), ("Sec-WebSocket-Version", "13")],
        [("Sec-WebSocket-Key", KEY)],
        [("Sec-WebSocket-Key", KEY), ("Sec-WebSocket-Version", "8")],
    ],
)
def test_a_websocket_handshake_without_key_or_version_is_refused(
    fields: list[tuple[str, str]],
) -> None:
    assert handshake_problem(websocket_request(("Upgrade", "websocket"), *fields)) is not None


GOOD_101 = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
)


@pytest.mark.parametrize(
    "answer",
    [
        GOOD_101.replace(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", b"AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        GOOD_101.replace(b"Upgrade: websocket", b"Upgrade: h2c"),
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ],
)
async def test_only_a_true_websocket_switch_is_piped(tmp_path: Path, answer: bytes) -> None:
    head = [
        ("Connection", "Upgrade"),
        ("Upgrade", "h2c, websocket"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
    async with canned(answer) as (origin, heads), live_server(proxied(tmp_path, origin)) as live:
        raw = encode_request("GET", "/api/ws", head, host="t", close=True)
        exchange = await socket_exchange(live.address, [raw], close_after=False, timeout=20)
        assert [r.status for r in exchange.responses] == [502]
        (sent,) = heads
        assert b"\r\nUpgrade: websocket\r\n" in sent


async def test_a_websocket_without_a_key_never_reaches_the_upstream(tmp_path: Path) -> None:
    head = [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
    async with canned(GOOD_101) as (origin, heads), live_server(proxied(tmp_path, origin)) as live:
        raw = encode_request("GET", "/api/ws", head, host="t", close=True)
        exchange = await socket_exchange(live.address, [raw], close_after=False, timeout=20)
        assert [r.status for r in exchange.responses] == [400]
        assert heads == []


async def test_head_of_a_chunked_answer_claims_no_length(tmp_path: Path) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    async with canned(answer) as (origin, _), live_server(proxied(tmp_path, origin)) as live:
        raw = encode_request("HEAD", "/api/x", host="t", close=True)
        exchange = await socket_exchange(
            live.address, [raw], methods=[b"HEAD"], close_after=False, timeout=20
        )
    (response,) = exchange.responses
    assert response.status == 200 and response.body == b""
    assert response.header(b"content-length") is None
    assert response.header(b"transfer-encoding") == b"chunked"


def test_a_websocket_allowed_without_credentials_loses_them() -> None:
    fields = [("Cookie", "s=1"), ("Authorization", "Bearer x"), ("Upgrade", "websocket")]
    request = websocket_request(*fields)
    bare = without_credentials(request, ((b"access-control-allow-origin", b"*"),))
    assert [n for n, _ in bare.raw_headers if n.lower() in (b"cookie", b"authorization")] == []
    assert b"cookie" not in bare.headers and b"authorization" not in bare.headers
    allowed = ((b"access-control-allow-credentials", b"true"),)
    assert without_credentials(request, allowed) is request


@pytest.mark.parametrize(("credentials", "kept"), [(False, False), (True, True)])
async def test_a_cross_origin_websocket_carries_cookies_only_with_credentials(
    tmp_path: Path, credentials: bool, kept: bool
) -> None:
    origins = ["https://app.test"] if credentials else ["*"]
    policy = CorsPolicy(allow_origins=origins, allow_credentials=credentials)
    head = [
        ("Origin", "https://app.test"),
        ("Cookie", "session=secret"),
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
    async with canned(GOOD_101) as (origin, heads):
        config = dataclasses.replace(proxied(tmp_path, origin), cors=policy)
        async with live_server(config) as live:
            raw = encode_request("GET", "/api/ws", head, host="t")
            # The pipe ends when the upstream closes (after canned's hold).
            await socket_exchange(live.address, [raw], close_after=False, timeout=20)
    (sent,) = heads
    assert (b"session=secret" in sent) is kept


async def test_slow_uploads_do_not_hold_the_upstream_pool(tmp_path: Path) -> None:
    """Bodies within --max-body-bytes are read before a pool slot is taken (nginx's
    proxy_request_buffering): uploads that stall mid-body leave the pool to everyone else, where
    they once held every slot and a quick GET waited out --proxy-timeout for a 504."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with canned(answer) as (origin, heads):
        proxy = ProxyOptions(routes=(route("/api", origin),), pool_connections=2, timeout_s=1)
        config = Config(root=str(tmp_path), proxy=proxy)
        async with live_server(config) as live:
            uploads = []
            for _ in range(3):  # more than the pool holds
                stream = await trio.open_tcp_stream(live.address.host, live.address.port)
                head = b"POST /api/up HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
                await stream.send_all(head + b"x" * 1000)  # ... and then nothing more
                uploads.append(stream)
            await trio.sleep(0.3)  # (the uploads' heads are read; with the old code, sent on)
            quick = await request(live.address, "GET", "/api/quick")
            for stream in uploads:
                await stream.aclose()
    assert quick.status == 200 and quick.body == b"ok"
    assert not any(h.startswith(b"POST") for h in heads)  # no upload reached the upstream


def test_a_same_origin_websocket_keeps_its_cookies() -> None:
    """A page served by minicors itself opens the socket from its own origin: no CORS applies
    and its cookies are its own, whatever the policy says about credentials."""
    own = websocket_request(("Origin", "http://t"), ("Cookie", "s=1"), ("Upgrade", "websocket"))
    assert without_credentials(own, ((b"access-control-allow-origin", b"*"),)) is own
    other = websocket_request(
        ("Origin", "http://other.test"), ("Cookie", "s=1"), ("Upgrade", "websocket")
    )
    assert b"cookie" not in without_credentials(other, ()).headers
