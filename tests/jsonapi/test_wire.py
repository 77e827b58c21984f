"""The JSON API through the real server on a loopback socket: framing, CORS, limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from minicors.config import Config
from minicors.options import ApiOptions, Limits
from minicors.server import BoundAddress

from ..conftest import Parsed, live_server, request

ORIGIN = "http://localhost:5173"  # allowed by the default loopback policy


@pytest.fixture
async def address(tmp_path: Path, db_file: Path) -> AsyncIterator[BoundAddress]:
    config = Config(
        root=str(tmp_path),
        access_log=False,
        api=ApiOptions(file=str(db_file)),
        limits=Limits(max_body_bytes=4096),
    )
    async with live_server(config) as live:
        yield live.address


def hdr(response: Parsed, name: str) -> str | None:
    for n, v in response.headers:
        if n.decode().lower() == name:
            return str(v.decode())
    return None


JSON = {"Content-Type": "application/json", "Origin": ORIGIN}


async def test_post_then_get_with_cors_exposing_the_api_headers(
    address: BoundAddress, db_file: Path
) -> None:
    created = await request(address, "POST", "/api/items", JSON, b'{"t": "b"}')
    assert created.status == 201
    assert json.loads(created.body) == {"id": 2, "t": "b"}
    assert hdr(created, "location") == "/api/items/2"
    assert hdr(created, "access-control-allow-origin") == ORIGIN
    exposed = {
        h.strip().lower() for h in (hdr(created, "access-control-expose-headers") or "").split(",")
    }
    assert {"etag", "link", "location", "x-total-count"} <= exposed
    assert json.loads(db_file.read_text())["items"][-1] == {"id": 2, "t": "b"}
    listed = await request(
        address, "GET", "/api/items?_page=1&_limit=1", headers={"Origin": ORIGIN}
    )
    assert hdr(listed, "x-total-count") == "2"
    assert hdr(listed, "link") is not None
    assert json.loads(listed.body) == [{"id": 1, "v": 0}]


async def test_conditional_get_is_304_without_a_body(address: BoundAddress) -> None:
    first = await request(address, "GET", "/api/items/1")
    tag = hdr(first, "etag")
    assert tag is not None
    again = await request(address, "GET", "/api/items/1", headers={"If-None-Match": tag})
    assert again.status == 304
    assert again.body == b""
    assert hdr(again, "etag") == tag


async def test_head_frames_like_get(address: BoundAddress) -> None:
    get = await request(address, "GET", "/api/items")
    head = await request(address, "HEAD", "/api/items")
    assert head.status == 200
    assert head.body == b""
    assert hdr(head, "content-length") == str(len(get.body))


async def test_preflight_for_a_put_is_answered_before_the_api(address: BoundAddress) -> None:
    response = await request(
        address,
        "OPTIONS",
        "/api/items/1",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, if-match",
        },
    )
    assert response.status == 204
    assert hdr(response, "access-control-allow-origin") == ORIGIN
    assert "PUT" in (hdr(response, "access-control-allow-methods") or "")


async def test_plain_options_lists_the_methods(address: BoundAddress) -> None:
    response = await request(address, "OPTIONS", "/api/profile")
    assert response.status == 204
    assert hdr(response, "allow") == "GET, HEAD, POST, PUT, PATCH, OPTIONS"


async def test_errors_are_json_over_the_wire(address: BoundAddress, db_file: Path) -> None:
    before = db_file.read_bytes()
    wrong_type = await request(
        address, "POST", "/api/items", {"Content-Type": "text/plain", "Origin": ORIGIN}, b"{}"
    )
    assert wrong_type.status == 415
    assert hdr(wrong_type, "content-type") == "application/json"
    assert "application/json" in json.loads(wrong_type.body)["error"]
    assert hdr(wrong_type, "access-control-allow-origin") == ORIGIN  # the page can read why
    method = await request(address, "DELETE", "/api/items", headers={"Origin": ORIGIN})
    assert (method.status, hdr(method, "allow")) == (405, "GET, HEAD, POST, OPTIONS")
    too_big = await request(address, "POST", "/api/items", JSON, b"{" + b" " * 5000 + b"}")
    assert too_big.status == 413
    assert db_file.read_bytes() == before


async def test_an_absolute_form_target_reaches_the_api(address: BoundAddress) -> None:
    # RFC 9112 §3.2.2: `GET http://host/api/items` names the same resource as `/api/items`.
    plain = await request(address, "GET", "/api/items")
    absolute = await request(address, "GET", "http://127.0.0.1/api/items")
    assert absolute.status == plain.status == 200
    assert hdr(absolute, "content-type") == "application/json"
    assert absolute.body == plain.body
