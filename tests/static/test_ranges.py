"""Tables for the pure validator, precondition and range rules (RFC 9110 §8.8, §13, §14)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicors.conditional import (
    Conditions,
    EntityTag,
    evaluate_preconditions,
    format_http_date,
    if_range_matches,
    parse_etag,
    parse_etag_list,
    parse_http_date,
)
from minicors.static.ranges import RangeDecision, parse_range

SUNDAY_1994 = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", SUNDAY_1994),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:37 GMT", SUNDAY_1994),  # obsolete RFC 850
        ("Sun Nov  6 08:49:37 1994", SUNDAY_1994),  # obsolete asctime
        ("  Sun, 06 Nov 1994 08:49:37 GMT ", SUNDAY_1994),  # OWS around the value
        ("Thursday, 01-Jan-70 00:00:00 GMT", 0),
        ("Monday, 01-Jan-24 00:00:00 GMT", 1704067200),  # two-digit year below 70 -> 20xx
        ("sun, 06 nov 1994 08:49:37 gmt", None),  # HTTP-date is case-sensitive
        ("Sun, 06 Nov 1994 08:49:37 UTC", None),
        ("Sun, 6 Nov 1994 08:49:37 GMT", None),  # day must be two digits
        ("Sun, 30 Feb 1994 08:49:37 GMT", None),  # no such day
        ("Sun, 06 Nov 1994 25:49:37 GMT", None),
        ("Sun, 06 Nov 1994 08:49:60 GMT", None),
        ("1994-11-06T08:49:37Z", None),
        ("", None),
        ("0", None),
    ],
)
def test_parse_http_date(text: str, expected: int | None) -> None:
    assert parse_http_date(text) == expected


def test_format_http_date_round_trips() -> None:
    assert format_http_date(SUNDAY_1994 + 0.9) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(1e20) is None


@given(st.integers(min_value=0, max_value=253402300799))
def test_http_date_round_trip_property(seconds: int) -> None:
    text = format_http_date(seconds)
    assert text is not None
    assert parse_http_date(text) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"abc"', EntityTag(opaque="abc")),
        ('W/"abc"', EntityTag(opaque="abc", weak=True)),
        ('""', EntityTag(opaque="")),
        ("abc", None),
        ('"ab"c"', None),
        ('w/"abc"', None),  # the weak indicator is case-sensitive
        ('"', None),
    ],
)
def test_parse_etag(text: str, expected: EntityTag | None) -> None:
    assert parse_etag(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"a"', ("a",)),
        ('"a", W/"b" ,"c"', ("a", "b", "c")),
        ('"a,b", "c"', ("a,b", "c")),  # a comma inside quotes belongs to the tag
        (' , "a",, ', ("a",)),  # empty list elements are skipped (§5.6.1.2)
        ("", ()),
        ('"a" "b"', None),
        ("a, b", None),
        ('"a", b', None),
    ],
)
def test_parse_etag_list(text: str, expected: tuple[str, ...] | None) -> None:
    tags = parse_etag_list(text)
    assert (None if tags is None else tuple(t.opaque for t in tags)) == expected


ETAG = EntityTag(opaque="v1")
WEAK = EntityTag(opaque="v1", weak=True)
LM = SUNDAY_1994
BEFORE = "Sat, 05 Nov 1994 08:49:37 GMT"
SAME = "Sun, 06 Nov 1994 08:49:37 GMT"
AFTER = "Mon, 07 Nov 1994 08:49:37 GMT"


@pytest.mark.parametrize(
    ("conditions", "method", "etag", "expected"),
    [
        (Conditions(), "GET", ETAG, 200),
        # If-Match: strong comparison, "*" true for an existing representation
        (Conditions(if_match='"v1"'), "GET", ETAG, 200),
        (Conditions(if_match='"v0", "v1"'), "GET", ETAG, 200),
        (Conditions(if_match='"v0"'), "GET", ETAG, 412),
        (Conditions(if_match='W/"v1"'), "GET", ETAG, 412),  # weak never matches strongly
        (Conditions(if_match='"v1"'), "GET", WEAK, 412),
        (Conditions(if_match="*"), "GET", ETAG, 200),
        (Conditions(if_match="garbage"), "GET", ETAG, 412),
        # If-Unmodified-Since, only evaluated without If-Match
        (Conditions(if_unmodified_since=SAME), "GET", ETAG, 200),
        (Conditions(if_unmodified_since=AFTER), "GET", ETAG, 200),
        (Conditions(if_unmodified_since=BEFORE), "GET", ETAG, 412),
        (Conditions(if_unmodified_since="not a date"), "GET", ETAG, 200),
        (Conditions(if_match='"v1"', if_unmodified_since=BEFORE), "GET", ETAG, 200),
        (Conditions(if_match='"v0"', if_unmodified_since=AFTER), "GET", ETAG, 412),
        # If-None-Match: weak comparison; 304 for GET/HEAD, 412 for other methods
        (Conditions(if_none_match='"v1"'), "GET", ETAG, 304),
        (Conditions(if_none_match='W/"v1"'), "HEAD", ETAG, 304),
        (Conditions(if_none_match='"v1"'), "GET", WEAK, 304),
        (Conditions(if_none_match='"v0", "v1"'), "GET", ETAG, 304),
        (Conditions(if_none_match='"v0"'), "GET", ETAG, 200),
        (Conditions(if_none_match="*"), "GET", ETAG, 304),
        (Conditions(if_none_match='"v1"'), "POST", ETAG, 412),
        (Conditions(if_none_match="garbage"), "GET", ETAG, 200),
        # If-Modified-Since: GET/HEAD only, ignored when If-None-Match is present
        (Conditions(if_modified_since=SAME), "GET", ETAG, 304),
        (Conditions(if_modified_since=AFTER), "HEAD", ETAG, 304),
        (Conditions(if_modified_since=BEFORE), "GET", ETAG, 200),
        (Conditions(if_modified_since="yesterday"), "GET", ETAG, 200),
        (Conditions(if_modified_since=SAME), "POST", ETAG, 200),
        (Conditions(if_none_match='"v0"', if_modified_since=SAME), "GET", ETAG, 200),
        (Conditions(if_none_match='"v1"', if_modified_since=BEFORE), "GET", ETAG, 304),
        # Order: a failed If-Match wins over a matching If-None-Match (step 1 before step 3)
        (Conditions(if_match='"v0"', if_none_match='"v1"'), "GET", ETAG, 412),
        (Conditions(if_unmodified_since=BEFORE, if_modified_since=SAME), "GET", ETAG, 412),
        (Conditions(if_match='"v1"', if_none_match='"v1"'), "GET", ETAG, 304),
    ],
)
def test_preconditions(conditions: Conditions, method: str, etag: EntityTag, expected: int) -> None:
    assert (
        evaluate_preconditions(conditions, method=method, etag=etag, last_modified=LM) == expected
    )


def test_preconditions_without_last_modified_ignore_dates() -> None:
    for conditions in (
        Conditions(if_modified_since=AFTER),
        Conditions(if_unmodified_since=BEFORE),
    ):
        assert (
            evaluate_preconditions(conditions, method="GET", etag=ETAG, last_modified=None) == 200
        )


@pytest.mark.parametrize(
    ("value", "etag", "expected"),
    [
        ('"v1"', ETAG, True),
        ('"v0"', ETAG, False),
        ('W/"v1"', ETAG, False),  # a weak tag never satisfies If-Range
        ('"v1"', WEAK, False),
        (SAME, ETAG, True),  # a date must match Last-Modified exactly
        (AFTER, ETAG, False),
        (BEFORE, ETAG, False),
        ("Sunday, 06-Nov-94 08:49:37 GMT", ETAG, True),
        ("garbage", ETAG, False),
        ("", ETAG, False),
    ],
)
def test_if_range(value: str, etag: EntityTag, expected: bool) -> None:
    assert if_range_matches(value, etag=etag, last_modified=LM) is expected


WHOLE = RangeDecision(status=200, start=0, length=100)
NONE = RangeDecision(status=416)


def part(start: int, length: int) -> RangeDecision:
    return RangeDecision(status=206, start=start, length=length)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, WHOLE),
        ("bytes=0-0", part(0, 1)),
        ("bytes=0-9", part(0, 10)),
        ("bytes=10-", part(10, 90)),
        ("bytes=-10", part(90, 10)),
        ("bytes=-100", part(0, 100)),
        ("bytes=-1000", part(0, 100)),  # a suffix longer than the file is the whole file
        ("bytes=99-", part(99, 1)),
        ("bytes=90-1000", part(90, 10)),  # last-pos past the end is clamped
        ("bytes=0-99999999999999999999999999999", part(0, 100)),  # huge numbers
        ("BYTES=0-9", part(0, 10)),  # range units are case-insensitive
        ("bytes= 0-9", part(0, 10)),  # OWS around list elements
        ("bytes=0-9, ", part(0, 10)),  # an empty list element is ignored
        # unsatisfiable -> 416
        ("bytes=100-", NONE),
        ("bytes=100-200", NONE),
        ("bytes=-0", NONE),
        ("bytes=99999999999999999999999999999-", NONE),
        ("bytes=" + "9" * 5000 + "-", NONE),  # no int() of 5000 digits
        # ignored -> 200 whole
        ("bytes=5-2", WHOLE),  # last below first is invalid (§14.1.1)
        ("bytes=a-b", WHOLE),
        ("bytes=1", WHOLE),
        ("bytes=-", WHOLE),
        ("bytes=", WHOLE),
        ("bytes=0 - 9", WHOLE),
        ("bytes=+1-2", WHOLE),
        ("bytes=0x10-", WHOLE),
        ("bytes=\u0661-2", WHOLE),  # non-ASCII digits are not digits here
        ("bits=0-1", WHOLE),  # unknown unit
        ("bytes 0-1", WHOLE),
        ("0-1", WHOLE),
        ("bytes=0-1,5-9", WHOLE),  # more than one range: our documented choice
        ("bytes=0-1,200-300", WHOLE),
        ("bytes=" + ",".join(f"{i}-{i}" for i in range(1000)), WHOLE),  # many ranges
    ],
)
def test_parse_range(value: str | None, expected: RangeDecision) -> None:
    assert parse_range(value, 100) == expected


def test_range_on_empty_file_is_ignored() -> None:
    assert parse_range("bytes=0-", 0) == RangeDecision(status=200, start=0, length=0)
    assert parse_range("bytes=-5", 0) == RangeDecision(status=200, start=0, length=0)


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (part(0, 10), b"bytes 0-9/100"),
        (part(99, 1), b"bytes 99-99/100"),
        (NONE, b"bytes */100"),
    ],
)
def test_content_range(decision: RangeDecision, expected: bytes) -> None:
    assert decision.content_range(100) == expected


@given(st.integers(min_value=1, max_value=10_000), st.text(max_size=30))
def test_parse_range_never_points_outside_the_file(size: int, spec: str) -> None:
    decision = parse_range("bytes=" + spec, size)
    assert decision.status in (200, 206, 416)
    if decision.status == 206:
        assert 0 <= decision.start < size
        assert 1 <= decision.length <= size - decision.start
