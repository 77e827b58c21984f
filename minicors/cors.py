"""PLACEHOLDER: the CORS policy engine is being written; this file only fixes the interface."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .messages import HeaderList, Request, Response

DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_EXPOSE = ("ETag", "Link", "Location", "X-Total-Count")


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsDecision:
    kind: str  # "not-cors" | "simple-allowed" | "simple-denied" | "preflight-allowed" | ...
    headers: HeaderList = ()
    reason: str = ""

    @property
    def is_preflight(self) -> bool:
        return self.kind.startswith("preflight")


class CorsPolicy:
    def __init__(
        self,
        *,
        allow_origins: Sequence[str] = (),
        allow_origin_regex: str | None = None,
        allow_methods: Sequence[str] = DEFAULT_METHODS,
        allow_headers: Sequence[str] | None = None,
        expose_headers: Sequence[str] = DEFAULT_EXPOSE,
        allow_credentials: bool = False,
        max_age_s: int = 600,
        allow_private_network: bool = False,
    ) -> None:
        self.warnings: tuple[str, ...] = ()

    def decide(self, request: Request) -> CorsDecision:
        return CorsDecision(kind="not-cors")

    def preflight_response(self, decision: CorsDecision) -> Response:
        return Response(status=204)

    def annotate(self, decision: CorsDecision, response: Response) -> Response:
        return response


class CorsRouter:
    def __init__(
        self, default: CorsPolicy, routes: Sequence[tuple[str, CorsPolicy]] = ()
    ) -> None:
        self.default = default
        self.routes = tuple(routes)

    def policy_for(self, path: str) -> CorsPolicy:
        return self.default
