"""The live change feed `<prefix>/_events`: `ChangeFeed` alone (replay, bounded history,
heartbeats on a mock clock), then on a live server: one event per create/update/delete with the
ETag a GET gives, `reload` for an edit from outside, CORS with credentials, a prompt end at
shutdown, and its place among --max-connections."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from minicors.app import App
from minicors.config import Config
from minicors.cors import CorsPolicy
from minicors.jsonapi import JsonApi
from minicors.jsonapi.feed import Change, ChangeFeed
from minicors.messages import LiveBody, Request
from minicors.options import ApiOptions, Limits

from ..conftest import live_server, request

ORIGIN = "http://app.test:5173"
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def db_document() -> dict[str, Any]:
    return {"posts": [{"id": 1, "title": "a"}], "comments": [{"id": 1, "postId": 1}]}


def events_of(data: bytes) -> list[dict[str, str]]:
    """The events of a text/event-stream (comments and the retry line left out)."""
    found = []
    for block in data.decode().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.split("\n") if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            found.append(fields)
    return found


async def take(stream: AsyncGenerator[bytes, None], count: int) -> list[dict[str, str]]:
    """The next `count` events (heartbeats skipped), within a bounded wait."""
    events: list[dict[str, str]] = []
    with trio.fail_after(5):
        while len(events) < count:
            events.extend(events_of(await stream.__anext__()))
    return events


# --- ChangeFeed alone ---------------------------------------------------------------------
async def test_published_changes_reach_an_open_stream() -> None:
    feed = ChangeFeed()
    stream = feed.stream(None)
    assert (await stream.__anext__()).startswith(b"retry: 1000\n")
    feed.publish(Change("create", "posts", 2, '"abc"'), Change("delete", "comments", 1))
    first, second = await take(stream, 2)
    assert first == {
        "id": f"{feed.run}:1",
        "event": "create",
        "data": '{"collection": "posts", "id": 2, "etag": "\\"abc\\""}',
    }
    assert json.loads(second["data"]) == {"collection": "comments", "id": 1, "etag": None}
    feed.publish(Change("update", "caf\u00e9", "\ud800", '"t"'))  # valid JSON, not UTF-8
    (odd,) = await take(stream, 1)
    assert json.loads(odd["data"])["id"] == "\ud800"
    await stream.aclose()


async def test_last_event_id_replays_what_was_missed() -> None:
    feed = ChangeFeed()
    feed.publish(*(Change("update", "posts", n, '"t"') for n in range(1, 6)))
    stream = feed.stream(f"{feed.run}:3")
    await stream.__anext__()
    replayed = await take(stream, 2)
    assert [e["id"] for e in replayed] == [f"{feed.run}:4", f"{feed.run}:5"]
    await stream.aclose()


@pytest.mark.parametrize("last", ["other:1", "garbage", "{run}:x", "{run}:99999999999999999999"])
async def test_an_id_from_another_run_or_not_ours_gets_one_reload(last: str) -> None:
    feed = ChangeFeed()
    feed.publish(Change("update", "posts", 1, '"t"'))
    stream = feed.stream(last.format(run=feed.run))
    await stream.__anext__()
    (event,) = await take(stream, 1)
    assert (event["event"], event["data"]) == ("reload", "{}")
    feed.publish(Change("update", "posts", 1, '"u"'))  # then it follows as usual
    (event,) = await take(stream, 1)
    assert event["event"] == "update"
    await stream.aclose()


async def test_the_history_is_bounded_and_a_client_past_it_gets_a_reload() -> None:
    feed = ChangeFeed(history=3)
    stream = feed.stream(None)
    await stream.__anext__()
    feed.publish(*(Change("update", "posts", n, '"t"') for n in range(10)))
    assert len(feed._events) == 3
    (event,) = await take(stream, 1)  # it was 10 behind: the 3 kept cannot catch it up
    assert event["event"] == "reload"
    late = feed.stream(f"{feed.run}:2")
    await late.__anext__()
    assert (await take(late, 1))[0]["event"] == "reload"
    await stream.aclose()
    await late.aclose()


async def test_heartbeats_keep_an_idle_stream_open(autojump_clock: trio.testing.MockClock) -> None:
    feed = ChangeFeed(heartbeat_s=15)
    stream = feed.stream(None)
    await stream.__anext__()
    start = trio.current_time()
    assert await stream.__anext__() == b": keep-alive\n\n"
    assert trio.current_time() - start == pytest.approx(15)
    await stream.aclose()


# --- through JsonApi ----------------------------------------------------------------------
async def test_the_route_and_its_methods(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    response = await api.handle(Request.build("GET", "/api/_events", [], b""))
    assert response.status == 200
    assert response.header(b"content-type") == b"text/event-stream"
    assert isinstance(response.body, LiveBody)
    await response.body.aclose()
    post = await api.handle(Request.build("POST", "/api/_events", [], b""))
    assert (post.status, post.header(b"allow")) == (405, b"GET, HEAD, OPTIONS")
    head = await api.handle(Request.build("HEAD", "/api/_events", [], b""))
    assert head.status == 200 and isinstance(head.body, LiveBody)
    await head.body.aclose()
    options = await api.handle(Request.build("OPTIONS", "/api/_events", [], b""))
    assert (options.status, options.header(b"allow")) == (204, b"GET, HEAD, OPTIONS")
    # A file with its own "_events" key keeps it, as with "db".
    db_file.write_text(json.dumps({"_events": [{"id": 1}]}))
    listed = await api.handle(Request.build("GET", "/api/_events", [], b""))
    assert listed.body == b'[{"id":1}]'


async def test_last_event_id_reaches_the_feed_through_the_api(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    json_type = [("content-type", "application/json")]
    await api.handle(Request.build("POST", "/api/posts", json_type, b'{"t": 1}'))
    await api.handle(Request.build("PUT", "/api/posts/2", json_type, b'{"t": 2}'))
    last = [("last-event-id", f"{api.feed.run}:1")]
    response = await api.handle(Request.build("GET", "/api/_events", last, b""))
    assert isinstance(response.body, LiveBody)
    pieces = response.body.pieces
    assert isinstance(pieces, AsyncGenerator)
    await pieces.__anext__()
    (event,) = await take(pieces, 1)
    assert (event["id"], event["event"]) == (f"{api.feed.run}:2", "update")
    await response.body.aclose()


# --- on a live server ---------------------------------------------------------------------
class Stream:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.data = bytearray()

    async def until(self, needle: bytes, count: int = 1, timeout: float = 10) -> bytes:
        with trio.fail_after(timeout):
            while self.data.count(needle) < count:
                chunk = await self.stream.receive_some(65536)
                if not chunk:
                    raise AssertionError(f"closed before {needle!r}: {bytes(self.data)!r}")
                self.data.extend(chunk)
        return bytes(self.data)


async def open_feed(address: Any, *headers: str) -> Stream:
    stream = await trio.open_tcp_stream(address.host, address.port)
    lines = ["GET /api/_events HTTP/1.1", "Host: t", *headers, "", ""]
    await stream.send_all("\r\n".join(lines).encode())
    return Stream(stream)


def config(db_file: Path, tmp_path: Path, **limits: Any) -> Config:
    return Config(
        root=str(tmp_path),
        api=ApiOptions(file=str(db_file)),
        cors=CorsPolicy(allow_origins=[ORIGIN], allow_credentials=True),
        limits=Limits(**limits),
    )


async def test_every_write_is_one_event_with_the_etag_a_get_gives(
    db_file: Path, tmp_path: Path
) -> None:
    async with live_server(config(db_file, tmp_path)) as live:
        feed = await open_feed(live.address, f"Origin: {ORIGIN}")
        async with feed.stream:
            head = await feed.until(b"retry: ")
            assert b"HTTP/1.1 200 " in head and b"content-type: text/event-stream" in head
            assert f"access-control-allow-origin: {ORIGIN}".encode() in head
            assert b"access-control-allow-credentials: true" in head
            body = b'{"title": "b"}'
            await request(live.address, "POST", "/api/posts", JSON_HEADERS, body)
            await request(live.address, "PATCH", "/api/posts/2", JSON_HEADERS, b'{"x": 1}')
            await request(live.address, "DELETE", "/api/posts/1")  # and its comment
            data = await feed.until(b"event: ", count=4)
            got = [(e["event"], json.loads(e["data"])) for e in events_of(data)]
            assert [(kind, d["collection"], d["id"]) for kind, d in got] == [
                ("create", "posts", 2),
                ("update", "posts", 2),
                ("delete", "posts", 1),
                ("delete", "comments", 1),
            ]
            current = await request(live.address, "GET", "/api/posts/2")
            assert got[1][1]["etag"] == (current.header(b"etag") or b"").decode()
            assert got[2][1]["etag"] is None


async def test_an_edit_from_outside_is_a_reload_event(db_file: Path, tmp_path: Path) -> None:
    async with live_server(config(db_file, tmp_path)) as live:
        feed = await open_feed(live.address)
        async with feed.stream:
            await feed.until(b"retry: ")
            await request(live.address, "POST", "/api/posts", JSON_HEADERS, b"{}")
            await feed.until(b"event: create")
            db_file.write_text(json.dumps({"posts": []}))  # seen by the 0.5 s poll
            data = await feed.until(b"event: reload")
            assert data.count(b"event: ") == 2  # our own write was no reload


async def test_shutdown_ends_the_feed_at_once(db_file: Path, tmp_path: Path) -> None:
    async with live_server(config(db_file, tmp_path, grace_period_s=30)) as live:
        feed = await open_feed(live.address)
        async with feed.stream:
            await feed.until(b"retry: ")
            live.server.shutdown()
            with trio.fail_after(3):  # not the 30 s grace period
                while await feed.stream.receive_some(65536):
                    pass
            with trio.fail_after(3):
                await live.stopped.wait()


async def test_the_feed_counts_against_max_connections(db_file: Path, tmp_path: Path) -> None:
    async with live_server(config(db_file, tmp_path, max_connections=1)) as live:
        feed = await open_feed(live.address)
        async with feed.stream:
            await feed.until(b"retry: ")
            with trio.move_on_after(2) as waited:  # past the 1 s after which stalls are shed
                await request(live.address, "GET", "/api/posts")
            assert waited.cancelled_caught  # the one slot is the feed's
        with trio.fail_after(5):
            assert (await request(live.address, "GET", "/api/posts")).status == 200


def test_app_serves_the_feed_under_the_prefix(db_file: Path, tmp_path: Path) -> None:
    app = App(config(db_file, tmp_path))
    assert app.api is not None and app.api.owns(Request.build("GET", "/api/_events", [], b"").url)
