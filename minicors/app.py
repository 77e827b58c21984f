"""The order of things for one request: CORS first, then the route, then CORS again.

A preflight is answered by the CORS policy alone, before any route runs (a refused preflight
must never reach an API handler).  Every other response (200, 304, 404, 500 alike) goes back
through the policy so it carries the right `Access-Control-*` and `Vary` headers.  The policy,
the route and the handler all read the same parsed target (`Request.url`).

Preflights and static files are answered without waiting for anything, so `App` returns their
`Response` directly; only the JSON API (which may wait for a durable write) returns an
awaitable.  The server awaits only what needs it.  This module is pure apart from what the
handlers do.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .config import Config
from .cors import CorsDecision, CorsKind, CorsPolicy
from .errors import HttpError, PeerGone
from .messages import INTERNAL_ERROR, LiveBody, Request, Response, error_response, text_response
from .static import StaticFiles

if TYPE_CHECKING:
    from .jsonapi import JsonApi
    from .proxy import ProxyRoute
    from .proxyclient import Proxy
    from .reload import ReloadHub

log = logging.getLogger("minicors.app")

_CRASH_NOTE = "error: see traceback"


class App:
    """Routes requests to an upstream (under a `--proxy` prefix), the JSON API (under its
    prefix) or static files, with CORS; with `--reload`, also to the reload script and its
    event stream under /_minicors/."""

    def __init__(self, config: Config) -> None:
        self.router = config.router
        self.reload: ReloadHub | None = None
        inject_html = None
        if config.reload:
            from .reload import ReloadHub, inject  # only loaded with --reload

            self.reload = ReloadHub()
            inject_html = inject
        self.static = StaticFiles(config.root, config.static, inject_html=inject_html)
        self.api: JsonApi | None = None
        if config.api is not None:
            from .jsonapi import JsonApi  # imported here: only loaded when an API is served

            self.api = JsonApi(config.api, limits=config.limits)
        self.proxy: Proxy | None = None
        # Which request bodies the server streams instead of buffering (the proxied ones).
        self.streams_body: Callable[[Request], bool] | None = None
        if config.proxy is not None:
            from .proxyclient import Proxy  # httpcore is loaded only when something is proxied

            scheme = "https" if config.tls else "http"
            self.proxy = Proxy(
                config.proxy, scheme=scheme, max_body_bytes=config.limits.max_body_bytes
            )
            self.streams_body = self.proxy.streams_body

    def background(self) -> list[Callable[[], Awaitable[None]]]:
        """Long-running duties (the API file's poll, the --reload watcher), each an async
        function the server runs in its nursery for as long as it serves."""
        jobs: list[Callable[[], Awaitable[None]]] = []
        api = self.api
        if api is not None:
            jobs.append(api.watch)
        if self.proxy is not None:
            jobs.append(self.proxy.hold)  # closes the upstream connections when serving ends
        if self.reload is not None:
            from .reload import watch

            files = (api.path,) if api is not None else ()

            def own_write(path: str) -> bool:
                return api is not None and path == api.path and api.holds_current_file()

            jobs.append(functools.partial(watch, self.static.root, files, self.reload, own_write))
        return jobs

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        policy = self.router.policy_for(request.url)
        decision = policy.decide(request)
        if decision.is_preflight:
            return _with_note(policy.preflight_response(decision), decision)
        if self.reload is not None and request.url.segments[:1] == ("_minicors",):
            reserved = reload_answer(request, self.reload)
            return _with_note(policy.annotate(decision, reserved), decision)
        # Proxied prefixes come before the API and static files.
        proxy = self.proxy
        if proxy is not None:
            route = proxy.options.match(request.url)
            if route is not None:
                return self._proxied(proxy, route, request, policy, decision)
        # A plain OPTIONS (not a preflight) asks what is allowed (RFC 9110 §9.3.7): both
        # handlers answer it with 204 and their Allow.
        api = self.api
        if api is not None and api.owns(request.url):
            return self._api(api, request, policy, decision)
        try:
            response = self.static.handle(request)
        except HttpError as exc:
            response = error_response(exc)
        except Exception:
            log.exception("error answering %s %s", request.method, request.target)
            response = error_response(INTERNAL_ERROR, log_note=_CRASH_NOTE)
        return _with_note(policy.annotate(decision, response), decision)

    async def _api(
        self, api: JsonApi, request: Request, policy: CorsPolicy, decision: CorsDecision
    ) -> Response:
        try:
            response = await api.handle(request)
        except Exception:
            log.exception("error answering %s %s", request.method, request.target)
            response = error_response(INTERNAL_ERROR, as_json=True, log_note=_CRASH_NOTE)
        return _with_note(policy.annotate(decision, response), decision)

    async def _proxied(
        self,
        proxy: Proxy,
        route: ProxyRoute,
        request: Request,
        policy: CorsPolicy,
        decision: CorsDecision,
    ) -> Response:
        from .proxy import is_websocket, without_credentials

        if decision.kind is CorsKind.SIMPLE_DENIED and is_websocket(request):
            # Browsers apply no CORS to WebSockets (RFC 6455 §10.2: the server checks Origin),
            # so a page the policy refuses is turned away here, before the upstream hears of it.
            response = text_response(403, "minicors: this origin may not open a WebSocket here\n")
        else:
            if decision.kind is CorsKind.SIMPLE_ALLOWED and is_websocket(request):
                # Allowed without credentials: the handshake loses the user's cookies too.
                request = without_credentials(request, decision.headers)
            try:
                response = await proxy.forward(request, route)
            except PeerGone:
                raise
            except Exception:
                log.exception("error proxying %s %s", request.method, request.target)
                response = error_response(INTERNAL_ERROR, log_note=_CRASH_NOTE)
        return _with_note(policy.annotate(decision, response), decision)


_READS = (b"allow", b"GET, HEAD, OPTIONS")


def reload_answer(request: Request, hub: ReloadHub) -> Response:
    """The reserved paths of `--reload`: the script, and the event stream it listens on."""
    from .reload import EVENTS_PATH, SCRIPT, SCRIPT_PATH

    path = request.url.canonical
    if path not in (SCRIPT_PATH, EVENTS_PATH):
        return text_response(404, "not found\n")
    if request.method == "OPTIONS":
        return Response(status=204, headers=(_READS,))
    if request.method not in ("GET", "HEAD"):
        return text_response(405, "method not allowed\n", headers=(_READS,))
    if path == SCRIPT_PATH:
        return Response(status=200, headers=_SCRIPT_HEADERS, body=SCRIPT)
    last = request.header(b"last-event-id")
    return Response(status=200, headers=_EVENT_HEADERS, body=LiveBody(pieces=hub.stream(last)))


_SCRIPT_HEADERS = (
    (b"content-type", b"text/javascript; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
)
# Server-sent events (WHATWG HTML §9.2): never cached, never buffered by a proxy in between.
_EVENT_HEADERS = (
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


def _with_note(response: Response, decision: CorsDecision) -> Response:
    if not decision.reason or response.log_note == decision.reason:
        return response
    note = f"{response.log_note} {decision.reason}".strip()
    return Response(
        status=response.status, headers=response.headers, body=response.body, log_note=note
    )
