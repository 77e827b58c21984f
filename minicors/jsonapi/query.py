"""The list query language of a collection: parse the query string once, then filter, sort, page.

Both halves are pure.  `parse_query` turns `?author.name=ann&views_gte=10&_sort=views&_order=desc
&_page=2` into a frozen `ListQuery` (or a 400 naming the bad parameter); `run_query` applies it to
a list and returns the page and the total.  Semantics follow json-server 0.17 where it is sound
(see README "JSON API"): repeated `field=value` means OR; `_ne`, `_gte`, `_lte` repeated mean AND.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from ..errors import HttpError
from .like import LikeError, LikePattern, compile_like
from .store import JsonValue, encode

MAX_PARAMS = 100  # query parameters per request; past it: 400
DEFAULT_PAGE_SIZE = 10  # `_page` without `_limit`, as json-server
RESERVED = frozenset({"_sort", "_order", "_page", "_limit", "_start", "_end", "q"})
# json-server parameters minicors does not implement: a 400 says so, where treating them as
# field filters would silently return an empty list.
UNSUPPORTED = frozenset({"_embed", "_expand", "_per_page", "_where", "_dependent"})
# Suffix -> operator.  Checked longest first so that "views_gte" is never read as "views_gt" + "e".
OPERATORS = (
    ("_like", "like"),
    ("_gte", "gte"),
    ("_lte", "lte"),
    ("_ne", "ne"),
    ("_gt", "gt"),
    ("_lt", "lt"),
)
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

Path = tuple[str, ...]
MISSING = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    """`field[_op]=value` (all the values given for the same name, in order)."""

    path: Path
    op: str  # eq | ne | gte | lte | gt | lt | like
    values: tuple[str, ...]
    patterns: tuple[LikePattern, ...] = ()  # the compiled values, for `like`


@dataclass(frozen=True, slots=True, kw_only=True)
class SortKey:
    path: Path
    descending: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ListQuery:
    filters: tuple[Filter, ...] = ()
    text: tuple[str, ...] = ()  # `q` terms, each must occur (case-insensitive)
    sort: tuple[SortKey, ...] = ()
    page: int | None = None  # 1-based; when set the response carries Link
    limit: int | None = None
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListPage:
    items: list[JsonValue]
    total: int  # matching items before paging: X-Total-Count
    page: int | None = None
    last_page: int | None = None


# --- parsing ------------------------------------------------------------------------------------
def parse_query(query: str) -> ListQuery:
    """The `ListQuery` for a raw (percent-encoded) query string, or HttpError 400."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_PARAMS)
    except ValueError:
        raise HttpError(400, f"too many query parameters (the limit is {MAX_PARAMS})") from None
    grouped: dict[tuple[str, str], list[str]] = {}
    reserved: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in UNSUPPORTED:
            raise HttpError(
                400, f'{name} is not supported; see README "JSON API" for the query language'
            )
        if name in RESERVED:
            reserved.setdefault(name, []).append(value)
            continue
        field, op = name, "eq"
        for suffix, name_op in OPERATORS:
            if name.endswith(suffix) and len(name) > len(suffix):
                field, op = name[: -len(suffix)], name_op
                break
        grouped.setdefault((field, op), []).append(value)
    filters = tuple(_filter(field, op, values) for (field, op), values in grouped.items())
    page = _integer(reserved, "_page", minimum=1)
    limit = _integer(reserved, "_limit", minimum=0)
    return ListQuery(
        filters=filters,
        text=tuple(term.casefold() for term in reserved.get("q", ()) if term),
        sort=_sort_keys(reserved),
        page=page,
        limit=DEFAULT_PAGE_SIZE if page is not None and limit is None else limit,
        start=_integer(reserved, "_start", minimum=0),
        end=_integer(reserved, "_end", minimum=0),
    )


def _filter(field: str, op: str, values: list[str]) -> Filter:
    path = tuple(field.split("."))
    if op != "like":
        return Filter(path=path, op=op, values=tuple(values))
    try:
        patterns = tuple(compile_like(value) for value in values)
    except LikeError as exc:
        raise HttpError(400, f"bad {field}_like pattern: {exc}") from None
    return Filter(path=path, op=op, values=tuple(values), patterns=patterns)


def _integer(reserved: dict[str, list[str]], name: str, *, minimum: int) -> int | None:
    values = reserved.get(name)
    if not values:
        return None
    text = values[-1]
    if not text.isascii() or not text.isdigit() or len(text) > 12 or int(text) < minimum:
        kind = "a positive integer" if minimum else "a non-negative integer"
        raise HttpError(400, f"{name} must be {kind}, got {text!r}")
    return int(text)


def _sort_keys(reserved: dict[str, list[str]]) -> tuple[SortKey, ...]:
    fields = [f.strip() for value in reserved.get("_sort", ()) for f in value.split(",")]
    orders = [o.strip().lower() for value in reserved.get("_order", ()) for o in value.split(",")]
    for order in orders:
        if order not in ("asc", "desc"):
            raise HttpError(400, f"_order must be asc or desc (comma-separated), got {order!r}")
    keys: list[SortKey] = []
    for index, field in enumerate(f for f in fields if f):
        # `-views` also means descending (json-server 1.x); `_order` gives one order per field.
        descending = field.startswith("-") or (index < len(orders) and orders[index] == "desc")
        keys.append(SortKey(path=tuple(field.removeprefix("-").split(".")), descending=descending))
    return tuple(keys)


# --- running ------------------------------------------------------------------------------------
def run_query(items: Sequence[JsonValue], query: ListQuery) -> ListPage:
    """Filter, search, sort, then page `items` (the collection itself is never changed)."""
    tests = [_test(f) for f in query.filters]
    selected = [
        item
        for item in items
        if all(test(item) for test in tests) and all(_contains(item, t) for t in query.text)
    ]
    for key in reversed(query.sort):  # stable sorts, least significant key first
        selected = _sorted(selected, key)
    total = len(selected)
    if query.page is not None:
        limit = query.limit if query.limit is not None else DEFAULT_PAGE_SIZE
        first = (query.page - 1) * limit
        last_page = max(1, math.ceil(total / limit)) if limit else 1
        return ListPage(
            items=selected[first : first + limit],
            total=total,
            page=query.page,
            last_page=last_page,
        )
    start = query.start or 0
    end = query.end
    if end is None and query.limit is not None:
        end = start + query.limit
    return ListPage(items=selected[start:end], total=total)


def lookup(value: JsonValue, path: Path) -> object:
    """The value at a dotted path (`author.name`, `tags.0`), or MISSING."""
    current: object = value
    for part in path:
        if isinstance(current, dict):
            current = current.get(part, MISSING)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def _text(value: object) -> str | None:
    """A scalar as a filter compares it: strings as they are, others in their JSON spelling."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | int | float):
        return encode(value).decode("ascii")
    return None


def _number(text: str) -> float | None:
    return float(text) if JSON_NUMBER.fullmatch(text) else None


def _equal(value: object, wanted: str) -> bool:
    if isinstance(value, list):  # tags=red finds items whose tags contain "red"
        return any(_equal(element, wanted) for element in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = _number(wanted)
        return number is not None and value == number
    return _text(value) == wanted


def _compare(value: object, op: str, bound: str) -> bool:
    """Range operators: numbers numerically, strings by code point (ISO dates sort right)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = _number(bound)
        if number is None:
            return False
        sign = (value > number) - (value < number)
    elif isinstance(value, str):
        sign = (value > bound) - (value < bound)
    else:
        return False
    return {"gte": sign >= 0, "lte": sign <= 0, "gt": sign > 0, "lt": sign < 0}[op]


def _like(value: object, patterns: tuple[LikePattern, ...]) -> bool:
    if isinstance(value, list):
        return any(_like(element, patterns) for element in value)
    text = None if value is None or isinstance(value, bool) else _text(value)
    return text is not None and any(p.search(text) for p in patterns)


def _test(f: Filter) -> Callable[[JsonValue], bool]:
    path, values = f.path, f.values
    if f.op == "eq":
        return lambda item: any(_equal(lookup(item, path), v) for v in values)
    if f.op == "ne":
        return lambda item: not any(_equal(lookup(item, path), v) for v in values)
    if f.op == "like":
        patterns = f.patterns
        return lambda item: _like(lookup(item, path), patterns)
    op = f.op
    return lambda item: all(_compare(lookup(item, path), op, v) for v in values)


def _contains(value: JsonValue, term: str) -> bool:
    """`q`: does `term` (case-folded) occur in any string or number anywhere in value?"""
    if isinstance(value, dict):
        return any(_contains(v, term) for v in value.values())
    if isinstance(value, list):
        return any(_contains(v, term) for v in value)
    if isinstance(value, str):
        return term in value.casefold()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return term in encode(value).decode("ascii")
    return False


def _sorted(items: list[JsonValue], key: SortKey) -> list[JsonValue]:
    """Stable sort by one key; items without the field stay last in both directions."""
    present: list[tuple[tuple[int, float | str], JsonValue]] = []
    missing: list[JsonValue] = []
    for item in items:
        value = lookup(item, key.path)
        if value is MISSING or value is None:
            missing.append(item)
        elif isinstance(value, bool):
            present.append(((2, int(value)), item))
        elif isinstance(value, int | float):
            present.append(((0, value), item))
        elif isinstance(value, str):
            present.append(((1, value), item))
        else:
            present.append(((3, 0), item))  # arrays and objects: after scalars, file order
    present.sort(key=lambda pair: pair[0], reverse=key.descending)
    return [item for _, item in present] + missing


# --- RFC 8288 Link ------------------------------------------------------------------------------
_UNSAFE_IN_LINK = str.maketrans({"<": "%3C", ">": "%3E", '"': "%22", " ": "%20", "\\": "%5C"})


def page_links(path: str, query: str, page: ListPage) -> str | None:
    """`Link: <...>; rel="first", ...` for a paged list (RFC 8288 §3), relative to the request.

    The other parameters are kept exactly as the client sent them; only `_page`
    changes (it goes last).
    """
    if page.page is None or page.last_page is None:
        return None
    parts = [p for p in query.split("&") if p and unquote_plus(p.partition("=")[0]) != "_page"]

    def url(number: int) -> str:
        return f"{path}?{'&'.join([*parts, f'_page={number}'])}".translate(_UNSAFE_IN_LINK)

    links = [(1, "first")]
    if page.page > 1:
        links.append((min(page.page - 1, page.last_page), "prev"))
    if page.page < page.last_page:
        links.append((page.page + 1, "next"))
    links.append((page.last_page, "last"))
    return ", ".join(f'<{url(number)}>; rel="{rel}"' for number, rel in links)
