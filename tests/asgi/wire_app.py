"""The app the ASGI servers run in the wire tests: one `CORSMiddleware` per policy of the wire
table around a small app, picked by the request's `?case=NAME` (the query plays no part in a
CORS decision); `&no-extension=1` hides the server's `websocket.http.response` extension.
Started as `uvicorn tests.asgi.wire_app:app` or `hypercorn tests.asgi.wire_app:app`."""

from __future__ import annotations

from urllib.parse import parse_qs

from minicors import CorsPolicy
from minicors.asgi import ASGIApp, CORSMiddleware, Receive, Scope, Send

from ..cors.wire_table import CASES

BODY = b'{"a": 1}\n'


async def small_app(scope: Scope, receive: Receive, send: Send) -> None:
    """200 with a JSON body; `/boom` raises; a WebSocket is accepted, then closed."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})
        return
    if scope["path"] == "/boom":
        raise RuntimeError("wire_app failure")
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def _middlewares() -> dict[str, ASGIApp]:
    by_policy: dict[str, ASGIApp] = {}
    out: dict[str, ASGIApp] = {}
    for case in CASES:
        key = repr(sorted(case.policy.items()))
        if key not in by_policy:
            by_policy[key] = CORSMiddleware(small_app, policy=CorsPolicy(**case.policy))
        out[case.name] = by_policy[key]
    return out


MIDDLEWARES = _middlewares()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await small_app(scope, receive, send)
        return
    query = parse_qs(scope.get("query_string", b"").decode())
    if "no-extension" in query:
        # As a server without the websocket.http.response extension offers the handshake.
        extensions = dict(scope.get("extensions") or {})
        extensions.pop("websocket.http.response", None)
        scope = {**scope, "extensions": extensions}
    await MIDDLEWARES[query["case"][0]](scope, receive, send)
