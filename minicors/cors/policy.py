"""The CORS policy engine: decide per request, answer preflights, annotate every other response.

Everything that depends only on configuration (origin matcher, header values, Vary) is built in
`CorsPolicy.__init__`; per request, a decision is a dictionary lookup in a bounded memo keyed by
the raw header bytes, and a repeated preflight gets a pre-built `Response`.  Decisions are values
carrying their reason, so the access log and `minicors check` can say why a request was refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..messages import HeaderList, Request, Response, text_response
from .advice import COMMAND_LINE, Advice, Provenance, advice_lines, fix_for
from .credentials import CredentialNotes
from .decision import CorsDecision, CorsKind, with_cors_headers
from .headers import is_token, parse_header_names, show
from .settings import DEFAULT_EXPOSE, DEFAULT_METHODS, CorsSettings, as_list, check_settings

# Fetch §"Methods": CORS-safelisted methods never need to be allowed by a preflight response.
SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
MEMO_ENTRIES = 1024  # memoised decisions per policy; the memo is cleared when full
MEMO_MAX_KEY_BYTES = 1024  # longer (hostile) inputs are decided but not kept in memory
# Annotated copies of shared answers kept (each may hold a small file's bytes: <= 16 MiB).
ANNOTATED_ENTRIES = 256

_VARY_SIMPLE = b"Origin"
_VARY_PREFLIGHT = b"Access-Control-Request-Method, Access-Control-Request-Headers"
_ACAO = b"access-control-allow-origin"


class CorsPolicy:
    """One CORS policy (see README "CORS"); raises ConfigError for an unsafe or invalid setting."""

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
        provenance: Provenance = COMMAND_LINE,
    ) -> None:
        self.provenance = provenance  # where the settings were given (for the fixes it advises)
        self.settings = CorsSettings(
            allow_origins=as_list("allowed origins", allow_origins),
            allow_origin_regex=allow_origin_regex,
            allow_methods=as_list("allowed methods", allow_methods),
            allow_headers=None
            if allow_headers is None
            else as_list("allowed headers", allow_headers),
            expose_headers=as_list("exposed headers", expose_headers),
            allow_credentials=allow_credentials,
            max_age_s=max_age_s,
            allow_private_network=allow_private_network,
        )
        checked = check_settings(self.settings)
        self.matcher = checked.matcher
        self.origins = checked.origins
        self.methods = checked.methods
        self.any_method = "*" in self.methods
        self.headers = checked.headers
        self.any_header = self.headers is not None and "*" in self.headers
        self.credentials = allow_credentials
        self.private_network = allow_private_network
        self.warnings = checked.warnings
        self.expose = expose = checked.expose

        # A `*`-without-credentials policy answers the same whatever the Origin: "constant".
        # Fetch §"CORS protocol and HTTP caches": then always send ACAO `*` and no Vary: Origin.
        self.constant = self.matcher.any_origin
        self._vary_simple = b"" if self.constant else _VARY_SIMPLE
        self._vary_preflight = _VARY_PREFLIGHT if self.constant else b"Origin, " + _VARY_PREFLIGHT
        after_acao: list[tuple[bytes, bytes]] = []
        if expose:
            after_acao.append((b"access-control-expose-headers", ", ".join(expose).encode()))
        if allow_credentials:
            after_acao.append((b"access-control-allow-credentials", b"true"))
        self._simple_tail = tuple(after_acao)
        self._acam = ", ".join(self.methods).encode()
        self._acma = (b"access-control-max-age", str(max_age_s).encode())
        self._acac: HeaderList = (
            ((b"access-control-allow-credentials", b"true"),) if allow_credentials else ()
        )
        self._constant_decision = CorsDecision(
            kind=CorsKind.SIMPLE_ALLOWED, headers=((_ACAO, b"*"), *self._simple_tail)
        )
        self._no_origin = (
            dataclasses.replace(self._constant_decision, kind=CorsKind.NOT_CORS)
            if self.constant
            else CorsDecision(kind=CorsKind.NOT_CORS, vary=_VARY_SIMPLE)
        )
        self._simple_memo: dict[bytes, CorsDecision] = {}
        self._notes = CredentialNotes(star=self.constant)
        self._preflight_memo: dict[tuple[bytes, bytes, bytes | None, bytes | None], CorsDecision]
        self._preflight_memo = {}
        self._annotated: dict[tuple[int, int], tuple[Response, CorsDecision, Response]] = {}

    @classmethod
    def from_settings(
        cls, settings: CorsSettings, provenance: Provenance = COMMAND_LINE
    ) -> CorsPolicy:
        values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
        return cls(**values, provenance=provenance)

    # -- per request -------------------------------------------------------------------------

    def decide(self, request: Request) -> CorsDecision:
        h = request.headers
        origin = h.get(b"origin")
        if origin is not None and request.method == "OPTIONS":
            acrm = h.get(b"access-control-request-method")
            if acrm is not None:  # CONTRACT: preflight = OPTIONS + Origin + ACRM
                key = (
                    origin,
                    acrm,
                    h.get(b"access-control-request-headers"),
                    h.get(b"access-control-request-private-network"),
                )
                decision = self._preflight_memo.get(key)
                if decision is None:
                    if len(self._preflight_memo) >= MEMO_ENTRIES:
                        self._preflight_memo.clear()
                    decision = self._preflight(*key)
                    if len(origin) + len(key[2] or b"") <= MEMO_MAX_KEY_BYTES:
                        self._preflight_memo[key] = decision
                return decision
        if self.constant:
            if origin is None:
                return self._no_origin
            if b"cookie" in h or b"authorization" in h:
                return self._notes.note(self._constant_decision, origin, h)
            return self._constant_decision
        if origin is None:
            return self._no_origin
        decision = self._simple_memo.get(origin)
        if decision is None:
            if len(self._simple_memo) >= MEMO_ENTRIES:
                self._simple_memo.clear()
            decision = self._simple(origin)
            if len(origin) <= MEMO_MAX_KEY_BYTES:
                self._simple_memo[origin] = decision
        if decision.kind is CorsKind.SIMPLE_DENIED:
            host = h.get(b"host")
            if host is not None and origin.partition(b"://")[2] == host.lower():
                # A same-origin request (browsers send Origin on same-origin POSTs): CORS does
                # not apply, so it is not logged as a refusal.  Nothing is allowed either way.
                return self._no_origin
        elif not self.credentials and (b"cookie" in h or b"authorization" in h):
            return self._notes.note(decision, origin, h)
        return decision

    def _simple(self, origin: bytes) -> CorsDecision:
        text = origin.decode("latin-1")
        why = self.matcher.explain(text)
        if why is None:
            return CorsDecision(
                kind=CorsKind.SIMPLE_ALLOWED,
                headers=((_ACAO, origin), *self._simple_tail),
                vary=self._vary_simple,
            )
        detail = f"origin {show(text)} not allowed" + (f" ({why})" if why else "")
        return CorsDecision(
            kind=CorsKind.SIMPLE_DENIED,
            vary=self._vary_simple,
            reason=f"cors: {detail}",
            refused="origin",
        )

    def _preflight(
        self, origin: bytes, acrm: bytes, acrh: bytes | None, acrpn: bytes | None
    ) -> CorsDecision:
        text = origin.decode("latin-1")
        method = acrm.decode("latin-1")
        why = None if self.constant else self.matcher.explain(text)
        if why is not None:
            fix = _fix_lines(self, "origin", origin=text, method=method)
            return self._refuse("origin", f"origin {show(text)} not allowed", why, fix)
        if not is_token(method):
            # go-safeweb #372: `GET, DELETE` must never be read as a method list.
            return self._refuse(
                "method",
                f"method {show(method)} not allowed",
                "Access-Control-Request-Method must be a single method token",
            )
        if not self.allows_method(method):
            why = f"allowed: {', '.join(self.methods) or 'only GET, HEAD, POST'}"
            if method.upper() in self.methods:
                why += "; methods are case-sensitive"
            fix = _fix_lines(self, "method", origin=text, method=method)
            return self._refuse("method", f"method {show(method)} not allowed", why, fix)
        names, invalid = parse_header_names(acrh.decode("latin-1")) if acrh else ((), ())
        if invalid:
            shown = ", ".join(show(n) for n in invalid)
            return self._refuse("header", f"header {shown} not allowed", "not a valid header name")
        bad = [n for n in names if not self.allows_header(n)]
        if bad:
            why = (
                "'*' never covers Authorization (Fetch): list it"
                if bad == ["authorization"] and self.any_header
                else "not in the allowed headers"
            )
            plural = "s" if len(bad) > 1 else ""
            fix = _fix_lines(self, "header", origin=text, method=method, bad_headers=bad)
            detail = f"header{plural} {', '.join(bad)} not allowed"
            return self._refuse("header", detail, why, fix)
        acao = b"*" if self.constant else origin
        headers: list[tuple[bytes, bytes]] = [(_ACAO, acao)]
        if self.any_method:
            headers.append((b"access-control-allow-methods", acrm))  # echo: valid either way
        elif self._acam:
            headers.append((b"access-control-allow-methods", self._acam))
        if names:
            headers.append((b"access-control-allow-headers", ", ".join(names).encode()))
        headers.append(self._acma)
        headers.extend(self._acac)
        if self.private_network and acrpn == b"true":
            headers.append((b"access-control-allow-private-network", b"true"))
        cors = tuple(headers)
        return CorsDecision(
            kind=CorsKind.PREFLIGHT_ALLOWED,
            headers=cors,
            vary=self._vary_preflight,
            response=Response(
                status=204,
                headers=(*cors, (b"content-length", b"0"), (b"vary", self._vary_preflight)),
                shared=True,
            ),
        )

    def allows_method(self, method: str) -> bool:
        """Fetch §"CORS-preflight fetch": listed (byte-case-sensitive), `*`, or safelisted."""
        return self.any_method or method in SAFELISTED_METHODS or method in self.methods

    def allows_header(self, name: str) -> bool:
        """`name` lower-cased; None (the default) allows whatever the preflight asks for."""
        if self.headers is None or name in self.headers:
            return True
        # Fetch §"CORS non-wildcard request-header name": `*` never covers Authorization.
        return self.any_header and name != "authorization"

    def _refuse(self, refused: str, detail: str, why: str, fix: str = "") -> CorsDecision:
        return refusal(self._vary_preflight, refused, detail, why, fix)

    def preflight_response(self, decision: CorsDecision) -> Response:
        """The complete answer to a preflight: 204 with CORS headers, or 403 without."""
        if decision.response is None:
            raise ValueError("preflight_response() needs a preflight decision")
        return decision.response

    def annotate(self, decision: CorsDecision, response: Response) -> Response:
        """`response` plus the decision's CORS headers, with one merged Vary.

        CORS headers are this policy's alone: any `access-control-*` header a handler set is
        replaced (two ACAO values make the browser's CORS check fail: Fetch §"CORS check").
        The refusal reason stays in `decision.reason`; the caller puts it in the access log.
        """
        extra, vary = decision.headers, decision.vary
        if not (extra or vary):
            return response
        if response.shared:
            # The same cached answer under the same (memoised) decision: annotate it once.
            # Keyed by identity; the entry holds both objects, so their ids stay theirs.
            key = (id(response), id(decision))
            hit = self._annotated.get(key)
            if hit is not None and hit[0] is response and hit[1] is decision:
                return hit[2]
            annotated = dataclasses.replace(with_cors_headers(decision, response), shared=True)
            if len(self._annotated) >= ANNOTATED_ENTRIES:
                self._annotated.clear()
            self._annotated[key] = (response, decision, annotated)
            return annotated
        return with_cors_headers(decision, response)


def advise(
    policy: CorsPolicy, refused: str, *, origin: str, method: str, bad_headers: Sequence[str] = ()
) -> Advice | str:
    """The first fix for a refusal by `policy` (see `advice.fix_for`); "" when no setting
    fixes it."""
    return fix_for(
        refused,
        settings=policy.settings,
        provenance=policy.provenance,
        any_origin=policy.matcher.any_origin,
        methods=policy.methods,
        origin=origin,
        method=method,
        bad_headers=bad_headers,
        any_header=policy.any_header,
    )


def _fix_lines(
    policy: CorsPolicy, refused: str, *, origin: str, method: str, bad_headers: Sequence[str] = ()
) -> str:
    """The fix as the lines a refused preflight's body ends with (as `minicors check` words
    them).  Computed only for a decision not yet memoised."""
    if not (origin + method).isprintable():
        return ""  # nothing a setting could be made of
    return advice_lines(
        advise(policy, refused, origin=origin, method=method, bad_headers=bad_headers)
    )


def refusal(vary: bytes, refused: str, detail: str, why: str, fix: str = "") -> CorsDecision:
    """A 403 without any Access-Control-Allow-* header (Fetch §"HTTP responses" suggests
    exactly that to denote failure), its body ending with the fix; `why` is empty only for an
    origin that is simply not listed, so the log line reads "cors: origin https://evil.test
    not allowed"."""
    reason = f"cors: {detail}" + (f" ({why})" if why else "")
    why = why or "it is not one of the origins this server allows"
    body = f"CORS preflight refused: {detail} ({why}).\n{fix}"
    response = text_response(403, body, headers=((b"vary", vary),), log_note=reason)
    return CorsDecision(
        kind=CorsKind.PREFLIGHT_DENIED,
        vary=vary,
        reason=reason,
        refused=refused,
        response=dataclasses.replace(response, shared=True),
    )
