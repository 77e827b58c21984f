"""CORS.md §4b: known bypass vectors against `https://*.example.com` (credentials on), the extras
for an exact origin, and `null`.  Every origin is tried as a simple request and as a preflight."""

from __future__ import annotations

import pytest

from minicors.cors import CorsKind, CorsPolicy
from minicors.messages import Request

WILDCARD = CorsPolicy(allow_origins=["https://*.example.com"], allow_credentials=True)
EXACT = CorsPolicy(allow_origins=["https://app.example.com"], allow_credentials=True)

ALLOWED = [
    "https://a.example.com",
    "https://a-b.example.com",
    "https://xn--bcher-kva.example.com",
    "https://a.b.example.com",  # decided: any subdomain depth >= 1 (CONTRACT)
    "https://0.example.com",
    "https://a--b.example.com",
]

DENIED = [
    "https://example.com",  # the apex needs its own entry
    "http://a.example.com",  # scheme downgrade
    "https://a.example.com:8443",  # non-default port
    "https://a.example.com:443",  # decided: browsers never send the default port, so deny
    "https://a.example.com.evil.com",
    "https://a.example.com.",  # decided: trailing-dot host is another origin
    "https://evilexample.com",
    "https://aexample.com",
    "https://a-example.com",
    "https://example.com.evil.com",
    "https://evil.com/a.example.com",
    "https://evil.com?.example.com",
    "https://evil.com#.example.com",
    "https://evil.com@a.example.com",
    "https://a.example.com@evil.com",
    "https://.example.com",
    "https://-a.example.com",
    "https://a-.example.com",
    "https://a_b.example.com",  # decided: `_` is not in an RFC 1123 host label
    "https://a.example.com`.evil.com",
    "https://a.example.com}.evil.com",
    "https://a.example.com_.evil.com",
    "https://A.EXAMPLE.COM",
    "HTTPS://a.example.com",
    "https://a.example.com/",
    "https://a.example.com ",
    " https://a.example.com",
    "https://a.example.com\t",
    "https://a.example.com, https://evil.com",
    "https://a.example.com\n",
    "https://a.example.com\r\nX-Evil: 1",
    "null",
    "Null",
    "NULL",
    "file://",
    "chrome-extension://abcdef",
    "wss://a.example.com",
    "",
    "https://a.example.com:",
    "https://a.example.com:0443",
    "https://a.example.com:99999",
    "https://a..example.com",
    "https://*.example.com",
    "https://a.example.com%2e",
    "https://xn--bcher-kva.example.com.evil.com",
    "https://a.example.comevil.com",
]

EXACT_DENIED = [
    "https://app.example.com.evil.com",
    "https://app.example.comevil.com",
    "https://evilapp.example.com",
    "https://app.example.co",
    "http://app.example.com",
    "https://app.example.com:444",
    "https://app.example.com:443",
    "https://app.example.com/",
    "https://APP.example.com",
    "https://x.app.example.com",
    "null",
]


def simple(origin: str) -> Request:
    return Request.build("GET", "/api/items", [("Origin", origin)])


def preflight(origin: str) -> Request:
    return Request.build(
        "OPTIONS",
        "/api/items",
        [("Origin", origin), ("Access-Control-Request-Method", "PUT")],
    )


def assert_allowed(policy: CorsPolicy, origin: str) -> None:
    decision = policy.decide(simple(origin))
    assert decision.kind is CorsKind.SIMPLE_ALLOWED, decision.reason
    assert dict(decision.headers)[b"access-control-allow-origin"] == origin.encode("latin-1")
    assert dict(decision.headers)[b"access-control-allow-credentials"] == b"true"
    assert decision.vary == b"Origin"
    pre = policy.decide(preflight(origin))
    assert pre.kind is CorsKind.PREFLIGHT_ALLOWED, pre.reason
    response = policy.preflight_response(pre)
    assert response.status == 204
    assert response.header(b"access-control-allow-origin") == origin.encode("latin-1")


def assert_denied(policy: CorsPolicy, origin: str) -> None:
    decision = policy.decide(simple(origin))
    assert decision.kind is CorsKind.SIMPLE_DENIED
    assert decision.headers == ()
    assert decision.vary == b"Origin"
    assert decision.reason.startswith("cors: origin ")
    assert not any(c in decision.reason for c in "\r\n\t")
    pre = policy.decide(preflight(origin))
    assert pre.kind is CorsKind.PREFLIGHT_DENIED
    assert pre.refused == "origin"
    response = policy.preflight_response(pre)
    assert response.status == 403
    assert not [n for n, _ in response.headers if n.startswith(b"access-control-")]
    assert response.header(b"vary") == (
        b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )


@pytest.mark.parametrize("origin", ALLOWED)
def test_wildcard_allows(origin: str) -> None:
    assert_allowed(WILDCARD, origin)


@pytest.mark.parametrize("origin", DENIED)
def test_wildcard_denies(origin: str) -> None:
    assert_denied(WILDCARD, origin)


def test_exact_allows_only_itself() -> None:
    assert_allowed(EXACT, "https://app.example.com")


@pytest.mark.parametrize("origin", EXACT_DENIED)
def test_exact_denies(origin: str) -> None:
    assert_denied(EXACT, origin)


def test_two_origin_lines_are_combined_and_denied() -> None:
    request = Request.build(
        "GET", "/", [("Origin", "https://a.example.com"), ("Origin", "https://evil.com")]
    )
    decision = WILDCARD.decide(request)
    assert decision.kind is CorsKind.SIMPLE_DENIED
    assert decision.headers == ()


@pytest.mark.parametrize(
    ("policy", "allowed"),
    [
        (CorsPolicy(allow_origins=["null"]), True),
        (CorsPolicy(allow_origins=["null", "https://a.test"], allow_credentials=True), True),
        (CorsPolicy(allow_origins=["*"]), True),
        (CorsPolicy(allow_origins=["https://*.example.com"]), False),
        (CorsPolicy(allow_origin_regex=r".*"), False),  # a regex never matches `null`
        (CorsPolicy(allow_origin_regex=r"null"), False),
        (CorsPolicy(allow_origin_regex=r"n.*"), False),
        (CorsPolicy(), False),  # the loopback default does not trust `null`
        (CorsPolicy(allow_origins=["https://app.test"], allow_credentials=True), False),
    ],
)
def test_null_origin(policy: CorsPolicy, allowed: bool) -> None:
    decision = policy.decide(simple("null"))
    pre = policy.decide(preflight("null"))
    if allowed:
        acao = b"*" if policy.constant else b"null"
        assert decision.kind is CorsKind.SIMPLE_ALLOWED
        assert dict(decision.headers)[b"access-control-allow-origin"] == acao
        assert pre.kind is CorsKind.PREFLIGHT_ALLOWED
    else:
        assert decision.kind is CorsKind.SIMPLE_DENIED
        assert decision.headers == ()
        assert pre.kind is CorsKind.PREFLIGHT_DENIED


@pytest.mark.parametrize("origin", ["Null", "NULL", " null", "null "])
def test_null_is_case_and_byte_exact(origin: str) -> None:
    assert_denied(CorsPolicy(allow_origins=["null"], allow_credentials=True), origin)


REGEX = CorsPolicy(allow_origin_regex=r"https://[a-z0-9-]+\.example\.org", allow_credentials=True)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://www.example.org", True),
        ("https://www.example.org.hacker.com", False),  # Starlette #800: full match only
        ("https://www.example.org:8080", False),
        ("https://WWW.example.org", False),
        ("https://www.example.org/", False),
        ("https://www.example.org\n", False),  # `$` would match before a newline; fullmatch not
    ],
)
def test_regex_is_a_full_match(origin: str, allowed: bool) -> None:
    if allowed:
        assert_allowed(REGEX, origin)
    else:
        assert_denied(REGEX, origin)


@pytest.mark.parametrize(
    ("configured", "origin", "allowed"),
    [
        ("http://localhost:*", "http://localhost", True),
        ("http://localhost:*", "http://localhost:1", True),
        ("http://localhost:*", "http://localhost:65535", True),
        ("http://localhost:*", "http://localhost:65536", False),
        ("http://localhost:*", "https://localhost:3000", False),
        ("http://localhost:*", "http://localhost.evil.test:3000", False),
        ("http://localhost:*", "http://evil-localhost:3000", False),
        ("https://*.example.com:*", "https://a.example.com:8443", True),
        ("https://*.example.com:*", "https://example.com:8443", False),
        ("https://*.example.com:8443", "https://a.example.com:8443", True),
        ("https://*.example.com:8443", "https://a.example.com", False),
        ("http://[::1]:*", "http://[::1]:3000", True),
        ("https://app.test.", "https://app.test.", True),  # a trailing dot only if listed so
        ("https://app.test.", "https://app.test", False),
        ("https://bücher.example", "https://xn--bcher-kva.example", True),
    ],
)
def test_port_wildcards_and_host_forms(configured: str, origin: str, allowed: bool) -> None:
    policy = CorsPolicy(allow_origins=[configured], allow_credentials=True)
    if allowed:
        assert_allowed(policy, origin)
    else:
        assert_denied(policy, origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example.com:" + "9" * 5000,  # int() of a huge digit string would raise
        "https://" + "a." * 600 + "example.com",  # longer than any real origin
        "https://[" + "0:" * 3000 + "1]",
    ],
)
def test_hostile_lengths_are_refused_quickly(origin: str) -> None:
    assert_denied(WILDCARD, origin)
    assert origin.encode() not in WILDCARD._simple_memo  # too long to be worth remembering
