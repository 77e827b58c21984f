"""The request-target is parsed once, one way: the reading every part of minicors shares."""

from __future__ import annotations

import pytest

from minicors.errors import HttpError, ProtocolError
from minicors.messages import (
    INTERNAL_ERROR,
    Target,
    TargetForm,
    error_response,
    parse_target,
    target_of,
)


@pytest.mark.parametrize(
    ("raw", "form", "path", "query", "segments", "canonical"),
    [
        ("/", TargetForm.ORIGIN, "/", "", (), "/"),
        ("/a/b?x=1&y", TargetForm.ORIGIN, "/a/b", "x=1&y", ("a", "b"), "/a/b"),
        ("/a/b/", TargetForm.ORIGIN, "/a/b/", "", ("a", "b"), "/a/b/"),
        ("//a///b", TargetForm.ORIGIN, "//a///b", "", ("a", "b"), "/a/b"),
        ("/%61pi/%7Ex", TargetForm.ORIGIN, "/%61pi/%7Ex", "", ("api", "~x"), "/api/~x"),
        # An encoded separator stays inside its segment, and is spelled encoded again.
        ("/a%2Fb", TargetForm.ORIGIN, "/a%2Fb", "", ("a/b",), "/a%2Fb"),
        (
            "/a%2fb/..%2F..%2Fx",
            TargetForm.ORIGIN,
            "/a%2fb/..%2F..%2Fx",
            "",
            ("a/b", "../../x"),
            "/a%2Fb/..%2F..%2Fx",
        ),
        # Dot-segments are kept as sent (static files refuse them; browsers never send them).
        ("/a/../b", TargetForm.ORIGIN, "/a/../b", "", ("a", "..", "b"), "/a/../b"),
        ("/%2e%2e/b", TargetForm.ORIGIN, "/%2e%2e/b", "", ("..", "b"), "/../b"),
        ("/a+b%20c", TargetForm.ORIGIN, "/a+b%20c", "", ("a+b c",), "/a+b%20c"),  # + is not space
        ("/caf%c3%a9", TargetForm.ORIGIN, "/caf%c3%a9", "", ("café",), "/caf%C3%A9"),
        ("/%ff", TargetForm.ORIGIN, "/%ff", "", ("\udcff",), "/%FF"),  # not UTF-8: kept exactly
        ("http://h.test:8000/a/b?q", TargetForm.ABSOLUTE, "/a/b", "q", ("a", "b"), "/a/b"),
        ("HTTPS://h.test", TargetForm.ABSOLUTE, "/", "", (), "/"),
        ("http://h.test?x=1", TargetForm.ABSOLUTE, "/", "x=1", (), "/"),
        ("*", TargetForm.ASTERISK, "", "", (), "*"),
    ],
)
def test_parse_target(
    raw: str,
    form: TargetForm,
    path: str,
    query: str,
    segments: tuple[str, ...],
    canonical: str,
) -> None:
    target = parse_target(raw)
    assert (target.form, target.path, target.query) == (form, path, query)
    assert (target.segments, target.canonical) == (segments, canonical)
    assert target.raw == raw


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("example.com/a", "must be a path"),
        ("a", "must be a path"),
        ("/a#frag", "'#'"),
        ("ftp://h.test/a", "not http(s)"),
        ("h.test:443", "must be a path"),
    ],
)
def test_targets_that_are_not_a_resource_are_400(raw: str, why: str) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_target(raw)
    assert err.value.status == 400
    assert why in err.value.message


def test_targets_are_remembered_but_not_long_ones() -> None:
    short = "/remembered/" + "x" * 10
    assert target_of(short) is target_of(short)
    long = "/" + "y" * 600
    first: Target = target_of(long)
    assert first == parse_target(long)
    assert target_of(long) is not first  # parsed again: a hostile target is not kept


def test_error_response_is_json_under_the_api_and_text_elsewhere() -> None:
    error = HttpError(405, "nope \u00e9", headers=((b"allow", b"GET"),))
    text = error_response(error)
    assert text.status == 405
    assert text.body == "nope \u00e9\n".encode()
    assert (b"allow", b"GET") in text.headers
    assert text.header(b"content-type") == b"text/plain; charset=utf-8"
    as_json = error_response(error, as_json=True)
    assert as_json.body == '{"error":"nope \u00e9"}'.encode()
    assert as_json.header(b"content-type") == b"application/json"
    assert as_json.header(b"cache-control") == b"no-cache"
    lone = error_response(HttpError(404, "no \udcff"), as_json=True)
    assert lone.body == b'{"error":"no \\udcff"}'  # a lone surrogate cannot be UTF-8
    assert error_response(INTERNAL_ERROR, log_note="x").log_note == "x"
