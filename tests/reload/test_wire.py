"""--reload on a live server: the script, the event stream (its headers, CORS, replay), a
prompt end at shutdown, and the watcher seeing real edits (but not the API's own writes)."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from minicors.app import App
from minicors.config import Config
from minicors.options import ApiOptions, Limits

from ..conftest import live_server, request

PAGE = b"<html><body>page</body></html>"
ORIGIN = "http://localhost:5173"


def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_bytes(PAGE)
    (root / "app.css").write_text("body { color: red }")
    return root


class Stream:
    """The raw bytes of one event stream, read as they come."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.data = bytearray()

    async def until(self, needle: bytes, timeout: float = 10, count: int = 1) -> bytes:
        with trio.fail_after(timeout):
            while self.data.count(needle) < count:
                chunk = await self.stream.receive_some(65536)
                if not chunk:
                    raise AssertionError(f"closed before {needle!r}: {bytes(self.data)!r}")
                self.data.extend(chunk)
        return bytes(self.data)


async def open_events(host: str, port: int, *headers: str) -> Stream:
    stream = await trio.open_tcp_stream(host, port)
    lines = ["GET /_minicors/events HTTP/1.1", "Host: t", *headers, "", ""]
    await stream.send_all("\r\n".join(lines).encode())
    return Stream(stream)


def the_app(live_app: object) -> App:
    assert isinstance(live_app, App) and live_app.reload is not None
    return live_app


async def test_the_script_and_the_event_stream(tmp_path: Path) -> None:
    config = Config(root=str(site(tmp_path)), reload=True)
    async with live_server(config) as live:
        page = await request(live.address, "GET", "/")
        assert page.body.endswith(
            b'<script src="/_minicors/reload.js" defer></script></body></html>'
        )
        script = await request(live.address, "GET", "/_minicors/reload.js")
        assert script.status == 200
        assert script.header(b"content-type") == b"text/javascript; charset=utf-8"
        assert b"EventSource" in script.body
        hub = the_app(live.server.app).reload
        assert hub is not None
        events = await open_events(live.address.host, live.address.port, f"Origin: {ORIGIN}")
        async with events.stream:
            head = await events.until(b"event: hello")
            assert b"HTTP/1.1 200 " in head
            assert b"content-type: text/event-stream" in head
            assert b"transfer-encoding: chunked" in head
            assert b"cache-control: no-cache" in head
            assert f"access-control-allow-origin: {ORIGIN}".encode() in head  # the CORS policy
            hub.publish("css", ("/app.css",))
            data = await events.until(b"event: css")
            assert b'data: ["/app.css"]' in data
        # A page that reconnects names the last event it saw and gets what came after.
        hub.publish("reload")
        again = await open_events(
            live.address.host, live.address.port, f"Last-Event-ID: {hub.instance}:1"
        )
        async with again.stream:
            data = await again.until(f"id: {hub.instance}:2".encode())
            assert b"event: reload" in data and f"id: {hub.instance}:1".encode() not in data


async def test_shutdown_ends_event_streams_at_once(tmp_path: Path) -> None:
    config = Config(root=str(site(tmp_path)), reload=True, limits=Limits(grace_period_s=30))
    async with live_server(config) as live:
        events = await open_events(live.address.host, live.address.port)
        async with events.stream:
            await events.until(b"event: hello")
            live.server.shutdown()
            with trio.fail_after(3):  # not the 30 s grace period
                while await events.stream.receive_some(65536):
                    pass
            with trio.fail_after(3):
                await live.stopped.wait()


async def test_edits_reach_the_page_but_the_apis_own_writes_do_not(tmp_path: Path) -> None:
    root = site(tmp_path)
    db = tmp_path / "db.json"
    db.write_text(json.dumps({"items": [{"id": 1}]}))
    config = Config(root=str(root), reload=True, api=ApiOptions(file=str(db)))
    async with live_server(config) as live:
        events = await open_events(live.address.host, live.address.port)
        async with events.stream:
            await events.until(b"event: hello")
            await trio.sleep(0.5)  # the watcher is up
            (root / "app.css").write_text("body { color: blue }")
            assert b'data: ["/app.css"]' in await events.until(b"event: css")
            (root / ".hidden").write_text("x")  # noise: never reported
            (root / "index.html").write_bytes(PAGE + b"<!-- edited -->")
            data = await events.until(b"event: reload")
            assert data.count(b"event: ") == 3  # hello, css, reload: the dotfile made none
            created = await request(
                live.address,
                "POST",
                "/api/items",
                {"Content-Type": "application/json"},
                b'{"title": "x"}',
            )
            assert created.status == 201
            await trio.sleep(2.5)  # past the watcher's batching: nothing for our own write
            db.write_text(json.dumps({"items": []}))  # an edit from outside minicors
            data = await events.until(b"event: reload", timeout=10, count=2)
            assert data.count(b"event: ") == 4  # and nothing for the API's own write


async def test_an_event_stream_counts_against_the_connection_limit(tmp_path: Path) -> None:
    """A stream holds its slot like any connection, and is not shed as a slow client: it
    waits on events, not on its client."""
    config = Config(root=str(site(tmp_path)), reload=True, limits=Limits(max_connections=1))
    async with live_server(config) as live:
        events = await open_events(live.address.host, live.address.port)
        async with events.stream:
            await events.until(b"event: hello")
            with trio.move_on_after(2) as waited:  # past the 1 s after which stalls are shed
                await request(live.address, "GET", "/")
            assert waited.cancelled_caught  # the one slot is the stream's
        with trio.fail_after(5):  # the stream closed: its slot is free
            assert (await request(live.address, "GET", "/")).status == 200
