"""--proxy on the wire, against a real upstream (uvicorn running `upstream.py`): what is
forwarded and dropped, how paths map, streamed bodies both ways, cookies and redirects, and
the failures a browser can read (502, 504) or must not mistake for a whole body."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from minicors.config import Config
from minicors.options import MIB, Limits
from minicors.proxy import ProxyOptions, route

from ..conftest import Parsed, encode_request, live_server, parse_responses, socket_exchange
from .helpers import Upstream, free_port, request, upstream

ALLOWED = "http://localhost:5173"  # the default policy allows loopback origins
REFUSED = "https://evil.test"
BLOCK = bytes(range(256)) * 256  # what the upstream's /big repeats


@pytest.fixture(scope="module")
def up() -> Iterator[Upstream]:
    with upstream() as running:
        yield running


def config(up: Upstream, root: Path, **options: object) -> Config:
    routes = (route("/api", up.origin + "/v1"), route("/api/v2", up.origin + "/two"))
    proxy = ProxyOptions(routes=routes, **options)  # type: ignore[arg-type]
    return Config(root=str(root), proxy=proxy, limits=Limits(max_body_bytes=MIB))


def seen(response: Parsed) -> dict[str, object]:
    assert response.status == 200, response
    value = json.loads(response.body)
    assert isinstance(value, dict)
    return value


def names(echo: dict[str, object]) -> dict[str, str]:
    pairs = echo["headers"]
    assert isinstance(pairs, list)
    return {name: value for name, value in pairs}


async def test_end_to_end_headers_go_hop_by_hop_ones_stay(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path)) as live:
        response = await request(
            live.address,
            "GET",
            "/api/echo?x=1&y",
            [
                ("Origin", ALLOWED),
                ("X-Forwarded-For", "6.6.6.6"),
                ("Forwarded", "for=6.6.6.6"),
                ("X-Forwarded-Host", "evil.test"),
                ("Connection", "X-Secret"),
                ("X-Secret", "1"),
                ("Keep-Alive", "timeout=5"),
                ("TE", "trailers"),
                ("Proxy-Authorization", "Basic eDp5"),
                ("Upgrade", "h2c"),
                ("X-Kept", "yes"),
            ],
        )
        echo = seen(response)
        fields = names(echo)
        assert echo["path"] == "/v1/echo" and echo["query"] == "x=1&y"
        assert fields["host"] == f"127.0.0.1:{up.port}"
        assert fields["x-forwarded-for"] == "127.0.0.1"
        assert fields["x-forwarded-proto"] == "http"
        assert fields["x-forwarded-host"] == "t"
        assert fields["forwarded"] == "for=127.0.0.1;proto=http;host=t"
        assert fields["x-kept"] == "yes" and fields["origin"] == ALLOWED
        for gone in ("x-secret", "keep-alive", "te", "proxy-authorization", "upgrade"):
            assert gone not in fields, gone
        assert "connection" not in fields
        # minicors's CORS, not the upstream's `*`; the two Vary merged into one.
        assert response.header_all(b"access-control-allow-origin") == [ALLOWED.encode()]
        assert response.header_all(b"vary") == [b"Accept-Encoding, Origin"]
        assert response.header(b"x-upstream") == b"yes"
        assert "upstream 200 in" in live.log


async def test_keep_host_sends_the_clients_host(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path, keep_host=True)) as live:
        response = await request(live.address, "GET", "/api/echo", host="app.test:8000")
        assert names(seen(response))["host"] == "app.test:8000"


@pytest.mark.parametrize(
    ("target", "status", "path"),
    [
        ("/api", 200, "/v1"),
        ("/api/", 200, "/v1/"),
        ("/api//echo", 200, "/v1/echo"),
        ("/api/a%2fb", 400, None),  # an upstream might decode the '/' (nginx does)
        ("/api/caf%c3%a9", 200, "/v1/caf%C3%A9"),
        ("/api/v2/echo", 200, "/two/echo"),  # the longest prefix wins
        ("/api/v2x", 200, "/v1/v2x"),  # ... on whole segments
        ("/api/../etc/passwd", 400, None),
        ("/api/%2e%2e/etc", 400, None),
        ("/api/v2/%2E%2E/x", 400, None),
        ("/apix/echo", 404, None),  # not under /api: a static file, which is not there
        ("/x/../api/echo", 404, None),  # not under /api once parsed: refused as static
        ("/API/echo", 404, None),
    ],
)
async def test_paths_map_and_cannot_escape(
    up: Upstream, tmp_path: Path, target: str, status: int, path: str | None
) -> None:
    async with live_server(config(up, tmp_path)) as live:
        response = await request(live.address, "GET", target)
        assert response.status == status, response.body
        if path is not None:
            assert seen(response)["path"] == path
        else:
            assert response.header(b"x-upstream") is None


async def test_a_preflight_is_answered_here_and_never_forwarded(
    up: Upstream, tmp_path: Path
) -> None:
    async with live_server(config(up, tmp_path)) as live:
        headers = [
            ("Origin", ALLOWED),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "x-token"),
        ]
        response = await request(live.address, "OPTIONS", "/api/echo", headers)
        assert response.status == 204
        assert response.header(b"access-control-allow-origin") == ALLOWED.encode()
        assert response.header(b"x-upstream") is None
        assert "upstream" not in live.log


async def test_a_refused_origin_gets_no_cors_headers(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path)) as live:
        response = await request(live.address, "GET", "/api/echo", [("Origin", REFUSED)])
        assert response.status == 200
        assert not [n for n, _ in response.headers if n.startswith(b"access-control-")]
        assert response.header(b"vary") == b"Accept-Encoding, Origin"


async def test_uploads_stream_past_max_body_bytes(up: Upstream, tmp_path: Path) -> None:
    body = BLOCK * 48  # 3 MiB, three times --max-body-bytes
    async with live_server(config(up, tmp_path)) as live:
        echo = seen(await request(live.address, "POST", "/api/echo", body=body))
        assert echo["size"] == len(body)
        assert echo["sha256"] == hashlib.sha256(body).hexdigest()
        fields = names(echo)
        assert fields["content-length"] == str(len(body)) and "transfer-encoding" not in fields
        # What minicors buffers itself is still bounded.
        refused = await request(live.address, "POST", "/elsewhere", body=body)
        assert refused.status == 413


async def test_a_chunked_upload_is_forwarded_chunked(up: Upstream, tmp_path: Path) -> None:
    pieces = [BLOCK[:1000], BLOCK * 20, b"end"]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    head = (
        b"POST /api/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    async with live_server(config(up, tmp_path)) as live:
        exchange = await socket_exchange(
            live.address, [head, chunked], methods=[b"POST"], close_after=False
        )
        (response,) = exchange.responses
        echo = seen(response)
        whole = b"".join(pieces)
        assert echo["size"] == len(whole)
        assert echo["sha256"] == hashlib.sha256(whole).hexdigest()
        fields = names(echo)
        assert fields["transfer-encoding"] == "chunked" and "content-length" not in fields


@pytest.mark.parametrize("chunked", [False, True])
async def test_downloads_stream_whole(up: Upstream, tmp_path: Path, chunked: bool) -> None:
    size = 20 * MIB + 123
    target = f"/api/big?n={size}" + ("&chunked=1" if chunked else "")
    expected = hashlib.sha256()
    for start in range(0, size, len(BLOCK)):
        expected.update(BLOCK[: min(len(BLOCK), size - start)])
    async with live_server(config(up, tmp_path)) as live:
        raw = encode_request("GET", target, host="t", close=True)
        # No half-close: like nginx, minicors takes a client's EOF during a stream as its
        # leaving, and cuts the upstream's answer off.
        exchange = await socket_exchange(live.address, [raw], keep_bodies=False, close_after=False)
        (response,) = exchange.responses
        assert response.status == 200
        assert response.size == size and response.sha256 == expected.hexdigest()
        framing = b"transfer-encoding" if chunked else b"content-length"
        assert response.header(framing) is not None


async def test_cookies_and_redirects_land_on_minicors(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path)) as live:
        cookie = await request(live.address, "GET", "/api/cookie")
        assert cookie.header(b"set-cookie") == b"session=s3cret; Path=/; HttpOnly; SameSite=Lax"
        moved = await request(live.address, "GET", "/api/redirect", host="app.test:8000")
        assert moved.status == 302
        assert moved.header(b"location") == b"http://app.test:8000/api/echo?from=redirect"


async def test_a_slow_upstream_is_a_readable_504(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path, timeout_s=0.3)) as live:
        response = await request(live.address, "GET", "/api/stall", [("Origin", ALLOWED)])
        assert response.status == 504
        assert response.header(b"access-control-allow-origin") == ALLOWED.encode()
        assert up.origin.encode() + b"/v1" in response.body
        assert b"--proxy-timeout" in response.body
        assert "504" in live.log and "upstream timeout" in live.log


async def test_an_upstream_that_dies_mid_body_closes_the_connection(
    up: Upstream, tmp_path: Path
) -> None:
    async with live_server(config(up, tmp_path)) as live:
        raw = encode_request("GET", "/api/die", host="t")  # kept alive: only a close ends it
        exchange = await socket_exchange(live.address, [raw], close_after=False, timeout=10)
        head, _, body = exchange.data.partition(b"\r\n\r\n")
        assert b"content-length: 100000" in head
        assert len(body) < 100_000  # cut short, and the connection closed: never complete
        assert exchange.responses == [] or exchange.responses[0].size < 100_000
        assert "broke off mid-body" in live.log


async def test_an_upstream_that_is_not_there_is_a_readable_502(tmp_path: Path) -> None:
    target = f"http://127.0.0.1:{free_port()}/v1"
    proxy = ProxyOptions(routes=(route("/api", target),))
    async with live_server(Config(root=str(tmp_path), proxy=proxy)) as live:
        response = await request(live.address, "GET", "/api/echo", [("Origin", ALLOWED)])
        assert response.status == 502
        assert response.header(b"access-control-allow-origin") == ALLOWED.encode()
        assert target.encode() in response.body and b"could not be reached" in response.body
        assert "upstream refused" in live.log


async def test_a_client_that_leaves_mid_download_ends_it(up: Upstream, tmp_path: Path) -> None:
    async with live_server(config(up, tmp_path)) as live:
        stream = await trio.open_tcp_stream(live.address.host, live.address.port)
        await stream.send_all(encode_request("GET", f"/api/big?n={10**10}", host="t"))
        received = 0
        with trio.fail_after(10):
            while received < 1_000_000:
                received += len(await stream.receive_some(65536))
        await stream.aclose()
        with trio.fail_after(10):
            while "client went away" not in live.log:  # bounded by the fail_after
                await trio.sleep(0.01)
        assert f'"GET /api/big?n={10**10} HTTP/1.1" 200' in live.log


async def test_expect_100_continue_before_a_streamed_upload(up: Upstream, tmp_path: Path) -> None:
    body = BLOCK * 8
    head = (
        b"PUT /api/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    async with live_server(config(up, tmp_path)) as live:
        stream = await trio.open_tcp_stream(live.address.host, live.address.port)
        await stream.send_all(head)
        with trio.fail_after(10):
            interim = await stream.receive_some(65536)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        await stream.send_all(body)
        data = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                data += chunk
        await stream.aclose()
        (response,) = parse_responses(data, [b"PUT"])
        echo = seen(response)
        assert echo["method"] == "PUT" and echo["size"] == len(body)
        assert "expect" not in names(echo)


async def test_a_stalled_upload_is_a_408(up: Upstream, tmp_path: Path) -> None:
    limits = Limits(body_timeout_s=0.2, body_min_rate=1_000_000)
    proxy = ProxyOptions(routes=(route("/api", up.origin + "/v1"),))
    async with live_server(Config(root=str(tmp_path), proxy=proxy, limits=limits)) as live:
        head = encode_request("POST", "/api/echo", host="t", close=True).replace(
            b"Content-Length: 0", b"Content-Length: 1000"
        )
        exchange = await socket_exchange(live.address, [head, b"x" * 10], close_after=False)
        (response,) = exchange.responses
        assert response.status == 408
        assert "request body not received in time" in live.log


async def test_a_client_that_leaves_before_the_answer_cancels_it(
    up: Upstream, tmp_path: Path
) -> None:
    async with live_server(config(up, tmp_path)) as live:  # the proxy waits 30 s by default
        stream = await trio.open_tcp_stream(live.address.host, live.address.port)
        await stream.send_all(encode_request("GET", "/api/stall", host="t"))
        await trio.sleep(0.2)  # the request reaches the upstream (no assertion on time)
        await stream.aclose()
        with trio.fail_after(10):
            while "client went away before the answer" not in live.log:
                await trio.sleep(0.01)
        assert '"GET /api/stall HTTP/1.1" 499' in live.log


@pytest.mark.parametrize("size", [10, 5 * MIB])
async def test_head_keeps_the_upstreams_length(up: Upstream, tmp_path: Path, size: int) -> None:
    async with live_server(config(up, tmp_path)) as live:
        response = await request(live.address, "HEAD", f"/api/big?n={size}")
        assert response.status == 200 and response.body == b""
        assert response.header_all(b"content-length") == [str(size).encode()]


async def test_a_broken_chunked_upload_is_refused(up: Upstream, tmp_path: Path) -> None:
    head = b"POST /api/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    async with live_server(config(up, tmp_path)) as live:
        exchange = await socket_exchange(
            live.address, [head, b"5\r\nhello\r\nzz\r\n"], close_after=False
        )
        (response,) = exchange.responses
        assert response.status == 400
        assert "POST /api/echo" in live.log
