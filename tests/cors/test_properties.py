"""Universal CORS rules as hypothesis properties (modest example counts: this runs in seconds)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from minicors.cors import CorsKind, CorsPolicy
from minicors.cors.headers import merge_vary, split_list
from minicors.messages import Request, Response

LABEL_CHARS = "abcz019-_.`}@:/ XY"
labels = st.text(alphabet=LABEL_CHARS, min_size=0, max_size=8)
hosts = st.lists(labels, min_size=1, max_size=4).map(".".join)
schemes = st.sampled_from(["https", "http", "HTTPS", "wss", "file", ""])
ports = st.one_of(st.just(""), st.integers(min_value=0, max_value=70000).map(lambda p: f":{p}"))
origins = st.one_of(
    st.builds(lambda s, h, p: f"{s}://{h}{p}", schemes, hosts, ports),
    st.builds(lambda h: f"https://{h}.example.com", hosts),
    st.sampled_from(["null", "Null", "", "https://a.example.com", "http://localhost:3000"]),
    st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=30),  # header bytes
)

POLICIES = [
    CorsPolicy(),
    CorsPolicy(allow_origins=["*"]),
    CorsPolicy(allow_origins=["null", "https://a.example.com"], allow_credentials=True),
    CorsPolicy(allow_origins=["https://*.example.com", "http://localhost:*"]),
    CorsPolicy(allow_origin_regex=r"https://[a-z]+\.example\.com(:[0-9]+)?"),
]
policies = st.sampled_from(POLICIES)


def request_for(origin: str, preflight: bool) -> Request:
    if preflight:
        return Request.build(
            "OPTIONS", "/", [("Origin", origin), ("Access-Control-Request-Method", "PUT")]
        )
    return Request.build("GET", "/", [("Origin", origin)])


def cors_headers(response: Response) -> dict[bytes, bytes]:
    return {n: v for n, v in response.headers if n.startswith(b"access-control-")}


def response_for(policy: CorsPolicy, request: Request, base: Response) -> Response:
    decision = policy.decide(request)
    if decision.is_preflight:
        return policy.preflight_response(decision)
    return policy.annotate(decision, base)


@settings(max_examples=300, deadline=None)
@given(policies, origins, st.booleans())
def test_acao_is_star_or_exactly_the_origin(policy: CorsPolicy, origin: str, pre: bool) -> None:
    response = response_for(policy, request_for(origin, pre), Response(status=200))
    acao = [v for n, v in response.headers if n == b"access-control-allow-origin"]
    assert acao in ([], [b"*"], [origin.encode("latin-1")])
    if acao == [b"*"]:
        assert policy.constant
        assert b"access-control-allow-credentials" not in cors_headers(response)


@settings(max_examples=300, deadline=None)
@given(policies, origins, st.booleans())
def test_denied_origin_gets_no_allow_header(policy: CorsPolicy, origin: str, pre: bool) -> None:
    decision = policy.decide(request_for(origin, pre))
    if decision.kind in (CorsKind.SIMPLE_DENIED, CorsKind.PREFLIGHT_DENIED):
        response = response_for(policy, request_for(origin, pre), Response(status=200))
        assert not [n for n in cors_headers(response) if n.startswith(b"access-control-allow-")]
        assert decision.reason.startswith("cors: ")
        assert not re.search(r"[\x00-\x1f\x7f-\U0010ffff]", decision.reason)


domains = st.builds(
    lambda front, tld: ".".join([*front, tld]),
    st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True), max_size=2),
    st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True),  # a numeric last label is an IPv4
)


near_misses = st.builds(
    lambda scheme, prefix, sep, suffix: (scheme, prefix, sep, suffix),
    st.sampled_from(["https", "http", "HTTPS", "wss"]),
    hosts,
    st.sampled_from([".", "", "-", "_", ".."]),
    st.sampled_from(["", ".", ".evil.com", ":443", ":8443", "/", "@evil.com", "%2e"]),
)


@settings(max_examples=300, deadline=None)
@given(domains, st.one_of(near_misses, origins), st.booleans())
def test_subdomain_pattern_stays_under_its_domain(
    domain: str, made: tuple[str, str, str, str] | str, pre: bool
) -> None:
    origin = made if isinstance(made, str) else f"{made[0]}://{made[1]}{made[2]}{domain}{made[3]}"
    policy = CorsPolicy(allow_origins=[f"https://*.{domain}"], allow_credentials=True)
    decision = policy.decide(request_for(origin, pre))
    if decision.kind in (CorsKind.SIMPLE_ALLOWED, CorsKind.PREFLIGHT_ALLOWED):
        host = origin.removeprefix("https://")
        assert origin.startswith("https://")
        assert host.endswith(f".{domain}")
        assert re.fullmatch(r"([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+", host[: -len(domain)])


@settings(max_examples=200, deadline=None)
@given(domains.map(lambda d: f"https://{d}"))
def test_subdomain_pattern_allows_a_generated_subdomain(base: str) -> None:
    """The converse, so the property above cannot pass by denying everything."""
    policy = CorsPolicy(allow_origins=[base.replace("https://", "https://*.")])
    sub = base.replace("https://", "https://x-1.")
    assert policy.decide(request_for(sub, False)).kind is CorsKind.SIMPLE_ALLOWED
    assert policy.decide(request_for(base, False)).kind is CorsKind.SIMPLE_DENIED


REGEXES = [r"https://[a-z]+\.example\.com", r"https?://.*", r"http://localhost:[0-9]+", r"n.*"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(REGEXES), origins, st.booleans())
def test_regex_allows_only_full_matches(regex: str, origin: str, pre: bool) -> None:
    policy = CorsPolicy(allow_origin_regex=regex)
    decision = policy.decide(request_for(origin, pre))
    if decision.kind in (CorsKind.SIMPLE_ALLOWED, CorsKind.PREFLIGHT_ALLOWED):
        assert re.fullmatch(regex, origin)
        assert origin != "null"


vary_values = st.lists(
    st.sampled_from([b"Accept-Encoding", b"origin", b"ORIGIN, Accept", b"", b"*", b"Cookie"]),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(policies, st.one_of(st.none(), origins), vary_values, st.sampled_from([200, 304, 404]))
def test_vary_contains_origin_for_origin_dependent_policies(
    policy: CorsPolicy, origin: str | None, inner: list[bytes], status: int
) -> None:
    headers = [] if origin is None else [("Origin", origin)]
    request = Request.build("GET", "/", headers)
    base = Response(status=status, headers=tuple((b"vary", v) for v in inner))
    response = policy.annotate(policy.decide(request), base)
    vary = [v for n, v in response.headers if n == b"vary"]
    assert len(vary) <= 1
    tokens = [t.lower() for t in split_list(vary[0].decode())] if vary else []
    assert len(tokens) == len(set(tokens))
    if policy.constant:
        assert vary == ([merge_vary(inner, b"")] if merge_vary(inner, b"") else [])
    else:
        assert "origin" in tokens or tokens == ["*"]
