"""A `CorsPolicy` as the few regular expressions and constant values a proxy needs.

Both targets (nginx, Caddy) are written from this plan, so they decide with the same
expressions.  Each expression is anchored at both ends and mirrors one step of the engine
(`OriginMatcher.explain`, `CorsPolicy._preflight`): the origin grammar of
`parse_request_origin`, the allowed origins, the method and header checks.  The plan says only
what the engine says; where a target cannot say it, the target's writer refuses.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from ..headers import is_token
from ..origins import (
    DEFAULT_PORTS,
    MAX_ORIGIN_CHARS,
    OriginRule,
    parse_request_origin,
    zero_run,
)
from ..policy import SAFELISTED_METHODS, CorsPolicy
from .regex import END, Flavour, char, full, translate

# RFC 9110 §5.6.2 tchar, as one character class.
TCHARS = "".join(c for c in map(chr, range(33, 127)) if is_token(c))
TOKEN_CLASS = (
    "["
    + "".join(char(ord(c), "token", in_class=True) for c in TCHARS if not c.isalnum())
    + "0-9A-Za-z]"
)
OWS = r"[\x20\x09]*"  # RFC 9110 §5.6.3

# The origin grammar of `parse_request_origin` (Fetch §"`Origin` header"), piece by piece.
SCHEME = r"[a-z][a-z0-9+.\x2d]*"
PORT = (  # 0-65535 without leading zeros
    r"\x3a(?:0|[1-9][0-9]{0,3}|[1-5][0-9]{4,4}|6[0-4][0-9]{3,3}|65[0-4][0-9]{2,2}"
    r"|655[0-2][0-9]|6553[0-5])"
)
LABEL = r"[a-z0-9](?:[a-z0-9\x2d]*[a-z0-9])?"
OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"{OCTET}(?:\x2e{OCTET}){{3,3}}"
# URL Standard §"IPv4 parser": a host whose last label is a number is an IPv4 address.
NUMERIC_LAST = r"(?:[a-z0-9.\x2d]*\x2e)?(?:[0-9]+|0x[0-9a-f]*)\x2e?"


def _ipv6_forms() -> list[str]:
    """Every canonical IPv6 text (URL Standard §"IPv6 serializer", as `_ipv6_text` writes it),
    one alternative per pattern of zero pieces: 256 patterns, so the rule is exact."""
    nz, z = "[1-9a-f][0-9a-f]{0,3}", "0"
    forms: dict[str, None] = {}
    for mask in range(256):
        zero = [bool(mask >> i & 1) for i in range(8)]
        best_start, best_len = zero_run(zero)
        pieces = [z if zero[k] else nz for k in range(8)]
        if best_start < 0:
            form = r"\x3a".join(pieces)
        else:
            left = r"\x3a".join(pieces[:best_start])
            right = r"\x3a".join(pieces[best_start + best_len :])
            form = rf"{left}\x3a\x3a{right}"
        forms[form] = None
    return list(forms)


IPV6_CHUNK = 12  # forms per expression: an nginx token stops at 4096 bytes
_FORMS = _ipv6_forms()
# Not origins, whatever else they look like (checked first).
TOO_LONG = full(r".{1000,1000}" + f".{{{MAX_ORIGIN_CHARS + 1 - 1000},}}")
DEFAULT_PORT = full(
    "|".join(
        f"{scheme}\\x3a//[^/]*\\x3a{port}"
        for scheme, port in sorted(DEFAULT_PORTS.items())  # URL Standard §"default port"
    )
)
NUMERIC_HOST = full(rf"{SCHEME}\x3a//{NUMERIC_LAST}(?:\x3a[0-9]+)?")
# Origins, if neither of the above.
IPV4_ORIGIN = full(rf"{SCHEME}\x3a//{IPV4}(?:{PORT})?")
NAME_ORIGIN = full(rf"{SCHEME}\x3a//(?:{LABEL}\x2e)*{LABEL}\x2e?(?:{PORT})?")
IPV6_ORIGINS = tuple(
    full(rf"{SCHEME}\x3a//\x5b(?:{'|'.join(_FORMS[i : i + IPV6_CHUNK])})\x5d(?:{PORT})?")
    for i in range(0, len(_FORMS), IPV6_CHUNK)
)
# A request origin is one when it is neither TOO_LONG, DEFAULT_PORT nor NUMERIC_HOST (unless
# IPV4_ORIGIN), and is IPV4_ORIGIN, NAME_ORIGIN or one of IPV6_ORIGINS.


def not_word(word: str) -> str:
    """A token that is not `word` (ASCII, compared case-insensitively), without lookahead
    (RE2 has none): shorter, longer, or differing at some position."""
    n = len(word)
    alts = [f"{TOKEN_CLASS}{{1,{n - 1}}}", f"{TOKEN_CLASS}{{{n + 1},}}"]
    for i, c in enumerate(word):
        others = "".join(
            char(ord(t), "token", in_class=True)
            for t in TCHARS
            if t.lower() != c.lower() and not t.isalnum()
        ) + "".join(t for t in string.ascii_letters + string.digits if t.lower() != c.lower())
        tail = f"{TOKEN_CLASS}{{{n - 1 - i},{n - 1 - i}}}" if i < n - 1 else ""
        alts.append(f"(?i:{''.join(word[:i])})[{others}]{tail}")
    return "(?:" + "|".join(alts) + ")"


def _rule(rule: OriginRule) -> str | None:
    """`rule` as an expression that matches only request origins (but for TOO_LONG and
    DEFAULT_PORT), or None for an entry no browser can send (it never matches)."""
    what = f"allowed origin {rule.source!r}"
    if rule.is_exact:
        if isinstance(parse_request_origin(rule.text), str):
            return None
        return full("".join(char(ord(c), what) for c in rule.text))
    host = "".join(char(ord(c), what) for c in rule.host)
    if rule.subdomains:  # one or more whole labels (OriginRule.regex)
        host = rf"(?:{LABEL}\x2e)+{host}"
    port = {"": "", "*": f"(?:{PORT})?"}.get(rule.port, f"\\x3a{rule.port}")
    scheme = "".join(char(ord(c), what) for c in f"{rule.scheme}://")
    return full(f"{scheme}{host}{port}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a proxy decides per request; every `*_re` is anchored (`regex.full`)."""

    constant: bool  # `*` without credentials: ACAO `*` on every answer, no Vary: Origin
    allow_null: bool
    rules: tuple[str, ...]  # configured origins and patterns: origins unless TOO_LONG/DEFAULT_PORT
    regex: str | None  # allow_origin_regex: also needs the whole origin grammar
    method_re: str  # an Access-Control-Request-Method the policy allows
    headers_re: str  # an Access-Control-Request-Headers the policy allows (empty included)
    no_names_re: str  # a header list with no name in it: no Access-Control-Allow-Headers
    single_names: tuple[tuple[str, str], ...]  # (one listed name in any case, its lower case)
    any_method: bool  # ACAM echoes the request's method
    methods: str  # ACAM otherwise ("" sends none)
    expose: str
    credentials: bool
    max_age: int
    private_network: bool
    vary_simple: str
    vary_preflight: str


def make_plan(policy: CorsPolicy, flavour: Flavour) -> Plan:
    """The plan of `policy` in `flavour`'s regex syntax, or ConfigError for what it lacks."""
    matcher = policy.matcher
    rules = tuple(r for r in (_rule(rule) for rule in matcher.rules) if r is not None)
    regex = policy.settings.allow_origin_regex
    if regex is not None:
        regex = full(translate(regex, flavour, f"allowed origin regex {regex!r}"))
    if policy.any_method:
        method = f"{TOKEN_CLASS}+"
    else:
        listed = sorted(set(policy.methods) | SAFELISTED_METHODS)
        # Fetch §"CORS-preflight fetch": methods compare byte for byte (case-sensitive).
        method = "|".join("".join(char(ord(c), "method") for c in m) for m in listed)
    single: list[tuple[str, str]] = []
    if policy.headers is None:
        name = f"{TOKEN_CLASS}+"
    else:
        names = sorted(policy.headers - {"*"})
        spelt = ["".join(char(ord(c), "header") for c in n) for n in names]
        single = [
            (full(f"[\\x20\\x09,]*(?i:{s})[\\x20\\x09,]*"), n)
            for s, n in zip(spelt, names, strict=True)
        ]
        if policy.any_header and "authorization" not in policy.headers:
            # Fetch §"CORS non-wildcard request-header name": `*` never covers Authorization.
            spelt.append(
                rf"(?!authorization(?!{TOKEN_CLASS})){TOKEN_CLASS}+"
                if flavour.lookaround
                else not_word("authorization")
            )
        elif policy.any_header:
            spelt.append(f"{TOKEN_CLASS}+")
        name = "(?i:" + "|".join(spelt) + ")" if spelt else "(?!)"
        if not spelt and flavour.max_repeat is not None:
            name = r"[^\x00-\x{10ffff}]"  # RE2: a class nothing is in
    element = f"{OWS}(?:{name})?{OWS}"
    vary = "Access-Control-Request-Method, Access-Control-Request-Headers"
    return Plan(
        constant=policy.constant,
        allow_null=matcher.allow_null,
        rules=rules,
        regex=regex,
        method_re=full(method),
        headers_re=full(f"{element}(?:,{element})*"),
        no_names_re=full(r"[\x20\x09,]*"),
        single_names=tuple(single),
        any_method=policy.any_method,
        methods=", ".join(policy.methods),
        expose=", ".join(policy.expose),
        credentials=policy.credentials,
        max_age=policy.settings.max_age_s,
        private_network=policy.private_network,
        vary_simple="" if policy.constant else "Origin",
        vary_preflight=vary if policy.constant else f"Origin, {vary}",
    )


__all__ = ["END", "Plan", "make_plan"]
