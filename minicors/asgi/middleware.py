"""`CORSMiddleware`: the CORS engine in front of any ASGI app, in the order `minicors serve`
uses (minicors/app.py): the policy decides first, a preflight is answered without the app, and
every other response (the app's 4xx/5xx and the 500 for an exception alike) goes out with the
decision's `Access-Control-*` headers and one merged `Vary`.

Plain ASGI 3 (no framework): the scope's headers become the same `Request` value the server
builds, so the engine cannot tell the two carriers apart.  WebSocket handshakes carry an
`Origin` that no browser check protects (RFC 6455 §10.2: the server must check it), so a
refused origin is answered 403 before the app sees the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from ..accesslog import escape
from ..cors import CorsDecision, CorsKind, CorsPolicy, CorsRouter
from ..errors import ConfigError, ProtocolError
from ..messages import (
    INTERNAL_ERROR,
    Request,
    Response,
    Target,
    combine_headers,
    error_response,
    target_of,
)
from .options import policy_from_file, starlette_policy, worded_for_code

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("minicors.cors")

# Starlette's defaults, so that `CORSMiddleware(app, **the same keywords)` means what it meant.
_STARLETTE_DEFAULTS: dict[str, Any] = {
    "allow_origins": (),
    "allow_methods": ("GET",),
    "allow_headers": (),
    "allow_credentials": False,
    "allow_origin_regex": None,
    "allow_private_network": False,
    "expose_headers": (),
    "max_age": 600,
}
_ROOT = target_of("/")  # the target a policy without routes is never asked about
_WS_EXTENSION = "websocket.http.response"
# RFC 6455 §7.4.1: 1008 "policy violation"; sent before accept, servers answer the handshake 403.
_WS_POLICY_VIOLATION = 1008


class CORSMiddleware:
    """CORS for an ASGI app: Starlette's keywords with Starlette's meanings, or a minicors
    `policy=` (a `CorsPolicy` or `CorsRouter`), or `config=` a TOML file's `[cors]` table.
    Raises `ConfigError` for an unsafe or invalid setting, as `minicors serve` refuses to start."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
        policy: CorsPolicy | CorsRouter | None = None,
        config: str | None = None,
    ) -> None:
        self.app = app
        given: dict[str, Any] = {
            "allow_origins": allow_origins,
            "allow_methods": allow_methods,
            "allow_headers": allow_headers,
            "allow_credentials": allow_credentials,
            "allow_origin_regex": allow_origin_regex,
            "allow_private_network": allow_private_network,
            "expose_headers": expose_headers,
            "max_age": max_age,
        }
        changed = [k for k, v in given.items() if _differs(v, _STARLETTE_DEFAULTS[k])]
        extra: tuple[str, ...] = ()
        if policy is not None and config is not None:
            raise ConfigError("give either policy= or config=, not both")
        if (policy is not None or config is not None) and changed:
            source = "policy=" if policy is not None else "config="
            raise ConfigError(
                f"{', '.join(changed)} cannot be combined with {source}: put every CORS "
                f"setting in the {'policy' if policy is not None else 'file'}"
            )
        if config is not None:
            policy = policy_from_file(config)
        elif policy is None:
            policy, extra = starlette_policy(**given)
        else:
            policy = worded_for_code(policy)
        router = policy if isinstance(policy, CorsRouter) else CorsRouter(policy)
        self.router = router
        self._single: CorsPolicy | None = None if router.routes else router.default
        self.warnings: tuple[str, ...] = (*extra, *router.warnings)
        for warning in self.warnings:
            log.warning("minicors: %s", warning)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
            return
        if kind != "http":  # lifespan, and any scope type ASGI may add: not ours to judge
            await self.app(scope, receive, send)
            return
        policy, decision = self._decide(scope, scope["method"])
        if decision.response is not None:
            # A preflight, answered by the policy alone: a refused one never reaches the app.
            await _send_whole(send, policy.preflight_response(decision))
            return
        if not (decision.headers or decision.vary):
            await self.app(scope, receive, send)
            return
        started = False

        async def send_annotated(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = _annotated(policy, decision, message)
            await send(message)

        try:
            await self.app(scope, receive, send_annotated)
        except Exception:
            if not started:
                # Answer the browser a 500 it can read (with the CORS headers), then let the
                # server log the exception as it would have without the middleware.
                await _send_whole(send, policy.annotate(decision, error_response(INTERNAL_ERROR)))
            raise

    def _decide(
        self, scope: Scope, method: str, *, websocket: bool = False
    ) -> tuple[CorsPolicy, CorsDecision]:
        single = self._single
        url = _ROOT if single is not None else _target(scope)
        request = Request(
            method=method, target="", url=url, headers=combine_headers(scope["headers"])
        )
        policy = single if single is not None else self.router.policy_for(url)
        decision = policy.decide(request)
        # A WebSocket logs its refusal only: the credential notes speak of a CORS check the
        # browser never makes on a socket.
        noted = decision.reason and (not websocket or decision.kind is CorsKind.SIMPLE_DENIED)
        if noted and log.isEnabledFor(logging.INFO):
            # The engine's reason text, as `minicors serve` writes it in its access log; the
            # method and path are escaped as there (a CR/LF must never forge a log line).
            path = scope.get("path", "")
            log.info("%s %s %s", escape(method), escape(path), decision.reason)
        return policy, decision

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        _, decision = self._decide(scope, "GET", websocket=True)
        if decision.kind is not CorsKind.SIMPLE_DENIED:
            await self.app(scope, receive, send)  # allowed, same-origin, or no Origin at all
            return
        # Cross-site WebSocket hijacking: the browser sends the page's cookies with the
        # handshake whatever the page's origin, and applies no CORS check to the socket.
        body = f"WebSocket handshake refused: {decision.reason}\n".encode()
        message = await receive()
        if message["type"] != "websocket.connect":
            return  # the client left before the handshake finished
        if _WS_EXTENSION in (scope.get("extensions") or {}):
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"%d" % len(body)),
            ]
            await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION})


def _differs(value: Any, default: Any) -> bool:
    if isinstance(default, tuple) and not isinstance(value, str):
        return tuple(value) != default
    return bool(value != default)


def _target(scope: Scope) -> Target:
    """The request-target as the server would have received it (for per-route policies)."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope.get("path", "/")
    query = scope.get("query_string", b"")
    if query:
        path = f"{path}?{query.decode('latin-1')}"
    try:
        return target_of(path)
    except ProtocolError:
        # Not a target the server would have accepted (it answers 400): the default policy.
        return _ROOT


def _annotated(policy: CorsPolicy, decision: CorsDecision, message: Message) -> Message:
    """The app's `http.response.start` with the decision's headers, as `minicors serve`
    annotates a response: the app's own `access-control-*` replaced, its Vary merged."""
    headers = message.get("headers") or ()
    for name, _ in headers:  # a plain loop: this runs on every response
        lower = name.lower()
        if lower == b"vary" or lower[:15] == b"access-control-":
            break
    else:
        # Nothing to merge or replace: the decision's headers and Vary go after the app's (the
        # engine's own fast path), without building two Response values per request.
        out = dict(message)
        vary = decision.vary
        out["headers"] = [*headers, *decision.headers, *(((b"vary", vary),) if vary else ())]
        return out
    pairs = tuple((bytes(n).lower(), bytes(v)) for n, v in headers)
    response = policy.annotate(decision, Response(status=message["status"], headers=pairs))
    out = dict(message)
    out["headers"] = list(response.headers)
    return out


async def _send_whole(send: Send, response: Response) -> None:
    """A complete answer of our own (a preflight's, or the 500) with its length."""
    body = response.body
    if not isinstance(body, bytes):  # the engine's answers are always bytes
        raise TypeError("the middleware sends only bytes bodies")
    headers = list(response.headers)
    if response.header(b"content-length") is None:
        headers.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
