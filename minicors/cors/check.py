"""`minicors check`: would a browser allow this cross-origin request, and if not, why?

It plays the browser's part from the Fetch standard (`browser`) against the real engine:
decide whether a preflight is needed, run it through the policy, apply the browser's checks to
what minicors would answer, then the same for the actual request.  When refused, it finds the
flag changes that fix it by applying one fix at a time and simulating again, so every
suggestion is verified.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

from ..errors import ConfigError, ProtocolError
from ..messages import Request, Response, parse_target
from .advice import Advice, Change, apply, render
from .browser import (
    FORBIDDEN_METHODS,
    SAFELISTED_METHODS,
    cors_check,
    is_forbidden_header,
    is_safelisted_header,
    normalise_method,
    preflight_check,
    readable_headers,
    unsafe_header_names,
)
from .decision import CorsDecision
from .headers import is_token
from .lna import REFUSED_LINES, assess_query
from .origins import parse_origin_rule, parse_request_origin
from .policy import CorsPolicy, advise
from .routes import CorsRouter

MAX_FIXES = 6
LOOPBACK_TEXT = "loopback on any port (localhost, 127.0.0.1, [::1])"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckQuery:
    origin: str
    method: str = "GET"
    headers: tuple[str, ...] = ()  # "Name: value" or "Name" (then the value is empty)
    credentials: bool = False
    path: str = "/"
    page_address_space: str | None = None  # Local Network Access (lna.py): None = from origin
    target_address_space: str | None = None  # None = from the address minicors listens on
    server_host: str = "127.0.0.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    allowed: bool
    report: str  # multi-line text to print


@dataclass(frozen=True, slots=True, kw_only=True)
class _Fetch:
    """The request as the browser would make it (after its own normalisation)."""

    origin: str
    method: str
    headers: tuple[tuple[str, str], ...]
    unsafe: tuple[str, ...]
    credentials: bool
    target: str
    notes: tuple[str, ...]

    @property
    def needs_preflight(self) -> bool:
        # Fetch §"HTTP fetch": a non-safelisted method or any CORS-unsafe request-header name.
        return self.method not in SAFELISTED_METHODS or bool(self.unsafe)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Exchange:
    request: Request
    response: Response
    decision: CorsDecision


@dataclass(frozen=True, slots=True, kw_only=True)
class _Outcome:
    preflight: _Exchange | None
    actual: _Exchange | None
    failure: tuple[str, str] | None  # the browser's view: (what failed, why)

    @property
    def allowed(self) -> bool:
        return self.failure is None

    @property
    def decision(self) -> CorsDecision:
        exchange = self.actual or self.preflight
        assert exchange is not None  # noqa: S101 - one of the two always ran
        return exchange.decision


def _browser_origin(text: str) -> tuple[str, list[str]]:
    """The Origin a browser would send for `text`, with a note when it had to be normalised."""
    if text == "null" or not isinstance(parse_request_origin(text), str):
        return text, []
    try:
        rule = parse_origin_rule(text.removesuffix("/"))
    except ConfigError:
        rule = None
    if rule is None or not rule.is_exact:
        raise ConfigError(
            f"origin {text!r} is not an origin a page can have; "
            "write scheme://host[:port], e.g. --origin https://app.example.com"
        )
    return rule.text, [f"a browser sends this origin as {rule.text} (not {text!r})"]


def _prepare(query: CheckQuery) -> _Fetch:
    origin, notes = _browser_origin(query.origin.strip())
    if not is_token(query.method):
        raise ConfigError(f"method {query.method!r} is not a method token; e.g. --method PUT")
    method = normalise_method(query.method)
    if method != query.method:
        notes.append(f"fetch() normalises the method {query.method!r} to {method}")
    headers: list[tuple[str, str]] = []
    for item in query.headers:
        name, _, value = item.partition(":")
        name, value = name.strip(), value.strip(" \t")  # Fetch "normalize" a header value
        if not is_token(name):
            raise ConfigError(f"header {item!r} has no valid name; write 'Name: value' or 'Name'")
        if any(c in value for c in "\r\n\x00") or not all(ord(c) <= 0xFF for c in value):
            raise ConfigError(
                f"header {name} has a value with CR, LF, NUL or a character above U+00FF; "
                "fetch() rejects it"
            )
        if is_forbidden_header(name):
            extra = "; use --credentials for cookies" if name.lower() == "cookie" else ""
            notes.append(f"scripts cannot set {name} (a forbidden request-header): ignored{extra}")
            continue
        headers.append((name.lower(), value))
    path = query.path if query.path.startswith("/") else "/" + query.path
    try:
        parse_target(path)
    except ProtocolError as exc:
        raise ConfigError(
            f"--path {path!r}: {exc.message}; give a URL path such as /api/items"
        ) from None
    return _Fetch(
        origin=origin,
        method=method,
        headers=tuple(headers),
        unsafe=tuple(unsafe_header_names(headers)),
        credentials=query.credentials,
        target=path,
        notes=tuple(notes),
    )


def _simulate(policy: CorsPolicy, fetch: _Fetch) -> _Outcome:
    preflight = None
    if fetch.needs_preflight:
        # Fetch §"CORS-preflight fetch": no credentials, Accept */*, ACRM, and ACRH if non-empty.
        lines = [
            ("origin", fetch.origin),
            ("accept", "*/*"),
            ("access-control-request-method", fetch.method),
        ]
        if fetch.unsafe:
            lines.append(("access-control-request-headers", ",".join(fetch.unsafe)))
        request = Request.build("OPTIONS", fetch.target, lines)
        decision = policy.decide(request)
        response = policy.preflight_response(decision)
        preflight = _Exchange(request=request, response=response, decision=decision)
        failure = preflight_check(
            response.status,
            response.headers,
            origin=fetch.origin,
            method=fetch.method,
            unsafe_names=fetch.unsafe,
            credentials=fetch.credentials,
        )
        if failure is not None:
            return _Outcome(preflight=preflight, actual=None, failure=failure)
    request = Request.build(fetch.method, fetch.target, [("origin", fetch.origin), *fetch.headers])
    decision = policy.decide(request)
    response = policy.annotate(decision, Response(status=200))
    actual = _Exchange(request=request, response=response, decision=decision)
    failure = cors_check(response.headers, fetch.origin, fetch.credentials)
    return _Outcome(preflight=preflight, actual=actual, failure=failure)


def _fix(policy: CorsPolicy, fetch: _Fetch, outcome: _Outcome) -> Advice | str:
    """One fix that removes the first failure, or why none can."""
    assert outcome.failure is not None  # noqa: S101 - only called when refused
    what = outcome.decision.refused or outcome.failure[0]
    bad = [n for n in fetch.unsafe if not policy.allows_header(n)] if what == "header" else []
    advice = advise(policy, what, origin=fetch.origin, method=fetch.method, bad_headers=bad)
    return advice or f"cannot: {outcome.failure[1]}"


def _follow(policy: CorsPolicy, fetch: _Fetch, advice: Advice) -> tuple[CorsPolicy, _Fetch]:
    """The policy and the page after `advice` is followed as written."""
    if advice.page_method is not None:
        return policy, dataclasses.replace(fetch, method=advice.page_method)
    settings, provenance = apply(policy.settings, policy.provenance, advice.changes)
    return CorsPolicy.from_settings(settings, provenance), fetch


def _fixes(policy: CorsPolicy, fetch: _Fetch, outcome: _Outcome) -> list[str]:
    """The fixes that make the request pass, each verified by simulating again; a fix with an
    alternative (the page, or the server) is verified both ways."""
    fixes: list[str] = []
    for _ in range(MAX_FIXES):
        if outcome.allowed:
            return fixes
        fix = _fix(policy, fetch, outcome)
        if isinstance(fix, str):
            return [*fixes, f"fix: {fix}"]
        try:
            if fix.alternative is not None:
                other, other_fetch = _follow(policy, fetch, fix.alternative)
                if _simulate(other, other_fetch).allowed:
                    fixes.append(f"fix: {fix.text}")
                    fixes.append(f"  or: {fix.alternative.text}")
                    policy, fetch = _follow(policy, fetch, fix)
                    outcome = _simulate(policy, fetch)
                    continue
            fixes.append(f"fix: {fix.text}")
            policy, fetch = _follow(policy, fetch, fix)
        except ConfigError as exc:
            return [*fixes, f"fix: cannot: {exc}"]
        outcome = _simulate(policy, fetch)
    return fixes if outcome.allowed else [*fixes, "fix: cannot: no flag change found"]


def _exchange_lines(exchange: _Exchange, *, actual: bool) -> list[str]:
    request, response = exchange.request, exchange.response
    lines = [f"  > {request.method} {request.target} HTTP/1.1"]
    lines += [f"  > {n.decode()}: {v.decode('latin-1')}" for n, v in request.raw_headers]
    phrase = HTTPStatus(response.status).phrase
    suffix = "  (plus the route's own headers; the status is the route's)" if actual else ""
    lines.append(f"  < HTTP/1.1 {response.status} {phrase}{suffix}")
    lines += [f"  < {n.decode()}: {v.decode('latin-1')}" for n, v in response.headers]
    if isinstance(response.body, bytes) and response.body:
        body = response.body.decode("utf-8", "replace").rstrip().split("\n")
        lines.append(f"  < (body) {body[0]}")
        lines += [f"  <        {line}" for line in body[1:]]
    return lines


def _why_preflight(fetch: _Fetch) -> str:
    why = []
    if fetch.method not in SAFELISTED_METHODS:
        why.append(f"method {fetch.method} is not CORS-safelisted")
    values = dict(fetch.headers)
    for name in fetch.unsafe:
        if name in ("accept", "accept-language", "content-language", "content-type", "range"):
            if is_safelisted_header(name, values[name]):
                why.append(f"{name} counts: the safelisted values exceed 1024 bytes in total")
            else:
                why.append(f"{name}: {values[name]!r} is not a CORS-safelisted value")
        else:
            why.append(f"{name} is not a CORS-safelisted request header")
    return "; ".join(why)


def explain(router: CorsRouter, query: CheckQuery) -> CheckResult:
    """Simulate a browser's fetch from `query.origin`; bad input raises ConfigError."""
    fetch = _prepare(query)
    route, policy = router.route_for(parse_target(fetch.target))
    creds = "include" if fetch.credentials else "omit"
    what = f"{fetch.method} {fetch.target} from {fetch.origin} (credentials: {creds})"
    # A route built in code (not from a file) has no table to name: name its pattern.
    label = f"route {route}" if route and not policy.provenance.file else policy.provenance.label()
    head = [f"policy: {label}", *(f"  {line}" for line in describe(policy))]
    # Local Network Access is decided before CORS (Chrome >= 142): its lines come first.
    lna = assess_query(
        fetch.origin, query.page_address_space, query.target_address_space, query.server_host
    )
    head += lna.lines
    if fetch.method.upper() in FORBIDDEN_METHODS:
        lines = [f"REFUSED: {what}", *head, f"reason: browsers never send {fetch.method}"]
        lines.append("fix: cannot: fetch() throws for a forbidden method (Fetch §Methods)")
        return CheckResult(allowed=False, report="\n".join(lines) + "\n")
    outcome = _simulate(policy, fetch)
    allowed = outcome.allowed and not lna.blocked
    lines = [f"{'ALLOWED' if allowed else 'REFUSED'}: {what}", *head]
    if outcome.preflight is None:
        lines.append("preflight: not needed (safelisted method and headers)")
    else:
        lines.append(f"preflight: needed ({_why_preflight(fetch)})")
        lines += _exchange_lines(outcome.preflight, actual=False)
        if outcome.actual is None and outcome.failure is not None:
            lines.append(f"  browser: preflight fails: {outcome.failure[1]}")
        else:
            lines.append("  browser: preflight passes")
    if outcome.actual is None:
        lines.append("actual request: not sent (the preflight failed)")
    else:
        lines.append("actual request:")
        lines += _exchange_lines(outcome.actual, actual=True)
        if outcome.failure is not None:
            lines.append(f"  browser: CORS check fails: {outcome.failure[1]}")
        else:
            readable = readable_headers(outcome.actual.response.headers, fetch.credentials)
            lines.append("  browser: CORS check passes; the script can read the body and")
            lines.append(f"           the response headers {', '.join(readable)}")
    if not outcome.allowed:
        assert outcome.failure is not None  # noqa: S101 - refused means a failure
        lines.append(f"reason: {outcome.decision.reason or outcome.failure[1]}")
        lines += _fixes(policy, fetch, outcome)
    if lna.blocked:
        lines += REFUSED_LINES
    lines += [f"note: {note}" for note in fetch.notes]
    return CheckResult(allowed=allowed, report="\n".join(lines) + "\n")


def describe(policy: CorsPolicy) -> list[str]:
    """The policy in a few human lines (for `minicors check` and the start-up summary)."""
    s = policy.settings
    origins = (
        ", ".join(LOOPBACK_TEXT if o.lower() == "loopback" else o for o in policy.origins)
        or "(none listed)"
    )
    if policy.matcher.default_loopback:
        origins += " (default)"
    lines = [f"origins: {origins}"]
    if s.allow_origin_regex is not None:
        lines.append(f"origin regex: {s.allow_origin_regex}")
    lines.append(f"methods: {', '.join(policy.methods) or '(only GET, HEAD, POST)'}")
    if policy.headers is None:
        lines.append("headers: whatever the preflight asks for (echoed)")
    else:
        lines.append(f"headers: {', '.join(sorted(policy.headers)) or '(none)'}")
    lines.append(f"exposed: {', '.join(policy.expose) or '(none)'}")
    lines.append(f"credentials: {'allowed' if policy.credentials else 'not allowed'}")
    lines.append(f"max-age: {s.max_age_s} s")
    return lines


def summary(router: CorsRouter) -> list[str]:
    """The effective policy in two lines (and one per route), printed once at start-up so a
    default that a flag replaced is visible."""
    first, second = _summary(router.default)
    out = [f"cors: {first}", f"cors: {second}"]
    out += [f"cors: route {p.source}: {' | '.join(_summary(pol))}" for p, pol in router.routes]
    return out


def _summary(policy: CorsPolicy) -> tuple[str, str]:
    origins = ", ".join(
        "loopback (localhost, 127.0.0.1, [::1]; any port)" if o.lower() == "loopback" else o
        for o in policy.origins
    )
    if policy.settings.allow_origin_regex is not None:
        origins = ", ".join(filter(None, [origins, f"regex {policy.settings.allow_origin_regex}"]))
    if policy.matcher.default_loopback:
        origins += " (default)"
    methods = ", ".join(policy.methods) or "only GET, HEAD, POST"
    headers = "any requested" if policy.headers is None else ", ".join(sorted(policy.headers))
    credentials = "allowed" if policy.credentials else "no"
    return (
        f"origins {origins or '(none)'} | methods {methods}",
        f"headers {headers or '(none)'} | exposed {', '.join(policy.expose) or '(none)'} | "
        f"credentials {credentials} | max-age {policy.settings.max_age_s} s",
    )


def unexposed_fix(policy: CorsPolicy, wanted: Sequence[str]) -> str:
    """A warning naming the `wanted` response headers that scripts cannot read under
    `policy`, with the change that exposes them; "" when all are readable."""
    exposed = {h.lower() for h in policy.expose}
    if "*" in exposed and not policy.credentials:
        return ""  # Fetch: `*` exposes every header to requests without credentials
    missing = tuple(h for h in wanted if h.lower() not in exposed)
    if not missing:
        return ""
    change = Change(setting="expose_headers", add=missing)
    fix = render(policy.settings, policy.provenance, (change,))
    return (
        f"the API's paging headers {', '.join(missing)} are not exposed, so a page cannot "
        f"read them; {fix}"
    )
