"""The nginx configuration of a policy: `map`s decide, one `location` answers or proxies.

nginx (core modules only, as in Debian's nginx-light) has no string functions, so every
decision is a `map` whose regexes are the plan's; a map tries its regexes in order and the
first match wins, which is how "not an origin at all" is checked before "allowed".  Request
values are matched by regexes only, never by a map's plain strings, which nginx compares
case-insensitively (an origin and a method compare byte for byte); nginx tries no regex on an
empty value, so "" has its own entry where it matters.  Headers are added with `always`, so
the upstream's 4xx/5xx and nginx's own 502 carry them too, and the upstream's own CORS headers
are hidden.
"""

from __future__ import annotations

from ...errors import ConfigError
from .plan import (
    DEFAULT_PORT,
    IPV4_ORIGIN,
    IPV6_ORIGINS,
    NAME_ORIGIN,
    NUMERIC_HOST,
    TOO_LONG,
    Plan,
)
from .regex import full

# The CORS response headers an upstream might set (Fetch §"HTTP responses", PNA's
# Access-Control-Allow-Private-Network): hidden, so nginx's are the only ones.
HIDDEN = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Private-Network",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
)
REFUSED_BODY = "CORS preflight refused by this server's CORS policy (exported by minicors).\n"


def q(text: str) -> str:
    """An nginx double-quoted string: `\\` and `"` escaped (nginx turns `\\t`, `\\n`, `\\r`
    into control characters, so no backslash may reach it unescaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value(text: str, what: str) -> str:
    """A constant header value; nginx reads `$name` in it as a variable, and has no escape."""
    if "$" in text:
        raise ConfigError(
            f"{what} {text!r} has a '$', which nginx reads as a variable in a header value: "
            "nginx cannot send it; remove it to export to nginx"
        )
    return q(text)


MAX_TOKEN_BYTES = 4000  # nginx reads a configuration token into a 4096-byte buffer


def _map(source: str, target: str, comment: str, entries: list[tuple[str, str]]) -> list[str]:
    for key, _ in entries:
        if len(key) > MAX_TOKEN_BYTES:
            raise ConfigError(
                f"an expression for ${target} is {len(key)} bytes once written for nginx, "
                f"more than its {MAX_TOKEN_BYTES}-byte configuration token: shorten the origin "
                "or regex to export to nginx"
            )
    out = [f"    # {comment}", f"    map {q(source)} ${target} {{"]
    out += [f"        {k} {v};" for k, v in entries]
    return [*out, "    }", ""]


def _origin_map(plan: Plan) -> list[str]:
    entries = [("default", "0")]
    if plan.allow_null:
        entries.append((q("~" + full("null")), "1"))
    if plan.rules or plan.regex is not None:
        # Not an origin (minicors: `parse_request_origin`), whatever the allowed list says.
        entries += [(q("~" + TOO_LONG), "0"), (q("~" + DEFAULT_PORT), "0")]
        entries += [(q("~" + rule), "1") for rule in plan.rules]
    if plan.regex is not None:
        # The regex may match anything: it counts only for a request origin.
        entries += [(q("~" + IPV4_ORIGIN), "$minicors_regex_ok"), (q("~" + NUMERIC_HOST), "0")]
        entries += [(q("~" + r), "$minicors_regex_ok") for r in (NAME_ORIGIN, *IPV6_ORIGINS)]
    lines = _map(
        "$http_origin",
        "minicors_origin_ok",
        "1: the Origin is allowed (checked as minicors does: a serialised origin first)",
        entries,
    )
    if plan.regex is not None:
        lines += _map(
            "$http_origin",
            "minicors_regex_ok",
            "the allowed origin regex, anchored at both ends",
            [("default", "0"), (q("~" + plan.regex), "1")],
        )
    return lines


def nginx_conf(plan: Plan, *, upstream: str, listen: str, header: str) -> str:
    """The whole nginx.conf; `header` is the comment block that opens it."""
    acrh = "$http_access_control_request_headers"
    acao = '"*"' if plan.constant else "$http_origin"
    maps = [] if plan.constant else _origin_map(plan)
    maps += _map(
        "$http_access_control_request_method",
        "minicors_method_ok",
        "1: the requested method is allowed (case-sensitive, Fetch)",
        [("default", "0"), (q("~" + plan.method_re), "1")],
    )
    maps += _map(
        acrh,
        "minicors_headers_ok",
        "1: every requested header is allowed ('*' never covers Authorization, Fetch)",
        # nginx tries no regex on an empty value: none asked for is the empty string's entry.
        [("default", "0"), ('""', "1"), (q("~" + plan.headers_re), "1")],
    )
    single = [(q("~" + r), q(n)) for r, n in plan.single_names]
    maps += _map(
        acrh,
        "minicors_acah",
        "Access-Control-Allow-Headers: the requested names (one listed name in lower case)",
        [("default", acrh), (q("~" + plan.no_names_re), '""'), *single],
    )
    maps += _map(
        "$http_origin",
        "minicors_has_origin",
        "a preflight is OPTIONS with Origin and Access-Control-Request-Method",
        [("default", "1"), ('""', "0")],
    )
    maps += _map(
        "$http_access_control_request_method",
        "minicors_has_acrm",
        "(nginx cannot tell an empty header from a missing one)",
        [("default", "1"), ('""', "0")],
    )
    ok = "1" if plan.constant else "$minicors_origin_ok"
    maps += _map(
        f"$request_method:$minicors_has_origin$minicors_has_acrm:{ok}"
        "$minicors_method_ok$minicors_headers_ok",
        "minicors_answer",
        "204/403: nginx answers the preflight; empty: the upstream answers",
        [("default", '""'), (q("~" + full("OPTIONS:11:111")), "204"),
         (q("~" + full("OPTIONS:11:.*")), "403")],
    )  # fmt: skip
    simple_ok = '"~^:"' if plan.constant else '"~^:1"'
    maps += _map(
        "$minicors_answer:$minicors_origin_ok" if not plan.constant else "$minicors_answer:",
        "minicors_allowed",
        "p: an allowed preflight, s: an allowed request to the upstream",
        [("default", '""'), ('"~^204:"', "p"), (simple_ok, "s")],
    )
    simple_or_pf: list[tuple[str, str]] = [("default", '""'), ("p", acao), ("s", acao)]
    headers = [("Access-Control-Allow-Origin", "minicors_acao", simple_or_pf)]
    if plan.expose:
        expose = value(plan.expose, "exposed header")
        headers.append(("Access-Control-Expose-Headers", "minicors_aceh",
                        [("default", '""'), ("s", expose)]))  # fmt: skip
    if plan.credentials:
        headers.append(("Access-Control-Allow-Credentials", "minicors_acac",
                        [("default", '""'), ("p", '"true"'), ("s", '"true"')]))  # fmt: skip
    methods = "$http_access_control_request_method" if plan.any_method else plan.methods
    if methods:
        shown = methods if plan.any_method else value(methods, "allowed method")
        headers.append(("Access-Control-Allow-Methods", "minicors_acam",
                        [("default", '""'), ("p", shown)]))  # fmt: skip
    headers.append(("Access-Control-Allow-Headers", "minicors_acah_out",
                    [("default", '""'), ("p", "$minicors_acah")]))  # fmt: skip
    headers.append(("Access-Control-Max-Age", "minicors_acma",
                    [("default", '""'), ("p", q(str(plan.max_age)))]))  # fmt: skip
    for name, var, entries in headers:
        maps += _map("$minicors_allowed", var, name, entries)
    if plan.private_network:
        maps += _map(
            "$minicors_allowed:$http_access_control_request_private_network",
            "minicors_acapn",
            "Access-Control-Allow-Private-Network, when the preflight asks for exactly 'true'",
            [("default", '""'), (q("~" + full("p:true")), '"true"')],
        )
        headers.append(("Access-Control-Allow-Private-Network", "minicors_acapn", []))
    maps += _map(
        "$minicors_answer",
        "minicors_vary",
        "Vary: what the answer depends on (Fetch §'CORS protocol and HTTP caches')",
        [("default", q(plan.vary_simple)), ("204", q(plan.vary_preflight)),
         ("403", q(plan.vary_preflight))],
    )  # fmt: skip
    headers.append(("Vary", "minicors_vary", []))
    add = [f"            add_header {name} ${var} always;" for name, var, _ in headers]
    hide = [f"            proxy_hide_header {name};" for name in HIDDEN]
    body = [
        header,
        "events {}",
        "",
        "http {",
        *maps,
        "    server {",
        f"        listen {listen};",
        "        location / {",
        "            # The preflight is answered here, never forwarded (as minicors answers it).",
        "            if ($minicors_answer = 403) {",
        f"                return 403 {q(REFUSED_BODY)};",
        "            }",
        "            if ($minicors_answer = 204) {",
        "                return 204;",
        "            }",
        f"            proxy_pass {upstream};",
        "            proxy_set_header Host $host;",
        "            # The upstream's own CORS headers are dropped: two values fail the browser's",
        "            # CORS check (Fetch §'CORS check'); only the ones below are sent.",
        *hide,
        "            # An empty value sends no header; `always` adds them to 4xx/5xx answers too.",
        *add,
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(body) + "\n"
