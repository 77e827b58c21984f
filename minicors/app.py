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

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from .config import Config
from .cors import CorsDecision, CorsPolicy
from .errors import HttpError
from .messages import INTERNAL_ERROR, Request, Response, error_response
from .static import StaticFiles

if TYPE_CHECKING:
    from .jsonapi import JsonApi

log = logging.getLogger("minicors.app")

_CRASH_NOTE = "error: see traceback"


class App:
    """Routes requests to the JSON API (under its prefix) or to static files, with CORS."""

    def __init__(self, config: Config) -> None:
        self.router = config.router
        self.static = StaticFiles(config.root, config.static)
        self.api: JsonApi | None = None
        if config.api is not None:
            from .jsonapi import JsonApi  # imported here: only loaded when an API is served

            self.api = JsonApi(config.api, limits=config.limits)

    async def run_background(self) -> None:
        """Long-running duties (the API file watcher); the server runs this in its nursery."""
        if self.api is not None:
            await self.api.watch()

    def __call__(self, request: Request) -> Response | Awaitable[Response]:
        policy = self.router.policy_for(request.url)
        decision = policy.decide(request)
        if decision.is_preflight:
            return _with_note(policy.preflight_response(decision), decision)
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


def _with_note(response: Response, decision: CorsDecision) -> Response:
    if not decision.reason or response.log_note == decision.reason:
        return response
    note = f"{response.log_note} {decision.reason}".strip()
    return Response(
        status=response.status, headers=response.headers, body=response.body, log_note=note
    )
