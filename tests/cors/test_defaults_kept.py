"""`+VALUE` keeps a list setting's default and adds to it; `loopback` names the default origins;
the credentials note tells the log what the browser will do with a credentialed request."""

from __future__ import annotations

import pytest

from minicors.cors import DEFAULT_EXPOSE, DEFAULT_METHODS, CorsKind, CorsPolicy
from minicors.errors import ConfigError
from minicors.messages import Request

LOCAL = "http://localhost:5173"


def simple(origin: str, *extra: tuple[str, str], host: str = "127.0.0.1:8000") -> Request:
    return Request.build("GET", "/x", [("Host", host), ("Origin", origin), *extra])


def allows(policy: CorsPolicy, origin: str) -> bool:
    return policy.decide(simple(origin)).kind is CorsKind.SIMPLE_ALLOWED


def test_a_plus_origin_keeps_the_loopback_default() -> None:
    replaced = CorsPolicy(allow_origins=["https://app.test"])
    kept = CorsPolicy(allow_origins=["+https://app.test"])
    named = CorsPolicy(allow_origins=["loopback", "https://app.test"])
    for origin in (LOCAL, "https://127.0.0.1:3000", "http://[::1]:8080"):
        assert not allows(replaced, origin)
        assert allows(kept, origin) and allows(named, origin)
    for policy in (replaced, kept, named):
        assert allows(policy, "https://app.test")
        assert not allows(policy, "https://evil.test")
    assert kept.origins == ("loopback", "https://app.test")


def test_plus_methods_and_exposed_headers_add_to_the_defaults() -> None:
    policy = CorsPolicy(allow_methods=["+PROPFIND"], expose_headers=["+X-Request-Id"])
    assert policy.methods == (*DEFAULT_METHODS, "PROPFIND")
    assert policy.expose == (*DEFAULT_EXPOSE, "X-Request-Id")
    replaced = CorsPolicy(allow_methods=["PROPFIND"], expose_headers=["X-Request-Id"])
    assert replaced.methods == ("PROPFIND",) and replaced.expose == ("X-Request-Id",)
    # One "+" value puts the whole list in adding mode.
    mixed = CorsPolicy(allow_methods=["+PROPFIND", "MKCOL"])
    assert mixed.methods == (*DEFAULT_METHODS, "PROPFIND", "MKCOL")


def test_a_plus_lower_case_method_is_not_warned_about() -> None:
    assert not CorsPolicy(allow_methods=["+patch"]).warnings  # PATCH stays listed too
    assert any("'PATCH'" in w for w in CorsPolicy(allow_methods=["patch"]).warnings)


def test_a_plus_header_keeps_the_echo_default() -> None:
    policy = CorsPolicy(allow_headers=["+X-Token"])
    assert policy.headers is None  # every requested header is allowed, X-Token included


def test_a_doubled_plus_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"'\+' only at the start"):
        CorsPolicy(allow_methods=["++PATCH"])


# -- credentials the policy does not allow --------------------------------------------------


def test_a_cookie_without_allowed_credentials_is_noted_with_the_fix() -> None:
    decision = CorsPolicy().decide(simple(LOCAL, ("Cookie", "s=1")))
    assert decision.kind is CorsKind.SIMPLE_ALLOWED  # answered as usual ...
    assert "the browser refuses the response" in decision.reason  # ... and the log says so
    assert decision.reason.endswith("add --allow-credentials")
    assert not CorsPolicy().decide(simple(LOCAL)).reason


def test_a_cookie_under_star_is_noted_with_the_origin_to_list() -> None:
    decision = CorsPolicy(allow_origins=["*"]).decide(simple(LOCAL, ("Cookie", "s=1")))
    assert "Access-Control-Allow-Origin '*'" in decision.reason
    assert decision.reason.endswith(f"--allow-origin {LOCAL} --allow-credentials")


@pytest.mark.parametrize(
    ("extra", "host", "noted"),
    [
        ((("Authorization", "Basic dTpw"),), "127.0.0.1:8000", True),  # the browser's own
        ((("Authorization", "Bearer t"),), "127.0.0.1:8000", False),  # a script's token
        ((("Cookie", "s=1"), ("Sec-Fetch-Mode", "navigate")), "127.0.0.1:8000", False),
        ((("Cookie", "s=1"), ("Sec-Fetch-Mode", "cors")), "127.0.0.1:8000", True),
        ((("Cookie", "s=1"),), "localhost:5173", False),  # same origin: no CORS check
    ],
)
def test_when_a_credential_is_noted(
    extra: tuple[tuple[str, str], ...], host: str, noted: bool
) -> None:
    decision = CorsPolicy().decide(simple(LOCAL, *extra, host=host))
    assert bool(decision.reason) is noted, decision.reason


def test_no_note_when_credentials_are_allowed() -> None:
    policy = CorsPolicy(allow_origins=[LOCAL], allow_credentials=True)
    assert not policy.decide(simple(LOCAL, ("Cookie", "s=1"))).reason


def test_noted_decisions_are_kept_and_bounded() -> None:
    policy = CorsPolicy(allow_origins=["http://*.test"])
    first = policy.decide(simple("http://a.test", ("Cookie", "s=1")))
    assert policy.decide(simple("http://a.test", ("Cookie", "s=2"))) is first
    for i in range(3000):  # many origins: the kept notes never grow past their bound
        policy.decide(simple(f"http://o{i}.test", ("Cookie", "s=1")))
    assert len(policy._notes._kept) <= 1024
