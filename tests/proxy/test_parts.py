"""The proxy's pure parts, without sockets: the prefix table, the settings, and what the headers
of a proxied request and its answer become."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from minicors.config import load, read_toml
from minicors.configdump import dump_config
from minicors.errors import ConfigError, HttpError
from minicors.messages import Request, parse_target
from minicors.proxy import (
    ProxyOptions,
    describe,
    is_websocket,
    options_from,
    request_headers,
    response_headers,
    rewrite_location,
    route,
    upstream_url,
    warnings,
    without_domain,
)

API = route("/api", "https://up.example:8443/v1")
ROOT = route("/", "http://up.example")
TABLE = ProxyOptions(routes=(API, route("/api/v2", "http://two.example/"), ROOT))


@pytest.mark.parametrize(
    ("target", "prefix", "url"),
    [
        ("/api/users?a=1&b", "/api", "https://up.example:8443/v1/users?a=1&b"),
        ("/api", "/api", "https://up.example:8443/v1"),
        ("/api/", "/api", "https://up.example:8443/v1/"),
        ("/api?", "/api", "https://up.example:8443/v1?"),
        ("/api//users//x/", "/api", "https://up.example:8443/v1/users/x/"),
        ("/api/v2/x", "/api/v2", "http://two.example/x"),
        ("/api/v2", "/api/v2", "http://two.example/"),
        ("/api/v2x", "/api", "https://up.example:8443/v1/v2x"),
        ("/apis", "/", "http://up.example/apis"),
        ("/", "/", "http://up.example/"),
        ("http://other.test/api/x", "/api", "https://up.example:8443/v1/x"),
    ],
)
def test_the_longest_whole_segment_prefix_wins(target: str, prefix: str, url: str) -> None:
    parsed = parse_target(target)
    matched = TABLE.match(parsed)
    assert matched is not None and matched.prefix == prefix
    assert upstream_url(matched, parsed) == url


@pytest.mark.parametrize("target", ["/api/../x", "/api/%2e%2e/x", "/api/.", "/api/v2/%2E%2E"])
def test_dot_segments_are_refused(target: str) -> None:
    parsed = parse_target(target)
    matched = TABLE.match(parsed)
    assert matched is not None
    with pytest.raises(HttpError) as caught:
        upstream_url(matched, parsed)
    assert caught.value.status == 400


def test_nothing_matches_without_a_root_prefix() -> None:
    options = ProxyOptions(routes=(API,))
    for target in ("/apix", "/x/../api/y", "/API/y", "/"):
        assert options.match(parse_target(target)) is None, target


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("/api", "write PREFIX=URL"),
        ("api=http://x", "must start with '/'"),
        ("/api=ftp://x", "http:// or https://"),
        ("/api=x.example", "http:// or https://"),
        ("/api=http://", "http:// or https://"),
        ("/api=http://h:", "http:// or https://"),
        ("/api=http://h:99999", "not a URL"),
        ("/api=http://h/?q=1", "may not carry a query"),
        ("/api=http://u:p@h/", "user:password"),
        ("/a/../b=http://h", "plain path"),
    ],
)
def test_a_bad_proxy_flag_is_one_line(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        options_from({"proxy": (spec,)})
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_settings_build_options() -> None:
    top = {
        "proxy": ("/api=http://a.test/v1", "/b/=https://b.test"),
        "proxy_insecure": ("/b",),
        "proxy_timeout_s": 2.5,
        "proxy_keep_host": True,
        "port": 1,
    }
    options = options_from(top)
    assert top == {"port": 1}  # the proxy keys were taken out
    assert options is not None and options.timeout_s == 2.5 and options.keep_host
    by_prefix = {r.prefix: r for r in options.routes}
    assert not by_prefix["/api"].insecure and by_prefix["/b"].insecure
    assert options_from({}) is None
    with pytest.raises(ConfigError, match="given twice"):
        options_from({"proxy": ("/a=http://x", "/a/=http://y")})
    with pytest.raises(ConfigError, match="no --proxy has that prefix"):
        options_from({"proxy": ("/a=http://x",), "proxy_insecure": ("/b",)})


def test_the_toml_form(tmp_path: Path) -> None:
    path = f"{tmp_path}/c.toml"
    with open(path, "w") as f:
        f.write(
            'proxy_timeout_s = 3\n[[proxy]]\nprefix = "/api"\ntarget = "https://s.test/v1"\n'
            '[[proxy]]\nprefix = "/auth"\ntarget = "https://a.test"\ninsecure = true\n'
        )
    config = load({}, path)
    assert config.proxy is not None and config.proxy.timeout_s == 3
    assert [(r.prefix, r.target, r.insecure) for r in config.proxy.routes] == [
        ("/api", "https://s.test/v1", False),
        ("/auth", "https://a.test", True),
    ]
    with open(path, "w") as f:
        f.write('[[proxy]]\nprefix = "/api"\ntaget = "https://s.test"\n')
    with pytest.raises(ConfigError, match="unknown key 'taget'"):
        read_toml(path)


def test_start_up_warnings() -> None:
    options = ProxyOptions(
        routes=(route("/api", "http://a.test"), route("/api/v2", "http://b.test")),
    )
    said = warnings(options, "/api/db")
    assert any("shadows the API at /api/db" in w for w in said)
    assert any("--proxy /api/v2 shadows part of --proxy /api" in w for w in said)
    insecure = ProxyOptions(routes=(route("/x", "https://x.test", insecure=True),))
    assert any("not verified" in w for w in warnings(insecure, None))
    assert warnings(ProxyOptions(routes=(route("/x", "http://x.test"),)), "/api") == []


def test_check_says_where_a_path_goes() -> None:
    line = describe(TABLE, parse_target("/api/users"))
    assert "proxied: /api/users goes to https://up.example:8443/v1/users" in line
    assert describe(ProxyOptions(routes=(API,)), parse_target("/other")) == ""


def _request(*headers: tuple[str, str], peer: str = "10.0.0.7:5555") -> Request:
    return Request.build("GET", "/api/x", [("Host", "dev.test:8000"), *headers], peer=peer)


def test_forwarded_fields_replace_the_clients_claims() -> None:
    request = _request(
        ("X-Forwarded-For", "1.1.1.1"),
        ("Forwarded", "for=1.1.1.1"),
        ("Connection", "keep-alive, X-Hop"),
        ("X-Hop", "1"),
        ("Proxy-Authorization", "x"),
        ("Expect", "100-continue"),
        ("Content-Length", "0"),
        ("Cookie", "a=1"),
    )
    out = request_headers(request, API, scheme="https", keep_host=False, upgrade=False)
    assert out == [
        (b"Cookie", b"a=1"),
        (b"Host", b"up.example:8443"),
        (b"X-Forwarded-For", b"10.0.0.7"),
        (b"X-Forwarded-Proto", b"https"),
        (b"X-Forwarded-Host", b"dev.test:8000"),
        (b"Forwarded", b'for=10.0.0.7;proto=https;host="dev.test:8000"'),  # ':' is no tchar
    ]
    v6 = request_headers(
        _request(peer="[::1]:80"), API, scheme="http", keep_host=True, upgrade=False
    )
    assert (b"Host", b"dev.test:8000") in v6
    assert (b"Forwarded", b'for="[::1]";proto=http;host="dev.test:8000"') in v6
    assert (b"X-Forwarded-For", b"::1") in v6


def test_an_upgrade_keeps_its_upgrade() -> None:
    request = _request(("Connection", "Upgrade"), ("Upgrade", "websocket"))
    assert is_websocket(request)
    out = request_headers(request, API, scheme="http", keep_host=False, upgrade=True)
    assert out[-2:] == [(b"Connection", b"upgrade"), (b"Upgrade", b"websocket")]
    assert not is_websocket(_request(("Upgrade", "websocket")))  # Connection must name it


async def _pieces() -> AsyncIterator[bytes]:
    yield b"x"


def _framing(out: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(n, v) for n, v in out if n.lower() in (b"content-length", b"transfer-encoding")]


def test_the_body_is_framed_once_one_way() -> None:
    # RFC 9112 §6.1-6.3: one Content-Length, or chunked, never both; the client's
    # Transfer-Encoding is hop-by-hop, so minicors frames what it forwards itself.
    def sent(*headers: tuple[str, str], body: bytes = b"", stream: bool = False) -> list[Any]:
        request = Request.build("POST", "/api/x", [("Host", "t"), *headers], body=body)
        if stream:
            request = dataclasses.replace(request, body_stream=_pieces())
        out = request_headers(request, API, scheme="http", keep_host=False, upgrade=False)
        return _framing(out)

    assert sent(("Content-Length", "3"), body=b"abc") == [(b"Content-Length", b"3")]
    assert sent(("Transfer-Encoding", "chunked"), body=b"abc") == [(b"Content-Length", b"3")]
    assert sent(("Content-Length", "9"), stream=True) == [(b"Content-Length", b"9")]
    chunked = sent(("Transfer-Encoding", "chunked"), stream=True)
    assert chunked == [(b"Transfer-Encoding", b"chunked")]
    assert sent(("Content-Length", "0")) == []  # no body: nothing to frame


def test_response_fields_are_mapped_onto_minicors() -> None:
    raw = [
        (b"Content-Type", b"text/plain"),
        (b"Content-Length", b"12"),
        (b"Connection", b"close, X-Hop"),
        (b"X-Hop", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Date", b"x"),
        (b"Server", b"up"),
        (b"Access-Control-Allow-Origin", b"*"),
        (b"Location", b"https://up.example:8443/v1/items/7"),
        (b"Set-Cookie", b"s=1; Domain=.UP.example; Path=/"),
        (b"Vary", b"Accept-Encoding"),
    ]
    fields, length, cors = response_headers(
        raw, API, public_origin="http://dev.test:8000", upgrade=False
    )
    assert length is None and cors  # Transfer-Encoding overrides it (RFC 9112 §6.3)
    assert fields == (
        (b"content-type", b"text/plain"),
        (b"location", b"http://dev.test:8000/api/items/7"),
        (b"set-cookie", b"s=1; Path=/"),
        (b"vary", b"Accept-Encoding"),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://up.example:8443/v1/a?b=1#c", "http://me.test/api/a?b=1#c"),
        ("https://up.example:8443/v1", "http://me.test/api"),
        ("/v1/a", "/api/a"),
        ("/v2/a", "/v2/a"),  # outside the target's path: as is
        ("https://elsewhere.test/v1/a", "https://elsewhere.test/v1/a"),
        ("http://up.example:8443/v1/a", "http://up.example:8443/v1/a"),  # another origin
        ("a/b", "a/b"),
        ("//up.example:8443/v1/a", "//up.example:8443/v1/a"),
    ],
)
def test_locations_under_the_target_move_under_the_prefix(value: str, expected: str) -> None:
    assert rewrite_location(value, API, "http://me.test") == expected


def test_only_the_upstreams_cookie_domain_goes() -> None:
    assert without_domain(b"a=1; domain=up.example; Secure", "up.example") == b"a=1; Secure"
    kept = b"a=1; Domain=example.org"
    assert without_domain(kept, "up.example") == kept


def test_print_config_keeps_the_proxy(tmp_path: Path) -> None:
    settings = {
        "proxy": ("/api=https://s.test/v1",),
        "proxy_insecure": ("/api",),
        "proxy_timeout_s": 4.0,
    }
    text = dump_config(load(settings, None))
    path = tmp_path / "c.toml"
    path.write_text(text)
    again = load({}, str(path))
    assert again.proxy is not None and again.proxy.timeout_s == 4.0
    assert [(r.prefix, r.target, r.insecure) for r in again.proxy.routes] == [
        ("/api", "https://s.test/v1", True)
    ]
    assert dump_config(again) == text
