"""The CORS engine, rule by rule (CONTRACT.md "CORS options" / "CORS behaviour on the wire")."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from minicors.cors import DEFAULT_EXPOSE, CorsDecision, CorsKind, CorsPolicy, CorsRouter
from minicors.cors.origins import parse_origin_rule
from minicors.errors import ConfigError
from minicors.messages import Request, Response, parse_target

VARY_PREFLIGHT = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
EXPOSE = ", ".join(DEFAULT_EXPOSE)


def simple(origin: str | None, method: str = "GET", **extra: str) -> Request:
    headers = [] if origin is None else [("Origin", origin)]
    headers += [(k.replace("_", "-"), v) for k, v in extra.items()]
    return Request.build(method, "/x", headers)


def preflight(
    origin: str,
    method: str = "PUT",
    headers: str | Sequence[str] | None = None,
    pna: str | None = None,
) -> Request:
    lines = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if isinstance(headers, str):
        lines.append(("Access-Control-Request-Headers", headers))
    elif headers is not None:
        lines += [("Access-Control-Request-Headers", h) for h in headers]
    if pna is not None:
        lines.append(("Access-Control-Request-Private-Network", pna))
    return Request.build("OPTIONS", "/x", lines)


def headers_of(response: Response) -> dict[str, str]:
    names = [n for n, _ in response.headers]
    assert len(names) == len(set(names)), f"repeated header in {response.headers}"
    return {n.decode(): v.decode() for n, v in response.headers}


def annotated(policy: CorsPolicy, request: Request, base: Response | None = None) -> Response:
    decision = policy.decide(request)
    assert not decision.is_preflight
    return policy.annotate(decision, base or Response(status=200, body=b"ok"))


def answer(policy: CorsPolicy, request: Request) -> tuple[CorsDecision, Response]:
    decision = policy.decide(request)
    assert decision.is_preflight
    return decision, policy.preflight_response(decision)


# -- configured origins are normalised the way browsers serialise them -----------------------------


@pytest.mark.parametrize(
    ("configured", "normalised"),
    [
        ("https://a.test", "https://a.test"),
        ("HTTPS://App.Example.COM", "https://app.example.com"),
        ("https://a.test:443", "https://a.test"),
        ("http://a.test:80", "http://a.test"),
        ("http://a.test:443", "http://a.test:443"),
        ("https://a.test:8443", "https://a.test:8443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://*.Example.com", "https://*.example.com"),
        ("http://localhost:*", "http://localhost:*"),
        ("http://[0:0::1]:3000", "http://[::1]:3000"),
        ("  https://a.test  ", "https://a.test"),
        ("https://a.test.", "https://a.test."),
    ],
)
def test_configured_origin_is_normalised(configured: str, normalised: str) -> None:
    assert parse_origin_rule(configured).text == normalised


@pytest.mark.parametrize(
    ("configured", "message_part"),
    [
        ("https://a.test/", "trailing slash; write https://a.test"),
        ("https://a.test/app", "has a path; write https://a.test"),
        ("a.test", "is not an origin; write scheme://host[:port], e.g. https://a.test"),
        ("https://user@a.test", "has user info; write https://a.test"),
        ("https://a.test?x", "has a query"),
        ("https://a.test:99999", "invalid port"),
        ("https://a.test:abc", "invalid port"),
        ("https://*", "not a leading '*.' label"),
        ("https://a*.test", "not a leading '*.' label"),
        ("https://*.*.test", "not a leading '*.' label"),
        ("https://*.10.0.0.1", "before an IP address"),
        ("https://a_b.test", "invalid host"),
        ("https://-a.test", "invalid host"),
        ("https://a..test", "empty label"),
        ("https://", "has no host"),
        ("http://127.1", "dotted-quad"),
        ("NULL", "spelled 'null'"),
    ],
)
def test_bad_configured_origin_is_a_config_error(configured: str, message_part: str) -> None:
    with pytest.raises(ConfigError) as err:
        CorsPolicy(allow_origins=[configured])
    message = str(err.value)
    assert message_part in message
    assert "\n" not in message


def test_star_with_credentials_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match=r"list the origins .* or use a pattern"):
        CorsPolicy(allow_origins=["*"], allow_credentials=True)


@pytest.mark.parametrize(
    ("kwargs", "message_part"),
    [
        ({"allow_methods": ["GET, PUT"]}, "allowed method 'GET, PUT' is not a valid token"),
        ({"allow_headers": ["x token"]}, "allowed header 'x token'"),
        ({"expose_headers": ["a:b"]}, "exposed header 'a:b'"),
        ({"max_age_s": -1}, "max-age -1 is invalid"),
        ({"allow_origin_regex": "https://(a"}, "does not compile"),
        ({"allow_origins": "https://a.test"}, "allowed origins must be a list"),
        ({"allow_headers": "x-a"}, "allowed headers must be a list, not one string: write ['x-a']"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, object], message_part: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        CorsPolicy(**kwargs)  # type: ignore[arg-type]
    assert message_part in str(err.value)


# -- warnings at start -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"allow_origins": ["null"]}, ["'null' is an allowed origin"]),
        (
            {"allow_origins": ["null", "https://a.test"], "allow_credentials": True},
            ["'null' is an allowed origin", "'null' is allowed with credentials"],
        ),
        ({"allow_origin_regex": r"https://.*\.example\.com"}, ["unescaped '.'"]),
        ({"allow_origin_regex": r"https://[a-z.]+\.example\.com"}, []),
        ({"allow_origin_regex": r"https://[].]+\.example\.com"}, []),
        ({"allow_origins": ["http://a.test", "https://a.test"]}, ["both http://a.test and"]),
        ({"allow_origins": ["http://*.a.test", "https://*.a.test"]}, ["both http://*.a.test"]),
        ({"allow_origins": ["http://a.test", "https://b.test"]}, []),
        ({"allow_origins": ["http://localhost:*", "https://localhost:*"]}, []),
        ({"allow_origins": ["http://127.0.0.1:3000", "https://127.0.0.1:3000"]}, []),
        ({"allow_origins": ["https://*.com"]}, ["trusts every site under the top-level domain"]),
        ({"allow_origins": ["https://*.test", "http://*.localhost:*"]}, []),
        ({"max_age_s": 7200}, []),
        ({"max_age_s": 7201}, ["above Chromium's cap of 7200 s"]),
        ({"allow_origins": ["*", "https://a.test"]}, ["redundant"]),
        ({"allow_methods": ["patch"]}, ["'patch' is compared case-sensitively"]),
        ({"allow_methods": ["patch", "PATCH"]}, []),
        ({"allow_methods": ["put"]}, []),  # normalised like Fetch does: no warning needed
        ({"expose_headers": ["*"], "allow_origins": ["https://a.test"]}, []),
        (
            {
                "expose_headers": ["*"],
                "allow_origins": ["https://a.test"],
                "allow_credentials": True,
            },
            ["exposed header '*'"],
        ),
        ({}, []),
    ],
)
def test_startup_warnings(kwargs: dict[str, object], expected: list[str]) -> None:
    warnings = CorsPolicy(**kwargs).warnings  # type: ignore[arg-type]
    assert len(warnings) == len(expected), warnings
    for part, warning in zip(expected, warnings, strict=True):
        assert part in warning
        assert "\n" not in warning


# -- simple (non-preflight) requests ---------------------------------------------------------------

LIST = CorsPolicy(allow_origins=["https://app.test", "https://*.example.com"])
CREDS = CorsPolicy(allow_origins=["https://app.test"], allow_credentials=True)
STAR = CorsPolicy(allow_origins=["*"])
DEFAULT = CorsPolicy()
NULL = CorsPolicy(allow_origins=["null"])
REGEX = CorsPolicy(allow_origin_regex=r"https://(app|admin)\.corp\.test")


@pytest.mark.parametrize(
    ("policy", "origin", "expected"),
    [
        (
            LIST,
            "https://app.test",
            {
                "access-control-allow-origin": "https://app.test",
                "access-control-expose-headers": EXPOSE,
                "vary": "Origin",
            },
        ),
        (
            LIST,
            "https://x.example.com",
            {
                "access-control-allow-origin": "https://x.example.com",
                "access-control-expose-headers": EXPOSE,
                "vary": "Origin",
            },
        ),
        (LIST, "https://evil.test", {"vary": "Origin"}),
        (LIST, None, {"vary": "Origin"}),
        (LIST, "null", {"vary": "Origin"}),
        (
            CREDS,
            "https://app.test",
            {
                "access-control-allow-origin": "https://app.test",
                "access-control-expose-headers": EXPOSE,
                "access-control-allow-credentials": "true",
                "vary": "Origin",
            },
        ),
        (CREDS, "https://evil.test", {"vary": "Origin"}),
        (CREDS, "null", {"vary": "Origin"}),
        (
            STAR,
            "https://any.test",
            {"access-control-allow-origin": "*", "access-control-expose-headers": EXPOSE},
        ),
        # constant policy: always send ACAO `*`, never Vary (Fetch §"CORS protocol and HTTP caches")
        (STAR, None, {"access-control-allow-origin": "*", "access-control-expose-headers": EXPOSE}),
        (
            STAR,
            "null",
            {"access-control-allow-origin": "*", "access-control-expose-headers": EXPOSE},
        ),
        (
            NULL,
            "null",
            {
                "access-control-allow-origin": "null",
                "access-control-expose-headers": EXPOSE,
                "vary": "Origin",
            },
        ),
        (NULL, "Null", {"vary": "Origin"}),
        (NULL, "https://a.test", {"vary": "Origin"}),
        (
            DEFAULT,
            "http://localhost:5173",
            {
                "access-control-allow-origin": "http://localhost:5173",
                "access-control-expose-headers": EXPOSE,
                "vary": "Origin",
            },
        ),
        (
            REGEX,
            "https://admin.corp.test",
            {
                "access-control-allow-origin": "https://admin.corp.test",
                "access-control-expose-headers": EXPOSE,
                "vary": "Origin",
            },
        ),
        (REGEX, "https://admin.corp.test.evil.test", {"vary": "Origin"}),
        (REGEX, "null", {"vary": "Origin"}),
    ],
)
def test_simple_request_headers(
    policy: CorsPolicy, origin: str | None, expected: dict[str, str]
) -> None:
    response = annotated(policy, simple(origin))
    assert headers_of(response) == expected
    assert response.status == 200
    assert response.body == b"ok"


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost", True),
        ("http://localhost:3000", True),
        ("https://localhost:8443", True),
        ("http://127.0.0.1:5173", True),
        ("https://127.0.0.1", True),
        ("http://[::1]:8080", True),
        ("https://[::1]", True),
        ("http://localhost:80", False),  # browsers omit the default port
        ("http://127.0.0.2:3000", False),
        ("http://sub.localhost:3000", False),
        ("http://localhost.evil.test", False),
        ("http://localhost:3000.evil.test", False),
        ("http://[::2]:3000", False),
        ("http://[0:0:0:0:0:0:0:1]:3000", False),  # not the form a browser sends
        ("https://example.com", False),
        ("null", False),
    ],
)
def test_default_policy_is_loopback_on_any_port(origin: str, allowed: bool) -> None:
    decision = DEFAULT.decide(simple(origin))
    kind = CorsKind.SIMPLE_ALLOWED if allowed else CorsKind.SIMPLE_DENIED
    assert decision.kind is kind
    assert decision.vary == b"Origin"


def test_denied_simple_request_has_a_reason_for_the_log() -> None:
    decision = LIST.decide(simple("https://evil.test"))
    assert decision.kind is CorsKind.SIMPLE_DENIED
    assert decision.reason == "cors: origin https://evil.test not allowed"
    assert decision.refused == "origin"
    response = LIST.annotate(decision, Response(status=200, log_note="api"))
    assert response.log_note == "api"  # the app adds the reason to the access log once


def test_request_derived_text_in_reasons_is_escaped() -> None:
    evil = 'https://evil.test\r\n127.0.0.1 "GET / HTTP/1.1" 200\x1b[31m'
    for request in (simple(evil), preflight(evil)):
        decision = LIST.decide(request)
        assert not any(c in decision.reason for c in "\r\n\x1b")
        assert "\\x0d\\x0a" in decision.reason
    _, response = answer(LIST, preflight("https://app.test", "PUT\x7f"))
    assert isinstance(response.body, bytes)
    assert b"\x7f" not in response.body
    assert b"\\x7f" in response.body


def test_same_origin_request_is_not_a_cors_refusal() -> None:
    request = simple("http://127.0.0.1:8000", "POST", host="127.0.0.1:8000")
    decision = CREDS.decide(request)
    assert decision.kind is CorsKind.NOT_CORS
    assert decision.reason == ""
    assert headers_of(CREDS.annotate(decision, Response(status=201))) == {"vary": "Origin"}
    other_host = simple("http://127.0.0.1:8000", "POST", host="127.0.0.1:9000")
    assert CREDS.decide(other_host).kind is CorsKind.SIMPLE_DENIED


# -- preflights ------------------------------------------------------------------------------------


def test_allowed_preflight_exact_headers() -> None:
    decision, response = answer(
        CREDS, preflight("https://app.test", "PUT", "X-Token, content-type")
    )
    assert decision.kind is CorsKind.PREFLIGHT_ALLOWED
    assert response.status == 204
    assert response.body == b""
    assert headers_of(response) == {
        "access-control-allow-origin": "https://app.test",
        "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
        "access-control-allow-headers": "x-token, content-type",
        "access-control-max-age": "600",
        "access-control-allow-credentials": "true",
        "content-length": "0",
        "vary": VARY_PREFLIGHT,
    }


def test_star_preflight_omits_origin_from_vary_and_sends_star() -> None:
    _, response = answer(STAR, preflight("https://any.test", "DELETE"))
    assert headers_of(response) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE",
        "access-control-max-age": "600",
        "content-length": "0",
        "vary": "Access-Control-Request-Method, Access-Control-Request-Headers",
    }


@pytest.mark.parametrize(
    ("policy", "request_", "refused", "reason"),
    [
        (
            LIST,
            preflight("https://evil.test"),
            "origin",
            "cors: origin https://evil.test not allowed",
        ),
        (
            LIST,
            preflight("null"),
            "origin",
            "cors: origin null not allowed ('null' is allowed only when listed explicitly)",
        ),
        (
            LIST,
            preflight(""),
            "origin",
            'cors: origin "" not allowed (not a serialised origin: lower-case scheme://host[:port])',
        ),
        (
            LIST,
            preflight("https://app.test", "GET, DELETE"),
            "method",
            'cors: method "GET, DELETE" not allowed '
            "(Access-Control-Request-Method must be a single method token)",
        ),
        (
            CorsPolicy(allow_origins=["https://app.test"], allow_methods=["GET"]),
            preflight("https://app.test", "PUT"),
            "method",
            "cors: method PUT not allowed (allowed: GET)",
        ),
        (
            LIST,
            preflight("https://app.test", "patch"),
            "method",
            "cors: method patch not allowed (allowed: GET, HEAD, POST, PUT, PATCH, DELETE; "
            "methods are case-sensitive)",
        ),
        (
            LIST,
            preflight("https://app.test", ""),
            "method",
            'cors: method "" not allowed '
            "(Access-Control-Request-Method must be a single method token)",
        ),
        (
            CorsPolicy(allow_origins=["https://app.test"], allow_headers=["x-a"]),
            preflight("https://app.test", "PUT", "x-a, x-b, x-c"),
            "header",
            "cors: headers x-b, x-c not allowed (not in the allowed headers)",
        ),
        (
            CorsPolicy(allow_origins=["https://app.test"], allow_headers=["*"]),
            preflight("https://app.test", "PUT", "x-a, Authorization"),
            "header",
            "cors: header authorization not allowed "
            "('*' never covers Authorization (Fetch): list it)",
        ),
        (
            LIST,
            preflight("https://app.test", "PUT", "x-a, x b"),
            "header",
            'cors: header "x b" not allowed (not a valid header name)',
        ),
    ],
)
def test_refused_preflight(
    policy: CorsPolicy, request_: Request, refused: str, reason: str
) -> None:
    decision, response = answer(policy, request_)
    assert decision.kind is CorsKind.PREFLIGHT_DENIED
    assert decision.refused == refused
    assert decision.reason == reason
    assert response.status == 403
    assert response.log_note == reason
    headers = headers_of(response)
    assert not [h for h in headers if h.startswith("access-control-")]
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["vary"] == VARY_PREFLIGHT
    assert isinstance(response.body, bytes)
    body = response.body.decode()
    assert body.startswith(f"CORS preflight refused: {reason.removeprefix('cors: ')}")
    first, _, rest = body.partition("\n")
    assert first.endswith(").")
    assert refused in first
    # Then the fix, as `minicors check` words it, unless no setting can fix it.
    assert rest == "" or (rest.startswith("fix: ") and rest.endswith("\n")), rest


def test_refused_bodies_say_why() -> None:
    _, response = answer(LIST, preflight("https://evil.test"))
    assert response.body == (
        b"CORS preflight refused: origin https://evil.test not allowed "
        b"(it is not one of the origins this server allows).\n"
        b"fix: add --allow-origin https://evil.test\n"
    )
    methods = CorsPolicy(allow_origins=["https://app.test"], allow_methods=["GET", "PATCH"])
    _, response = answer(methods, preflight("https://app.test", "patch"))
    assert b"allowed: GET, PATCH; methods are case-sensitive" in bytes(response.body)  # type: ignore[arg-type]
    star = CorsPolicy(allow_origins=["https://app.test"], allow_headers=["*"])
    _, response = answer(star, preflight("https://app.test", "PUT", "authorization"))
    assert b"'*' never covers Authorization" in bytes(response.body)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("policy_kwargs", "method", "acrh", "acam", "acah"),
    [
        # safelisted methods are always fine; ACAM still lists the configured methods
        ({"allow_methods": ["PUT"]}, "POST", "x-a", "PUT", "x-a"),
        ({"allow_methods": ["PUT"]}, "GET", None, "PUT", None),
        ({"allow_methods": ["put"]}, "PUT", None, "PUT", None),
        ({"allow_methods": ["patch"]}, "patch", None, "patch", None),
        ({"allow_methods": ["*"]}, "PURGE", None, "PURGE", None),
        ({"allow_methods": ["*"], "allow_credentials": True}, "PURGE", None, "PURGE", None),
        ({"allow_methods": []}, "GET", None, None, None),
        # headers: default echoes what was asked (lower-cased, de-duplicated)
        ({}, "PUT", "X-B,x-a, X-B", "GET, HEAD, POST, PUT, PATCH, DELETE", "x-b, x-a"),
        ({}, "PUT", ["x-a", "x-b"], "GET, HEAD, POST, PUT, PATCH, DELETE", "x-a, x-b"),
        ({}, "PUT", "authorization", "GET, HEAD, POST, PUT, PATCH, DELETE", "authorization"),
        ({}, "PUT", "", "GET, HEAD, POST, PUT, PATCH, DELETE", None),
        ({}, "PUT", " , ,", "GET, HEAD, POST, PUT, PATCH, DELETE", None),
        (
            {"allow_headers": ["X-Token"]},
            "PUT",
            "x-token",
            "GET, HEAD, POST, PUT, PATCH, DELETE",
            "x-token",
        ),
        (
            {"allow_headers": ["*"]},
            "PUT",
            "x-a,x-b",
            "GET, HEAD, POST, PUT, PATCH, DELETE",
            "x-a, x-b",
        ),
        (
            {"allow_headers": ["*", "Authorization"], "allow_credentials": True},
            "PUT",
            "authorization,x-a",
            "GET, HEAD, POST, PUT, PATCH, DELETE",
            "authorization, x-a",
        ),
    ],
)
def test_allowed_preflight_methods_and_headers(
    policy_kwargs: dict[str, object],
    method: str,
    acrh: str | list[str] | None,
    acam: str | None,
    acah: str | None,
) -> None:
    policy = CorsPolicy(allow_origins=["https://app.test"], **policy_kwargs)  # type: ignore[arg-type]
    decision, response = answer(policy, preflight("https://app.test", method, acrh))
    assert decision.kind is CorsKind.PREFLIGHT_ALLOWED, decision.reason
    headers = headers_of(response)
    assert headers.get("access-control-allow-methods") == acam
    assert headers.get("access-control-allow-headers") == acah


@pytest.mark.parametrize(
    ("enabled", "requested", "expected"),
    [(True, "true", "true"), (True, None, None), (False, "true", None), (True, "false", None)],
)
def test_private_network_is_opt_in(
    enabled: bool, requested: str | None, expected: str | None
) -> None:
    policy = CorsPolicy(allow_origins=["https://app.test"], allow_private_network=enabled)
    decision, response = answer(policy, preflight("https://app.test", "PUT", pna=requested))
    assert decision.kind is CorsKind.PREFLIGHT_ALLOWED
    assert headers_of(response).get("access-control-allow-private-network") == expected


def test_max_age_is_sent() -> None:
    policy = CorsPolicy(allow_origins=["https://app.test"], max_age_s=86400)
    _, response = answer(policy, preflight("https://app.test"))
    assert headers_of(response)["access-control-max-age"] == "86400"


def test_options_without_request_method_is_not_a_preflight() -> None:
    decision = LIST.decide(Request.build("OPTIONS", "/x", [("Origin", "https://app.test")]))
    assert decision.kind is CorsKind.SIMPLE_ALLOWED
    with pytest.raises(ValueError, match="preflight"):
        LIST.preflight_response(decision)
    no_origin = Request.build("OPTIONS", "/x", [("Access-Control-Request-Method", "PUT")])
    assert LIST.decide(no_origin).kind is CorsKind.NOT_CORS
    put = Request.build(
        "PUT", "/x", [("Origin", "https://app.test"), ("Access-Control-Request-Method", "PUT")]
    )
    assert LIST.decide(put).kind is CorsKind.SIMPLE_ALLOWED


def test_repeated_preflight_is_a_memo_lookup_and_the_memo_is_bounded() -> None:
    policy = CorsPolicy(allow_origins=["https://*.example.com"])
    first = policy.decide(preflight("https://a.example.com", "PUT", "x-a"))
    again = policy.decide(preflight("https://a.example.com", "PUT", "x-a"))
    assert again is first
    assert policy.preflight_response(again) is policy.preflight_response(first)
    for i in range(1100):
        policy.decide(preflight(f"https://h{i}.example.com", "PUT"))
        policy.decide(simple(f"https://h{i}.example.com"))
    assert len(policy._preflight_memo) <= 1024
    assert len(policy._simple_memo) <= 1024
    assert policy.decide(preflight("https://a.example.com", "PUT", "x-a")) == first


# -- annotate: Vary merging and every kind of response ---------------------------------------------


@pytest.mark.parametrize(
    ("inner", "expected_vary"),
    [
        ((), "Origin"),
        (((b"vary", b"Accept-Encoding"),), "Accept-Encoding, Origin"),
        (((b"vary", b"origin, Accept-Encoding"),), "origin, Accept-Encoding"),
        (((b"vary", b"Accept-Encoding"), (b"vary", b"Accept")), "Accept-Encoding, Accept, Origin"),
        (((b"vary", b"*"),), "*"),
        (((b"vary", b""),), "Origin"),
    ],
)
def test_vary_is_merged_into_one_header(
    inner: tuple[tuple[bytes, bytes], ...], expected_vary: str
) -> None:
    for request in (simple("https://app.test"), simple("https://evil.test"), simple(None)):
        response = annotated(LIST, request, Response(status=200, headers=inner))
        assert [v for n, v in response.headers if n == b"vary"] == [expected_vary.encode()]


@pytest.mark.parametrize("status", [200, 201, 204, 304, 404, 405, 500])
def test_annotate_applies_to_every_status(status: int) -> None:
    base = Response(status=status, headers=((b"etag", b'"1"'),), body=b"")
    response = annotated(CREDS, simple("https://app.test"), base)
    assert response.status == status
    headers = headers_of(response)
    assert headers["etag"] == '"1"'
    assert headers["access-control-allow-origin"] == "https://app.test"
    assert headers["vary"] == "Origin"


def test_annotate_replaces_cors_headers_set_by_a_handler() -> None:
    base = Response(status=200, headers=((b"access-control-allow-origin", b"*"), (b"x-a", b"1")))
    allowed = headers_of(annotated(CREDS, simple("https://app.test"), base))
    assert allowed["access-control-allow-origin"] == "https://app.test"
    denied = headers_of(annotated(CREDS, simple("https://evil.test"), base))
    assert denied == {"x-a": "1", "vary": "Origin"}


def test_constant_policy_leaves_an_unrelated_vary_alone() -> None:
    base = Response(status=200, headers=((b"vary", b"Accept-Encoding"),))
    headers = headers_of(annotated(STAR, simple(None), base))
    assert headers["vary"] == "Accept-Encoding"
    assert headers["access-control-allow-origin"] == "*"


# -- per-route policies ----------------------------------------------------------------------------

API = CorsPolicy(allow_origins=["https://api-client.test"])
ADMIN = CorsPolicy(allow_origins=["https://admin.test"], allow_credentials=True)
ONE = CorsPolicy(allow_origins=["https://one.test"])
ROUTER = CorsRouter(DEFAULT, [("/api/admin/**", ADMIN), ("/api/**", API), ("/files/*/raw", ONE)])


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/", DEFAULT),
        ("/index.html", DEFAULT),
        ("/api", API),
        ("/api/", API),
        ("/api/items/1", API),
        ("/apix", DEFAULT),
        ("/API/items", DEFAULT),  # case-sensitive (flask-cors CVE-2024-6866)
        ("/api/admin", ADMIN),
        ("/api/admin/users", ADMIN),
        ("/api/Admin/users", API),
        ("/api/%61dmin/users", ADMIN),  # percent-decoded before matching
        # An encoded separator stays inside its segment, as the handlers read it: the API
        # does not serve "/api%2Fadmin/users" either (its first segment is "api/admin").
        ("/api%2Fadmin/users", DEFAULT),
        ("/api/items/..%2F..%2Fx", API),  # the API serves it (as item "../../x"): its policy
        # Dot-segments are not resolved, by the router or the handlers (static files refuse
        # them): the policy is the one of the segments as sent.
        ("/static/../api/admin/x", DEFAULT),
        ("/api/admin/../items", ADMIN),
        ("/api/admin+x/users", API),  # `+` is not a space in a path (CVE-2024-6844)
        ("/api//admin/users", ADMIN),  # empty segments collapse, as static files do
        ("http://x.test/api/admin/users", ADMIN),  # absolute-form target (RFC 9112 §3.2.2)
        ("http://x.test", DEFAULT),
        ("/files/a/raw", ONE),
        ("/files//raw", DEFAULT),  # `*` is one non-empty segment
        ("/files/a/b/raw", DEFAULT),
        ("*", DEFAULT),
    ],
)
def test_router_picks_the_first_matching_route(path: str, policy: CorsPolicy) -> None:
    assert ROUTER.policy_for(parse_target(path)) is policy


def test_router_without_routes_and_route_errors() -> None:
    assert CorsRouter(LIST).policy_for(parse_target("/anything")) is LIST
    assert CorsRouter(LIST).route_for(parse_target("/x")) == (None, LIST)
    assert ROUTER.route_for(parse_target("/api/x")) == ("/api/**", API)
    for bad, part in [
        ("api/**", "must start with '/'"),
        ("/api/*.json", "whole segment"),
        ("/a?b", "query"),
    ]:
        with pytest.raises(ConfigError, match=None) as err:
            CorsRouter(LIST, [(bad, LIST)])
        assert part in str(err.value)


def test_router_warns_about_shadowed_routes_and_route_policy_warnings() -> None:
    router = CorsRouter(
        LIST,
        [("/api/**", API), ("/api/admin/**", ADMIN), ("/files/*", ONE), ("/files/x", NULL)],
    )
    warnings = router.warnings
    assert any("/api/admin/** is never used" in w and "/api/**" in w for w in warnings)
    assert any("/files/x is never used" in w for w in warnings)
    assert any(w.startswith("CORS route /files/x: 'null' is an allowed origin") for w in warnings)
    assert not any("/files/* is never used" in w for w in warnings)
    assert ROUTER.warnings == ()


def test_a_shared_answer_is_annotated_once_per_decision() -> None:
    policy = CorsPolicy(allow_origins=["https://a.test", "https://b.test"])
    shared = Response(status=200, headers=((b"etag", b'"1"'),), body=b"{}", shared=True)
    a, b = simple("https://a.test"), simple("https://b.test")
    first = policy.annotate(policy.decide(a), shared)
    assert headers_of(first)["access-control-allow-origin"] == "https://a.test"
    assert first.shared and first.body is shared.body
    assert policy.annotate(policy.decide(a), shared) is first
    other = policy.annotate(policy.decide(b), shared)  # another origin: never the memo of a
    assert headers_of(other)["access-control-allow-origin"] == "https://b.test"
    fresh = Response(status=200, headers=((b"etag", b'"1"'),), body=b"{}")
    once, twice = (policy.annotate(policy.decide(a), fresh) for _ in range(2))
    assert once == twice and once is not twice and not once.shared
