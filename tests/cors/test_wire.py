"""Every CORS rule of the contract, on the wire: the real server, a real socket, exact headers.

The engine tests prove the decisions; these prove the server sends exactly those bytes (one
`Vary`, merged with the static handler's own, on 200/304/404 alike; nothing on refusals) and
logs the refusal reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from minicors.config import Config
from minicors.cors import CorsPolicy

from ..conftest import Live, Parsed, live_server, request

PREFLIGHT_VARY = b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
EXPOSE = b"ETag, Link, Location, X-Total-Count"


@dataclass
class Api:
    """A live server under one policy, asked as the page's origin would (`Host: api.test`)."""

    live: Live

    async def send(self, method: str, path: str, headers: Sequence[tuple[str, str]] = ()) -> Parsed:
        return await request(self.live.address, method, path, headers, host="api.test")

    @property
    def log(self) -> str:
        return self.live.log


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data.json").write_text('{"a": 1}\n')
    (tmp_path / "app.js").write_text("console.log(1);\n" * 100)
    (tmp_path / "app.js.gz").write_bytes(b"\x1f\x8b" + b"\0" * 30)
    return tmp_path


@asynccontextmanager
async def serving(root: Path, policy: CorsPolicy) -> AsyncIterator[Api]:
    async with live_server(Config(root=str(root), cors=policy)) as live:
        yield Api(live)


def acx(response: Parsed) -> dict[bytes, bytes]:
    """The Access-Control-* headers of a response."""
    return {n: v for n, v in response.headers if n.startswith(b"access-control-")}


def preflight_headers(origin: str, method: str = "PUT", headers: str = "") -> list[tuple[str, str]]:
    out = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if headers:
        out.append(("Access-Control-Request-Headers", headers))
    return out


LISTED = CorsPolicy(allow_origins=["https://app.test"])
CREDS = CorsPolicy(allow_origins=["https://app.test"], allow_credentials=True, max_age_s=120)


async def test_allowed_preflight_exact_headers(root: Path) -> None:
    async with serving(root, CREDS) as live:
        r = await live.send(
            "OPTIONS",
            "/data.json",
            preflight_headers("https://app.test", "PUT", "x-token,content-type"),
        )
    assert r.status == 204 and r.body == b""
    assert r.header(b"content-length") == b"0"
    assert acx(r) == {
        b"access-control-allow-origin": b"https://app.test",
        b"access-control-allow-methods": b"GET, HEAD, POST, PUT, PATCH, DELETE",
        b"access-control-allow-headers": b"x-token, content-type",
        b"access-control-max-age": b"120",
        b"access-control-allow-credentials": b"true",
    }
    assert r.header_all(b"vary") == [PREFLIGHT_VARY]


async def test_refused_preflight_is_403_text_without_cors_headers(root: Path) -> None:
    async with serving(root, LISTED) as live:
        r = await live.send("OPTIONS", "/data.json", preflight_headers("https://evil.test"))
        line = [ln for ln in live.log.splitlines() if "OPTIONS /data.json" in ln]
    assert r.status == 403
    assert r.header(b"content-type") == b"text/plain; charset=utf-8"
    assert b"https://evil.test" in r.body
    assert acx(r) == {}
    assert r.header_all(b"vary") == [PREFLIGHT_VARY]
    assert len(line) == 1 and " 403 " in line[0]
    assert "cors: origin https://evil.test not allowed" in line[0]


@pytest.mark.parametrize(
    ("policy", "request_headers", "needle"),
    [
        (LISTED, preflight_headers("https://app.test", "TRACE"), "method TRACE"),
        (
            CorsPolicy(allow_origins=["https://app.test"], allow_headers=["x-a"]),
            preflight_headers("https://app.test", "PUT", "x-a,x-b"),
            "header x-b",
        ),
        (
            CorsPolicy(allow_origins=["https://app.test"], allow_headers=["*"]),
            preflight_headers("https://app.test", "PUT", "authorization"),
            "header authorization",
        ),
        (LISTED, preflight_headers("https://app.test", "GET, DELETE"), "method"),
    ],
)
async def test_refused_preflight_names_what_failed(
    root: Path, policy: CorsPolicy, request_headers: list[tuple[str, str]], needle: str
) -> None:
    async with serving(root, policy) as live:
        r = await live.send("OPTIONS", "/data.json", request_headers)
        log = live.log
    assert r.status == 403 and acx(r) == {}
    assert needle in r.body.decode()
    assert needle in log


async def test_plain_options_is_not_a_preflight(root: Path) -> None:
    async with serving(root, LISTED) as live:
        r = await live.send("OPTIONS", "/data.json", [("Origin", "https://app.test")])
    assert r.status == 204
    assert r.header(b"allow") == b"GET, HEAD, OPTIONS"
    assert r.header(b"access-control-allow-origin") == b"https://app.test"
    assert b"access-control-allow-methods" not in acx(r)


async def test_simple_request_allowed_and_refused(root: Path) -> None:
    async with serving(root, CREDS) as live:
        ok = await live.send("GET", "/data.json", [("Origin", "https://app.test")])
        bad = await live.send("GET", "/data.json", [("Origin", "https://evil.test")])
        none = await live.send("GET", "/data.json")
        log = live.log
    assert ok.status == 200 and ok.body == b'{"a": 1}\n'
    assert acx(ok) == {
        b"access-control-allow-origin": b"https://app.test",
        b"access-control-expose-headers": EXPOSE,
        b"access-control-allow-credentials": b"true",
    }
    assert bad.status == 200 and acx(bad) == {}  # the browser blocks it, not the server
    assert none.status == 200 and acx(none) == {}
    for response in (ok, bad, none):
        assert response.header_all(b"vary") == [b"Origin"]
    assert "cors: origin https://evil.test not allowed" in log


async def test_vary_on_304_and_404_and_merged_with_accept_encoding(root: Path) -> None:
    async with serving(root, LISTED) as live:
        first = await live.send("GET", "/data.json", [("Origin", "https://app.test")])
        etag = first.header(b"etag")
        assert etag is not None
        cached = await live.send(
            "GET", "/data.json", [("Origin", "https://app.test"), ("If-None-Match", etag.decode())]
        )
        missing = await live.send("GET", "/nope.json", [("Origin", "https://evil.test")])
        gz = await live.send(
            "GET", "/app.js", [("Origin", "https://app.test"), ("Accept-Encoding", "gzip")]
        )
    assert cached.status == 304
    assert cached.header_all(b"vary") == [b"Origin"]
    assert cached.header(b"access-control-allow-origin") == b"https://app.test"
    assert missing.status == 404 and missing.header_all(b"vary") == [b"Origin"]
    assert gz.header(b"content-encoding") == b"gzip"
    (vary,) = gz.header_all(b"vary")
    assert sorted(v.strip() for v in vary.split(b",")) == [b"Accept-Encoding", b"Origin"]


async def test_star_policy_is_constant_and_never_varies_on_origin(root: Path) -> None:
    star = CorsPolicy(allow_origins=["*"])
    async with serving(root, star) as live:
        with_origin = await live.send("GET", "/data.json", [("Origin", "https://any.test")])
        without = await live.send("GET", "/data.json")
        pre = await live.send("OPTIONS", "/data.json", preflight_headers("https://any.test"))
        null = await live.send("GET", "/data.json", [("Origin", "null")])
    for r in (with_origin, without, null):
        assert r.header(b"access-control-allow-origin") == b"*"
        assert b"Origin" not in b",".join(r.header_all(b"vary"))
    assert pre.status == 204
    assert pre.header(b"access-control-allow-origin") == b"*"
    assert pre.header_all(b"vary") == [
        b"Access-Control-Request-Method, Access-Control-Request-Headers"
    ]


async def test_null_only_when_listed(root: Path) -> None:
    async with serving(root, LISTED) as live:
        refused = await live.send("GET", "/data.json", [("Origin", "null")])
    assert acx(refused) == {}
    async with serving(root, CorsPolicy(allow_origins=["null"])) as live:
        allowed = await live.send("GET", "/data.json", [("Origin", "null")])
    assert allowed.header(b"access-control-allow-origin") == b"null"


async def test_private_network_only_when_enabled(root: Path) -> None:
    headers = [
        *preflight_headers("https://app.test"),
        ("Access-Control-Request-Private-Network", "true"),
    ]
    async with serving(root, LISTED) as live:
        off = await live.send("OPTIONS", "/data.json", headers)
    policy = CorsPolicy(allow_origins=["https://app.test"], allow_private_network=True)
    async with serving(root, policy) as live:
        on = await live.send("OPTIONS", "/data.json", headers)
    assert off.header(b"access-control-allow-private-network") is None
    assert on.header(b"access-control-allow-private-network") == b"true"


async def test_two_origin_lines_are_refused(root: Path) -> None:
    async with serving(root, LISTED) as live:
        r = await live.send(
            "GET", "/data.json", [("Origin", "https://app.test"), ("Origin", "https://evil.test")]
        )
    assert acx(r) == {}
    assert r.header_all(b"vary") == [b"Origin"]
