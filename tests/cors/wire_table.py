"""The CORS wire cases every carrier of a policy must answer identically: `minicors serve`, the
ASGI middleware around a small app, and nginx or Caddy running an exported configuration.

A case is one policy (the `[cors]` keys, as `CorsPolicy` takes them) and one request.  What is
compared is `cors_view`: the status of a preflight (a simple request's status is the app's, which
each carrier's stand-in app sets to 200), every `Access-Control-*` header and the `Vary` tokens.
A carrier that cannot express a policy exactly must refuse it (export: exit 2), never answer it
approximately; the test for that carrier says which cases it skips and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Headers = tuple[tuple[str, str], ...]

APP = "https://app.test"
EVIL = "https://evil.test"

LISTED: dict[str, Any] = {"allow_origins": [APP]}
CREDS: dict[str, Any] = {"allow_origins": [APP], "allow_credentials": True, "max_age_s": 120}
STAR: dict[str, Any] = {"allow_origins": ["*"]}
PATTERNS: dict[str, Any] = {"allow_origins": ["https://*.example.com", "http://localhost:*"]}
REGEX: dict[str, Any] = {"allow_origin_regex": r"https://(a|b)\.example\.org"}
HEADERS_LISTED: dict[str, Any] = {
    "allow_origins": [APP],
    "allow_headers": ["x-token", "content-type"],
    "expose_headers": ["X-Request-Id"],
    "allow_methods": ["GET", "PUT"],
}
PRIVATE: dict[str, Any] = {"allow_origins": [APP], "allow_private_network": True}
DEFAULT: dict[str, Any] = {}  # loopback on any port
# Added for the exports: a regex that matches anything, so only the origin grammar refuses.
ANY_REGEX: dict[str, Any] = {"allow_origin_regex": r".*"}
PORTED: dict[str, Any] = {"allow_origins": ["http://app.test:8080"]}
NULL_LISTED: dict[str, Any] = {"allow_origins": ["null", APP]}
REGEX_CREDS: dict[str, Any] = {
    "allow_origin_regex": r"https://[a-z]+\.example\.net",
    "allow_credentials": True,
}
ANY_HEADER: dict[str, Any] = {"allow_origins": [APP], "allow_headers": ["*"]}
ANY_METHOD: dict[str, Any] = {"allow_origins": [APP], "allow_methods": ["*"]}
NO_METHODS: dict[str, Any] = {"allow_origins": [APP], "allow_methods": [], "expose_headers": []}
MAX_AGE_ZERO: dict[str, Any] = {"allow_origins": [APP], "max_age_s": 0}
PNA_STAR: dict[str, Any] = {"allow_origins": ["*"], "allow_private_network": True}
LONG = "https://" + "a." * 510 + "example.com"  # 1039 characters: longer than any real origin


def preflight(origin: str, method: str = "PUT", headers: str = "") -> Headers:
    out = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if headers:
        out.append(("Access-Control-Request-Headers", headers))
    return tuple(out)


@dataclass(frozen=True)
class WireCase:
    name: str
    policy: dict[str, Any]
    method: str
    headers: Headers
    path: str = "/data.json"
    tags: frozenset[str] = field(default_factory=frozenset)  # e.g. {"pna"}

    @property
    def is_preflight(self) -> bool:
        return self.method == "OPTIONS" and any(
            n.lower() == "access-control-request-method" for n, _ in self.headers
        )


def _case(name: str, policy: dict[str, Any], method: str, headers: Headers, **kw: Any) -> WireCase:
    return WireCase(name=name, policy=policy, method=method, headers=headers, **kw)


CASES: tuple[WireCase, ...] = (
    _case("simple-allowed", LISTED, "GET", (("Origin", APP),)),
    _case("simple-refused", LISTED, "GET", (("Origin", EVIL),)),
    _case("simple-no-origin", LISTED, "GET", ()),
    _case("simple-null-refused", LISTED, "GET", (("Origin", "null"),)),
    _case("simple-creds", CREDS, "GET", (("Origin", APP),)),
    _case("post-creds", CREDS, "POST", (("Origin", APP), ("Content-Type", "text/plain"))),
    _case("preflight-allowed", LISTED, "OPTIONS", preflight(APP, "PUT", "x-token,content-type")),
    _case("preflight-creds", CREDS, "OPTIONS", preflight(APP, "DELETE", "x-token")),
    _case("preflight-refused-origin", LISTED, "OPTIONS", preflight(EVIL)),
    _case("preflight-refused-method", LISTED, "OPTIONS", preflight(APP, "TRACE")),
    _case("preflight-lowercase-method", LISTED, "OPTIONS", preflight(APP, "patch")),
    _case("plain-options", LISTED, "OPTIONS", (("Origin", APP),)),
    _case("star-simple", STAR, "GET", (("Origin", "https://any.test"),)),
    _case("star-no-origin", STAR, "GET", ()),
    _case("star-null", STAR, "GET", (("Origin", "null"),)),
    _case("star-preflight", STAR, "OPTIONS", preflight("https://any.test", "PUT", "x-a")),
    _case("star-preflight-authorization", STAR, "OPTIONS", preflight(APP, "GET", "authorization")),
    _case("pattern-subdomain", PATTERNS, "GET", (("Origin", "https://a.example.com"),)),
    _case("pattern-apex-refused", PATTERNS, "GET", (("Origin", "https://example.com"),)),
    _case("pattern-deep", PATTERNS, "GET", (("Origin", "https://a.b.example.com"),)),
    _case("pattern-port", PATTERNS, "GET", (("Origin", "http://localhost:5173"),)),
    _case("pattern-suffix-attack", PATTERNS, "GET", (("Origin", "https://a.example.com.evil"),)),
    _case("pattern-preflight", PATTERNS, "OPTIONS", preflight("http://localhost:3000", "PATCH")),
    _case("regex-allowed", REGEX, "GET", (("Origin", "https://a.example.org"),)),
    _case("regex-anchored", REGEX, "GET", (("Origin", "https://a.example.org.evil"),)),
    _case("listed-headers-ok", HEADERS_LISTED, "OPTIONS", preflight(APP, "PUT", "X-Token")),
    _case("listed-headers-refused", HEADERS_LISTED, "OPTIONS", preflight(APP, "PUT", "x-other")),
    _case("listed-method-refused", HEADERS_LISTED, "OPTIONS", preflight(APP, "DELETE")),
    _case("listed-expose", HEADERS_LISTED, "GET", (("Origin", APP),)),
    _case("default-loopback", DEFAULT, "GET", (("Origin", "http://localhost:5173"),)),
    _case("default-loopback-v6", DEFAULT, "GET", (("Origin", "http://[::1]:8080"),)),
    _case("default-remote-refused", DEFAULT, "GET", (("Origin", APP),)),
    _case(
        "pna-preflight",
        PRIVATE,
        "OPTIONS",
        (*preflight(APP, "GET"), ("Access-Control-Request-Private-Network", "true")),
        tags=frozenset({"pna"}),
    ),
    _case(
        "pna-not-allowed",
        LISTED,
        "OPTIONS",
        (*preflight(APP, "GET"), ("Access-Control-Request-Private-Network", "true")),
        tags=frozenset({"pna"}),
    ),
    _case("origin-uppercase-refused", LISTED, "GET", (("Origin", "HTTPS://APP.TEST"),)),
    _case("origin-list-refused", LISTED, "GET", (("Origin", f"{APP}, {EVIL}"),)),
    # Added for the exports (nginx, Caddy): each of the engine's rules once more, at its edge.
    *(
        _case(f"grammar-{name}", ANY_REGEX, "GET", (("Origin", origin),))
        for name, origin in (
            ("ipv4", "http://10.0.0.1:8080"),
            ("ipv4-leading-zero", "http://10.0.0.01"),
            ("numeric-host", "http://1.2.3"),
            ("hex-host", "http://a.0x1f"),
            ("ipv6", "http://[::1]:3000"),
            ("ipv6-long-form", "http://[0:0::1]"),
            ("ipv6-full", "http://[1:2:3:4:5:6:7:8]"),
            ("default-port", "https://a.test:443"),
            ("port-leading-zero", "http://a.test:0080"),
            ("port-too-big", "http://a.test:65536"),
            ("upper-case", "HTTPS://A.TEST"),
            ("trailing-dot", "https://a.test."),
            ("label-hyphen", "https://-a.test"),
            ("path", "https://a.test/"),
            ("null", "null"),
        )
    ),
    _case("pattern-default-port", PATTERNS, "GET", (("Origin", "http://localhost:80"),)),
    _case("pattern-port-zero", PATTERNS, "GET", (("Origin", "http://localhost:0"),)),
    _case("pattern-long", PATTERNS, "GET", (("Origin", LONG),)),
    _case("pattern-upper", PATTERNS, "GET", (("Origin", "https://A.example.com"),)),
    _case("exact-port", PORTED, "GET", (("Origin", "http://app.test:8080"),)),
    _case("exact-port-other", PORTED, "GET", (("Origin", "http://app.test:8081"),)),
    _case("null-listed", NULL_LISTED, "GET", (("Origin", "null"),)),
    _case("null-listed-preflight", NULL_LISTED, "OPTIONS", preflight("null", "PUT")),
    _case("regex-creds", REGEX_CREDS, "GET", (("Origin", "https://ab.example.net"),)),
    _case("regex-creds-preflight", REGEX_CREDS, "OPTIONS", preflight("https://x.example.net")),
    _case("regex-case", REGEX_CREDS, "GET", (("Origin", "https://AB.example.net"),)),
    _case("star-preflight-odd-origin", STAR, "OPTIONS", preflight("HTTPS://X", "PUT")),
    _case("any-header-ok", ANY_HEADER, "OPTIONS", preflight(APP, "PUT", "x-a,x-b")),
    _case("any-header-auth", ANY_HEADER, "OPTIONS", preflight(APP, "PUT", "authorization")),
    _case("any-header-auths", ANY_HEADER, "OPTIONS", preflight(APP, "PUT", "authorizations")),
    _case("any-header-mixed", ANY_HEADER, "OPTIONS", preflight(APP, "PUT", "x-a,Authorization")),
    _case("any-method", ANY_METHOD, "OPTIONS", preflight(APP, "PURGE")),
    _case("any-method-lower", ANY_METHOD, "OPTIONS", preflight(APP, "purge")),
    _case("any-method-list", ANY_METHOD, "OPTIONS", preflight(APP, "GET, PURGE")),
    _case("no-methods-get", NO_METHODS, "OPTIONS", preflight(APP, "GET")),
    _case("no-methods-put", NO_METHODS, "OPTIONS", preflight(APP, "PUT")),
    _case("no-expose", NO_METHODS, "GET", (("Origin", APP),)),
    _case("acrh-empty-elements", LISTED, "OPTIONS", preflight(APP, "PUT", " , ,")),
    _case("acrh-not-a-token", LISTED, "OPTIONS", preflight(APP, "PUT", "x a")),
    _case("acrh-spaces", LISTED, "OPTIONS", preflight(APP, "PUT", "x-a , x-b")),
    _case("listed-headers-upper", HEADERS_LISTED, "OPTIONS", preflight(APP, "PUT", "CONTENT-TYPE")),
    _case("max-age-zero", MAX_AGE_ZERO, "OPTIONS", preflight(APP, "PUT")),
    _case(
        "pna-star",
        PNA_STAR,
        "OPTIONS",
        (*preflight(APP, "GET"), ("Access-Control-Request-Private-Network", "true")),
        tags=frozenset({"pna"}),
    ),
    _case(
        "pna-not-true",
        PRIVATE,
        "OPTIONS",
        (*preflight(APP, "GET"), ("Access-Control-Request-Private-Network", "TRUE")),
        tags=frozenset({"pna"}),
    ),
    # Added for the ASGI middleware: requests that reach the app with headers a carrier might
    # treat apart (a Cookie under a policy without credentials, HEAD, a refused POST).
    _case("cookie-no-creds", LISTED, "GET", (("Origin", APP), ("Cookie", "session=1"))),
    _case("head-allowed", LISTED, "HEAD", (("Origin", APP),)),
    _case("post-refused", LISTED, "POST", (("Origin", EVIL), ("Content-Type", "text/plain"))),
)

CaseView = tuple[int | None, tuple[tuple[str, str], ...], tuple[str, ...]]


def cors_view(case: WireCase, status: int, headers: Iterable[tuple[str, str]]) -> CaseView:
    """What must be identical across carriers: the preflight status (None for other requests,
    whose status is the app's), the `Access-Control-*` headers (names lower-cased, sorted; a
    list value's spacing normalised), and the `Vary` tokens (lower-cased, sorted, deduplicated,
    `Accept-Encoding` left out: whether an answer varies on it is the app's business)."""
    acx: list[tuple[str, str]] = []
    vary: set[str] = set()
    for name, value in headers:
        lower = name.lower()
        if lower.startswith("access-control-"):
            acx.append((lower, ", ".join(v.strip() for v in value.split(","))))
        elif lower == "vary":
            vary.update(t.strip().lower() for t in value.split(",") if t.strip())
    vary.discard("accept-encoding")
    return (status if case.is_preflight else None, tuple(sorted(acx)), tuple(sorted(vary)))


def find(names: Sequence[str]) -> tuple[WireCase, ...]:
    """The cases named `names`, in that order (for a carrier's own subset)."""
    by_name = {case.name: case for case in CASES}
    return tuple(by_name[name] for name in names)
