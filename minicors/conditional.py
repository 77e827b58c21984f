"""Validators and conditional requests (RFC 9110 §8.8, §13) as pure functions of header strings.

Static files and the JSON API both answer `If-Match`, `If-None-Match`, `If-Modified-Since`,
`If-Unmodified-Since` and `If-Range` through this one module: each takes the raw header values
and the representation's facts (ETag, modification second) and returns a status to aim for.
No I/O, so tables of cases pin every rule.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate

# --- HTTP dates (RFC 9110 §5.6.7) -------------------------------------------------------------

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MONTH = "(" + "|".join(_MONTH_NAMES) + ")"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
# Recipients MUST accept all three formats; HTTP-date is case-sensitive.
_IMF_FIXDATE = re.compile(
    rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{{2}}) {_MONTH} ([0-9]{{4}}) {_TIME} GMT"
)
_RFC850 = re.compile(
    rf"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rf"([0-9]{{2}})-{_MONTH}-([0-9]{{2}}) {_TIME} GMT"
)
_ASCTIME = re.compile(
    rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MONTH} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})"
)


def format_http_date(timestamp: float) -> str | None:
    """IMF-fixdate of `timestamp` (whole seconds), or None if it cannot be one (year > 9999)."""
    return _format_seconds(int(timestamp))


@functools.lru_cache(maxsize=1024)  # files keep their mtime: format each second once
def _format_seconds(seconds: int) -> str | None:
    try:
        return formatdate(seconds, usegmt=True)
    except (OverflowError, ValueError, OSError):
        return None


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch of an HTTP-date in any of the three formats, or None if invalid."""
    value = value.strip(" \t")
    if m := _IMF_FIXDATE.fullmatch(value):
        day, month, year, hh, mm, ss = m.groups()
    elif m := _RFC850.fullmatch(value):
        day, month, yy, hh, mm, ss = m.groups()
        # Two-digit years: the classic 1970 pivot (RFC 9110 §5.6.7 asks for "not more than 50
        # years in the future", which this matches until 2020 + 50).
        year = str(1900 + int(yy) if int(yy) >= 70 else 2000 + int(yy))
    elif m := _ASCTIME.fullmatch(value):
        month, day, hh, mm, ss, year = m.groups()
    else:
        return None
    try:
        moment = datetime(
            int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=UTC
        )
    except ValueError:  # Feb 30, 25:00:00, second 60 ...
        return None
    return int(moment.timestamp())


# --- entity tags (RFC 9110 §8.8.3) ------------------------------------------------------------

_ETAG_ITEM = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityTag:
    opaque: str
    weak: bool = False

    def render(self) -> str:
        return f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'


def parse_etag(value: str) -> EntityTag | None:
    value = value.strip(" \t")
    weak = value.startswith("W/")
    body = value[2:] if weak else value
    if len(body) < 2 or body[0] != '"' or body[-1] != '"' or '"' in body[1:-1]:
        return None
    return EntityTag(opaque=body[1:-1], weak=weak)


def parse_etag_list(value: str) -> tuple[EntityTag, ...] | None:
    """The tags of an If-Match / If-None-Match list; None when the list is malformed.

    `*` is handled by the caller.  Empty list elements are skipped (RFC 9110 §5.6.1.2).
    """
    tags: list[EntityTag] = []
    pos = 0
    end = len(value)
    while pos < end:
        if value[pos] in " \t,":
            pos += 1
            continue
        m = _ETAG_ITEM.match(value, pos)
        if m is None:
            return None
        tags.append(EntityTag(opaque=m.group(2), weak=m.group(1) is not None))
        pos = m.end()
    return tuple(tags)


def _strong_match(tags: tuple[EntityTag, ...], etag: EntityTag) -> bool:
    # Strong comparison (§8.8.3.2): both strong and the opaque tags equal.
    return not etag.weak and any(not t.weak and t.opaque == etag.opaque for t in tags)


def _weak_match(tags: tuple[EntityTag, ...], etag: EntityTag) -> bool:
    return any(t.opaque == etag.opaque for t in tags)


# --- preconditions (RFC 9110 §13.2.2) ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditions:
    """The four precondition header values of a request, as received (None when absent)."""

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_unmodified_since: str | None = None


def evaluate_preconditions(
    conditions: Conditions, *, method: str, etag: EntityTag, last_modified: int | None
) -> int:
    """200 to proceed, 304 Not Modified or 412 Precondition Failed, in the §13.2.2 order."""
    # Step 1: If-Match (strong comparison; "*" is true because the representation exists).
    if conditions.if_match is not None:
        if conditions.if_match.strip(" \t") != "*":
            tags = parse_etag_list(conditions.if_match)
            if tags is None or not _strong_match(tags, etag):
                return 412
    # Step 2: If-Unmodified-Since, only without If-Match; an invalid date is ignored (§13.1.4).
    elif conditions.if_unmodified_since is not None and last_modified is not None:
        since = parse_http_date(conditions.if_unmodified_since)
        if since is not None and last_modified > since:
            return 412
    # Step 3: If-None-Match (weak comparison); a match means 304 for GET/HEAD, 412 otherwise.
    if conditions.if_none_match is not None:
        value = conditions.if_none_match.strip(" \t")
        tags = None if value == "*" else parse_etag_list(value)
        if value == "*" or (tags is not None and _weak_match(tags, etag)):
            return 304 if method in ("GET", "HEAD") else 412
    # Step 4: If-Modified-Since, only for GET/HEAD without If-None-Match.
    elif (
        conditions.if_modified_since is not None
        and method in ("GET", "HEAD")
        and last_modified is not None
    ):
        since = parse_http_date(conditions.if_modified_since)
        if since is not None and last_modified <= since:
            return 304
    return 200


def if_range_matches(value: str, *, etag: EntityTag, last_modified: int | None) -> bool:
    """Whether `If-Range: value` lets the Range apply (RFC 9110 §13.1.5).

    An entity-tag must match strongly (a weak one never does); a date must equal the
    Last-Modified second exactly.  Anything unparseable is false, so the client gets the whole,
    current representation rather than a piece of a changed one.
    """
    value = value.strip(" \t")
    if value.startswith(('"', "W/")):
        tag = parse_etag(value)
        return tag is not None and not tag.weak and not etag.weak and tag.opaque == etag.opaque
    date = parse_http_date(value)
    return date is not None and last_modified is not None and date == last_modified
