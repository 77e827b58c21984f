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
