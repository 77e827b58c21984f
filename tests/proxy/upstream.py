"""A bare ASGI upstream for the proxy tests, run under uvicorn in a subprocess.

It does what real backends do to a proxy: sets its own CORS headers, echoes what it received
(so forwarded and dropped headers can be asserted), streams large bodies, sets cookies and
redirects, stalls, breaks off mid-body, and echoes WebSocket messages.  It counts the
WebSocket handshakes it saw (`/ws-count`), so a test can prove one never reached it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CHUNK = 64 * 1024
STALL_S = 30.0  # how long /stall waits (the tests' proxy timeout is far shorter)
WS_SEEN = {"count": 0}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "websocket":
        await websocket(scope, receive, send)
        return
    path = scope["path"]
    query = parse_qs(scope["query_string"].decode())
    if path.endswith("/big"):
        await big(send, int(query["n"][0]), chunked="chunked" in query)
    elif path.endswith("/stall"):
        await asyncio.sleep(STALL_S)
        await plain(send, 200, b"late\n")
    elif path.endswith("/die"):
        await send(_start(200, [(b"content-length", b"100000")]))
        await send({"type": "http.response.body", "body": b"x" * 1000, "more_body": True})
        raise RuntimeError("the upstream dies mid-body (on purpose)")
    elif path.endswith("/cookie"):
        cookie = b"session=s3cret; Domain=127.0.0.1; Path=/; HttpOnly; SameSite=Lax"
        await plain(send, 200, b"cookie set\n", [(b"set-cookie", cookie)])
    elif path.endswith("/redirect"):
        host, port = scope["server"]
        location = f"http://{host}:{port}/v1/echo?from=redirect".encode()
        await plain(send, 302, b"", [(b"location", location)])
    elif path.endswith("/ws-count"):
        await plain(send, 200, str(WS_SEEN["count"]).encode())
    else:
        await echo(scope, receive, send)


def _start(status: int, headers: list[tuple[bytes, bytes]]) -> Message:
    return {"type": "http.response.start", "status": status, "headers": headers}


async def plain(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    fields = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await send(_start(status, fields + (headers or [])))
    await send({"type": "http.response.body", "body": body})


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    """What arrived, as JSON: the body is counted and hashed as it streams in."""
    digest = hashlib.sha256()
    size = 0
    while True:
        message = await receive()
        data = message.get("body", b"")
        digest.update(data)
        size += len(data)
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["raw_path"].decode("latin-1"),
        "query": scope["query_string"].decode("latin-1"),
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
        "size": size,
        "sha256": digest.hexdigest(),
    }
    body = json.dumps(seen).encode()
    # Its own CORS, as backends have: the proxy must replace it with minicors's policy.
    await plain(
        send,
        200,
        body,
        [
            (b"access-control-allow-origin", b"*"),
            (b"vary", b"Accept-Encoding"),
            (b"x-upstream", b"yes"),
        ],
    )


async def big(send: Send, n: int, *, chunked: bool) -> None:
    headers = [(b"content-type", b"application/octet-stream")]
    if not chunked:
        headers.append((b"content-length", b"%d" % n))
    await send(_start(200, headers))
    block = bytes(range(256)) * (CHUNK // 256)
    left = n
    while left > 0:
        piece = block[: min(CHUNK, left)]
        left -= len(piece)
        await send({"type": "http.response.body", "body": piece, "more_body": left > 0})
    if n == 0:
        await send({"type": "http.response.body", "body": b""})


async def websocket(scope: Scope, receive: Receive, send: Send) -> None:
    WS_SEEN["count"] += 1
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        text = message.get("text")
        if text is not None:
            await send({"type": "websocket.send", "text": "echo: " + text})
        else:
            await send({"type": "websocket.send", "bytes": message.get("bytes") or b""})
