"""`minicors check`: the explainer's verdicts, the headers it shows and the fixes it suggests."""

from __future__ import annotations

import pytest

from minicors.cors import CheckQuery, CheckResult, CorsPolicy, CorsRouter, explain
from minicors.errors import ConfigError

DEFAULT = CorsRouter(CorsPolicy())
APP = CorsRouter(CorsPolicy(allow_origins=["https://app.test"]))
STAR = CorsRouter(CorsPolicy(allow_origins=["*"], allow_headers=["*"]))
STRICT = CorsRouter(
    CorsPolicy(
        allow_origins=["https://app.test"],
        allow_methods=["GET", "PATCH"],
        allow_headers=["x-token"],
        allow_credentials=True,
    )
)
ROUTED = CorsRouter(
    CorsPolicy(allow_origins=["*"]),
    [("/api/**", CorsPolicy(allow_origins=["https://app.test"], allow_methods=["GET"]))],
)


def check(
    router: CorsRouter, origin: str, method: str = "GET", *headers: str, **kw: object
) -> CheckResult:
    return explain(router, CheckQuery(origin=origin, method=method, headers=headers, **kw))  # type: ignore[arg-type]


def fixes(result: CheckResult) -> list[str]:
    return [
        line.removeprefix("fix: ")
        for line in result.report.splitlines()
        if line.startswith("fix: ")
    ]


def test_loopback_get_is_allowed_without_preflight() -> None:
    result = check(DEFAULT, "http://localhost:5173")
    assert result.allowed
    lines = result.report.splitlines()
    assert lines[0] == "ALLOWED: GET / from http://localhost:5173 (credentials: omit)"
    assert "policy: from the command line (defaults where no flag is given)" in lines
    assert "preflight: not needed (safelisted method and headers)" in lines
    assert "  < access-control-allow-origin: http://localhost:5173" in lines
    assert "  < vary: Origin" in lines
    assert fixes(result) == []
    assert "X-Total-Count" in result.report  # the default exposed headers are readable


def test_allowed_preflight_shows_both_exchanges_exactly() -> None:
    result = check(
        STRICT, "https://app.test", "PATCH", "X-Token: 1", credentials=True, path="/api/items"
    )
    assert result.allowed, result.report
    lines = result.report.splitlines()
    preflight = lines.index("  > OPTIONS /api/items HTTP/1.1")
    assert lines[preflight : preflight + 14] == [
        "  > OPTIONS /api/items HTTP/1.1",
        "  > origin: https://app.test",
        "  > accept: */*",
        "  > access-control-request-method: PATCH",
        "  > access-control-request-headers: x-token",
        "  < HTTP/1.1 204 No Content",
        "  < access-control-allow-origin: https://app.test",
        "  < access-control-allow-methods: GET, PATCH",
        "  < access-control-allow-headers: x-token",
        "  < access-control-max-age: 600",
        "  < access-control-allow-credentials: true",
        "  < content-length: 0",
        "  < vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        "  browser: preflight passes",
    ]
    assert "  > PATCH /api/items HTTP/1.1" in lines
    assert "  < access-control-allow-credentials: true" in lines[preflight + 14 :]


@pytest.mark.parametrize(
    ("router", "origin", "method", "headers", "credentials", "expected_fixes"),
    [
        (
            DEFAULT,
            "https://app.test",
            "GET",
            (),
            False,
            ["add --allow-origin +https://app.test"],  # "+": the loopback default stays
        ),
        (APP, "https://other.test", "GET", (), False, ["add --allow-origin https://other.test"]),
        (STRICT, "https://app.test", "PUT", (), True, ["add --allow-method PUT"]),
        (
            STRICT,
            "https://app.test",
            "patch",
            (),
            True,
            [
                "in the page, write the method as 'PATCH': fetch() upper-cases only DELETE, "
                "GET, HEAD, OPTIONS, POST and PUT, so 'patch' is sent as it is and methods "
                "compare case-sensitively"
            ],
        ),
        (STRICT, "https://app.test", "GET", ("X-Other: 1",), True, ["add --allow-header x-other"]),
        (
            STRICT,
            "https://app.test",
            "GET",
            ("X-B", "X-A", "X-Token"),
            False,
            ["add --allow-header x-a --allow-header x-b"],
        ),
        (APP, "https://app.test", "GET", (), True, ["add --allow-credentials"]),
        (
            STAR,
            "https://x.test",
            "GET",
            (),
            True,
            [
                "replace --allow-origin '*' with --allow-origin https://x.test "
                "--allow-credentials ('*' never works with credentials: list the origin)"
            ],
        ),
        (
            STAR,
            "https://x.test",
            "GET",
            ("Authorization: Bearer t",),
            False,
            ["add --allow-header authorization ('*' never covers Authorization)"],
        ),
        (
            APP,
            "null",
            "GET",
            (),
            False,
            [
                "add --allow-origin null (this trusts every sandboxed iframe and file: page; "
                "prefer a real origin)"
            ],
        ),
        (
            STRICT,
            "https://evil.test",
            "DELETE",
            ("Content-Type: application/json",),
            True,
            [
                "add --allow-origin https://evil.test",
                "add --allow-method DELETE",
                "add --allow-header content-type",
            ],
        ),
        (
            ROUTED,
            "https://app.test",
            "PUT",
            (),
            False,
            ["add --allow-method PUT"],  # a route built in code: its own settings
        ),
    ],
)
def test_refusals_and_the_smallest_fix(
    router: CorsRouter,
    origin: str,
    method: str,
    headers: tuple[str, ...],
    credentials: bool,
    expected_fixes: list[str],
) -> None:
    path = "/api/items" if router is ROUTED else "/"
    result = check(router, origin, method, *headers, credentials=credentials, path=path)
    assert not result.allowed
    assert result.report.startswith("REFUSED: ")
    assert fixes(result) == expected_fixes
    assert any(line.startswith("reason: ") for line in result.report.splitlines())


def test_suggested_fixes_really_allow_the_request() -> None:
    before = check(
        STRICT, "https://evil.test", "DELETE", "Content-Type: application/json", credentials=True
    )
    assert not before.allowed
    fixed = CorsRouter(
        CorsPolicy(
            allow_origins=["https://app.test", "https://evil.test"],
            allow_methods=["GET", "PATCH", "DELETE"],
            allow_headers=["x-token", "content-type"],
            allow_credentials=True,
        )
    )
    after = check(
        fixed, "https://evil.test", "DELETE", "Content-Type: application/json", credentials=True
    )
    assert after.allowed, after.report


def test_route_policy_is_named_and_other_paths_use_the_default() -> None:
    routed = check(ROUTED, "https://app.test", "GET", path="/api/items?x=1")
    assert routed.allowed
    assert "policy: route /api/**" in routed.report
    assert "  < access-control-allow-origin: https://app.test" in routed.report
    default = check(ROUTED, "https://app.test", "GET", path="/index.html")
    assert "policy: from the command line" in default.report
    assert "  < access-control-allow-origin: *" in default.report


@pytest.mark.parametrize(
    ("headers", "preflight", "acrh"),
    [
        ((), False, None),
        (("Content-Type: text/plain;charset=utf-8",), False, None),
        (("Content-Type: multipart/form-data; boundary=x",), False, None),
        (("Content-Type: application/x-www-form-urlencoded",), False, None),
        (("Content-Type: application/json",), True, "content-type"),
        (('Content-Type: text/plain; charset="utf-8"',), True, "content-type"),  # `"` is unsafe
        (("Content-Type: text/plain; x=" + "a" * 120,), True, "content-type"),  # > 128 bytes
        (("Content-Type",), True, "content-type"),  # no value: empty, not a MIME type
        (("Accept: application/json",), False, None),
        (("Accept: {json}",), True, "accept"),
        (("Accept-Language: en-US,fr;q=0.5",), False, None),
        (("Accept-Language: en_US",), True, "accept-language"),
        (("Range: bytes=0-",), False, None),
        (("Range: bytes=0-499",), False, None),
        (("Range: bytes=-500",), True, "range"),
        (("Range: bytes=5-1",), True, "range"),
        (("Range: bytes=0-1,4-5",), True, "range"),
        (("Range: Bytes=0-",), True, "range"),
        (("Range: bytes = 0-",), True, "range"),
        (("Accept-Language: " + "a" * 128,), False, None),
        (("Accept-Language: " + "a" * 129,), True, "accept-language"),
        (("X-B: 1", "x-a: 2", "Authorization: t"), True, "authorization,x-a,x-b"),
        (("Accept: " + "a" * 120,) * 9, True, "accept"),  # safelisted values over 1024 bytes
        (("Cookie: a=1", "Origin: https://evil.test", "Sec-Fetch-Mode: x"), False, None),
    ],
)
def test_preflight_decision_follows_the_fetch_safelists(
    headers: tuple[str, ...], preflight: bool, acrh: str | None
) -> None:
    report = check(DEFAULT, "http://localhost:3000", "POST", *headers).report
    assert ("preflight: needed" in report) is preflight
    lines = report.splitlines()
    if acrh is None:
        assert not any("access-control-request-headers" in line for line in lines)
    else:
        assert f"  > access-control-request-headers: {acrh}" in lines


def test_forbidden_headers_are_ignored_with_a_note() -> None:
    report = check(DEFAULT, "http://localhost:3000", "GET", "Cookie: a=1").report
    assert (
        "note: scripts cannot set Cookie (a forbidden request-header): ignored; use --credentials"
        in report
    )
    assert "> cookie" not in report


def test_forbidden_method_is_refused_without_a_fix() -> None:
    result = check(STAR, "https://x.test", "TRACE")
    assert not result.allowed
    assert fixes(result) == ["cannot: fetch() throws for a forbidden method (Fetch §Methods)"]


def test_method_and_origin_are_normalised_like_a_browser() -> None:
    result = check(APP, "HTTPS://App.test/", "put")
    assert result.allowed
    assert (
        "note: a browser sends this origin as https://app.test (not 'HTTPS://App.test/')"
        in result.report
    )
    assert "note: fetch() normalises the method 'put' to PUT" in result.report
    assert "  > access-control-request-method: PUT" in result.report


@pytest.mark.parametrize(
    ("query", "message_part"),
    [
        (CheckQuery(origin="app.test"), "is not an origin a page can have"),
        (CheckQuery(origin="https://*.app.test"), "is not an origin a page can have"),
        (CheckQuery(origin="https://a.test/path"), "is not an origin a page can have"),
        (CheckQuery(origin="https://a.test", method="GET PUT"), "is not a method token"),
        (CheckQuery(origin="https://a.test", headers=("X Y: 1",)), "has no valid name"),
        (CheckQuery(origin="https://a.test", headers=("X: a\r\nY: b",)), "CR, LF, NUL"),
        (CheckQuery(origin="https://a.test", headers=("X: \u20ac",)), "above U+00FF"),
    ],
)
def test_bad_input_is_a_config_error(query: CheckQuery, message_part: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        explain(DEFAULT, query)
    assert message_part in str(err.value)
    assert "\n" not in str(err.value)


def test_refused_preflight_report_shows_the_403_and_the_browser_view() -> None:
    result = check(APP, "https://evil.test", "PUT")
    lines = result.report.splitlines()
    assert "  < HTTP/1.1 403 Forbidden" in lines
    assert (
        "  browser: preflight fails: the response has no Access-Control-Allow-Origin header"
        in lines
    )
    assert "actual request: not sent (the preflight failed)" in lines
    assert "reason: cors: origin https://evil.test not allowed" in lines
