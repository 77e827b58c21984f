"""Driving `CORSMiddleware` without a server: scopes as an ASGI server builds them, an app that
records what reached it, and the messages the middleware sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from minicors.asgi import ASGIApp, Message, Receive, Scope, Send

Pairs = Sequence[tuple[str, str]]


def http_scope(method: str, path: str = "/data.json", headers: Pairs = (), **extra: Any) -> Scope:
    raw_path, _, query = path.partition("?")
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"api.test")]
        + [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    scope.update(extra)
    return scope


def ws_scope(headers: Pairs = (), extensions: dict[str, Any] | None = None) -> Scope:
    scope = http_scope("GET", "/ws", headers)
    scope["type"] = "websocket"
    scope.pop("method")
    scope["scheme"] = "ws"
    scope["extensions"] = extensions if extensions is not None else {}
    return scope


@dataclass
class StubApp:
    """An ASGI app answering `status` with `headers`, or raising `fail` (before or after it
    started its response); it records each scope it was called with."""

    status: int = 200
    headers: Sequence[tuple[bytes, bytes]] = ((b"content-type", b"text/plain"),)
    body: bytes = b"hello\n"
    fail: Exception | None = None
    fail_after_start: bool = False
    scopes: list[Scope] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            return
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            return
        if self.fail is not None and not self.fail_after_start:
            raise self.fail
        await send(
            {"type": "http.response.start", "status": self.status, "headers": list(self.headers)}
        )
        if self.fail is not None:
            raise self.fail
        await send({"type": "http.response.body", "body": self.body})


@dataclass
class Exchange:
    sent: list[Message]

    @property
    def status(self) -> int:
        starts = [m for m in self.sent if m["type"].endswith("response.start")]
        assert len(starts) == 1, self.sent
        return int(starts[0]["status"])

    @property
    def headers(self) -> list[tuple[str, str]]:
        (start,) = [m for m in self.sent if m["type"].endswith("response.start")]
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in start["headers"]]

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n.lower() == name]
        assert len(values) <= 1, f"{name} sent {len(values)} times"
        return values[0] if values else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"].endswith(".body"))


async def call(mw: ASGIApp, scope: Scope, incoming: Sequence[Message] = ()) -> Exchange:
    """Run `mw` on `scope`, feeding `incoming` to its `receive` (then an empty request body)."""
    queue = list(incoming) or [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        assert queue, "the app read more than the test provided"
        return queue.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await mw(scope, receive, send)
    return Exchange(sent)
