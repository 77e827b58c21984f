"""The Caddyfile of a policy: CEL `expression` matchers decide, one ordered `route` answers.

A `route` keeps the directives in the order written (Caddy would otherwise sort them), so an
allowed preflight is answered first, then any other preflight is refused, then the request goes
to the upstream with the CORS headers set.  The expressions use the plan's RE2 regexes through
CEL's `matches` on raw strings (`r"..."`: no escape processing), over placeholders that read
an absent header as "" (as nginx does).
"""

from __future__ import annotations

from .plan import (
    DEFAULT_PORT,
    IPV4_ORIGIN,
    IPV6_ORIGINS,
    NAME_ORIGIN,
    NUMERIC_HOST,
    TOO_LONG,
    Plan,
)

_H = "{http.request.header.%s}"
ORIGIN = _H % "Origin"
ACRM = _H % "Access-Control-Request-Method"
ACRH = _H % "Access-Control-Request-Headers"
ACRPN = _H % "Access-Control-Request-Private-Network"
HIDDEN = "Access-Control-*"  # the upstream's own CORS headers, all of them


def m(placeholder: str, regex: str) -> str:
    """CEL: `placeholder` matches `regex` (anchored by the plan)."""
    return f'{placeholder}.matches(r"{regex}")'


def value(text: str) -> str:
    """A constant header value, double-quoted: a list of tokens, so no `"` and no `{...}`
    placeholder (RFC 9110 §5.6.2: tchar has neither)."""
    return f'"{text}"'


def origin_ok(plan: Plan) -> str:
    """CEL: the Origin is allowed, checked as `OriginMatcher.explain` does."""
    if plan.constant:
        return "true"
    allowed = [m(ORIGIN, rule) for rule in plan.rules]
    if plan.regex is not None:
        # The regex may match anything: it counts only for a request origin.
        names = " || ".join(m(ORIGIN, r) for r in (NAME_ORIGIN, *IPV6_ORIGINS))
        grammar = f"({m(ORIGIN, IPV4_ORIGIN)} || (!{m(ORIGIN, NUMERIC_HOST)} && ({names})))"
        allowed.append(f"({m(ORIGIN, plan.regex)} && {grammar})")
    null = [f'{ORIGIN} == "null"'] if plan.allow_null else []
    if allowed:
        origin = f"!{m(ORIGIN, TOO_LONG)} && !{m(ORIGIN, DEFAULT_PORT)}"
        null.append(f"({origin} && ({' || '.join(allowed)}))")
    return "(" + (" || ".join(null) or "false") + ")"


def _matcher(name: str, cel: str) -> str:
    # No backtick inside: the regexes spell it \x60, and the placeholders have none.
    return f"\t\t@{name} expression `{cel}`"


def caddyfile(plan: Plan, *, upstream: str, listen: str, header: str) -> str:
    """The whole Caddyfile; `header` is the comment block that opens it."""
    host, _, port = listen.rpartition(":")  # any Host header: the site is its port
    host = host.strip("[]")
    preflight = f'{{http.request.method}} == "OPTIONS" && {ORIGIN} != "" && {ACRM} != ""'
    ok = origin_ok(plan)
    allowed_pf = f"{preflight} && {ok} && {m(ACRM, plan.method_re)} && {m(ACRH, plan.headers_re)}"
    acao = '"*"' if plan.constant else ORIGIN
    pf_headers = [f"\t\t\tAccess-Control-Allow-Origin {acao}"]
    if plan.any_method:
        pf_headers.append(f"\t\t\tAccess-Control-Allow-Methods {ACRM}")
    elif plan.methods:
        pf_headers.append(f"\t\t\tAccess-Control-Allow-Methods {value(plan.methods)}")
    pf_headers.append(f'\t\t\tAccess-Control-Max-Age "{plan.max_age}"')
    if plan.credentials:
        pf_headers.append('\t\t\tAccess-Control-Allow-Credentials "true"')
    pf_headers.append(f'\t\t\tVary "{plan.vary_preflight}"')
    lines = [
        header,
        "{",
        "\tadmin off",
        "\tauto_https off",
        "}",
        "",
        f"http://:{port} {{",
        *([f"\tbind {host}"] if host else []),
        "\troute {",
        "\t\t# An allowed preflight: answered here with 204 (as minicors answers it).",
        _matcher("minicors_preflight_ok", allowed_pf),
        "\t\theader @minicors_preflight_ok {",
        *pf_headers,
        "\t\t}",
        "\t\t# Access-Control-Allow-Headers: the requested names as sent, none when empty.",
        _matcher("minicors_acah", f"{allowed_pf} && !{m(ACRH, plan.no_names_re)}"),
        f"\t\theader @minicors_acah Access-Control-Allow-Headers {ACRH}",
    ]
    for i, (regex, name) in enumerate(plan.single_names):
        lines += [
            _matcher(f"minicors_acah_{i}", f"{allowed_pf} && {m(ACRH, regex)}"),
            f'\t\theader @minicors_acah_{i} Access-Control-Allow-Headers "{name}"',
        ]
    if plan.private_network:
        lines += [
            _matcher("minicors_pna", f'{allowed_pf} && {ACRPN} == "true"'),
            '\t\theader @minicors_pna Access-Control-Allow-Private-Network "true"',
        ]
    lines += [
        "\t\trespond @minicors_preflight_ok 204",
        "\t\t# Any other preflight is refused: 403 without Access-Control-Allow-* headers.",
        _matcher("minicors_preflight", preflight),
        f'\t\theader @minicors_preflight Vary "{plan.vary_preflight}"',
        "\t\trespond @minicors_preflight \"CORS preflight refused by this server's CORS "
        'policy (exported by minicors)." 403',
    ]
    simple = [f"\t\t\tAccess-Control-Allow-Origin {acao}"]
    if plan.expose:
        simple.append(f"\t\t\tAccess-Control-Expose-Headers {value(plan.expose)}")
    if plan.credentials:
        simple.append('\t\t\tAccess-Control-Allow-Credentials "true"')
    lines += ["\t\t# Everything else goes to the upstream, with the CORS headers set here."]
    if plan.constant:
        lines += ["\t\theader {", *simple, "\t\t}"]
    else:
        lines += [
            _matcher("minicors_allowed", ok),
            "\t\theader @minicors_allowed {",
            *simple,
            "\t\t}",
            f'\t\theader +Vary "{plan.vary_simple}"',
        ]
    lines += [
        f"\t\treverse_proxy {upstream} {{",
        "\t\t\t# The upstream's own CORS headers are dropped: two values fail the browser's",
        "\t\t\t# CORS check (Fetch §'CORS check').",
        f"\t\t\theader_down -{HIDDEN}",
        "\t\t}",
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"
