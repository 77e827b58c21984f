"""A CORS decision as a value, and how it is applied to a response."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..messages import HeaderList, Response
from .headers import merge_vary


class CorsKind(StrEnum):
    NOT_CORS = "not-cors"  # no Origin (or a same-origin request): nothing to allow
    SIMPLE_ALLOWED = "simple-allowed"
    SIMPLE_DENIED = "simple-denied"
    PREFLIGHT_ALLOWED = "preflight-allowed"
    PREFLIGHT_DENIED = "preflight-denied"


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsDecision:
    """What the policy says about one request.

    `headers` are the CORS headers for the response (not Vary); `vary` the tokens to merge into
    its Vary; `refused` names the failed check ("origin", "method", "header") and `reason` says
    why, escaped for a log line.  A preflight decision carries its complete `response`.
    """

    kind: CorsKind
    headers: HeaderList = ()
    vary: bytes = b""
    reason: str = ""
    refused: str = ""
    response: Response | None = None

    @property
    def is_preflight(self) -> bool:
        return self.kind in (CorsKind.PREFLIGHT_ALLOWED, CorsKind.PREFLIGHT_DENIED)


def with_cors_headers(decision: CorsDecision, response: Response) -> Response:
    """`response` plus the decision's CORS headers, with one merged Vary; any
    `access-control-*` header a handler set is replaced (two ACAO values make the browser's
    CORS check fail: Fetch §"CORS check")."""
    extra, vary = decision.headers, decision.vary
    headers = response.headers
    for name, _ in headers:  # a plain loop: this runs on every response
        if name == b"vary" or name[:15] == b"access-control-":
            break
    else:
        return Response(
            status=response.status,
            headers=headers + extra + (((b"vary", vary),) if vary else ()),
            body=response.body,
            log_note=response.log_note,
        )
    # Slow path: merge into the handler's Vary (one header, no repeated token) and drop
    # its CORS headers.
    vary = merge_vary([v for n, v in headers if n == b"vary"], vary)
    headers = tuple(
        (n, v) for n, v in headers if n != b"vary" and not n.startswith(b"access-control-")
    )
    headers = headers + extra + (((b"vary", vary),) if vary else ())
    return Response(
        status=response.status, headers=headers, body=response.body, log_note=response.log_note
    )
