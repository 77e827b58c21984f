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
from . import columns, search
from .like import LikeError, LikePattern, compile_like, spend
from .ordering import MISSING, Path, SortKey, lookup, ordered
from .store import JsonValue, encode

MAX_PARAMS = 100  # query parameters per request; past it: 400
# A list query that must look at more items than this (a filter, `q`, a sort) runs in a worker
# thread, as does a `_like` past its budget on the event loop: one slow query must not hold up
# the other requests.
THREAD_ITEMS = 2_000
THREAD_BYTES = 1 << 20  # ... or a collection that takes more of FILE than this (fat items)
DEFAULT_PAGE_SIZE = 10  # `_page` without `_limit`, as json-server
MAX_SORT_KEYS = 16  # fields in `_sort`; past it: 400
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    """`field[_op]=value` (all the values given for the same name, in order)."""

    path: Path
    op: str  # eq | ne | gte | lte | gt | lt | like
    values: tuple[str, ...]
    patterns: tuple[LikePattern, ...] = ()  # the compiled values, for `like`


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
        _check_path(name, field)
    filters = tuple(_filter(field, op, values) for (field, op), values in grouped.items())
    page = _integer(reserved, "_page", minimum=1)
    limit = _integer(reserved, "_limit", minimum=0)
    return ListQuery(
        filters=filters,
        text=tuple(term.casefold() for term in reserved.get("q", ()) if term),
        sort=_sort_keys(reserved),
        page=page,
        limit=DEFAULT_PAGE_SIZE if page is not None and limit is None else limit,
        # Negative `_start`/`_end` count from the end, as Array.prototype.slice (json-server).
        start=_integer(reserved, "_start", minimum=None),
        end=_integer(reserved, "_end", minimum=None),
    )


def _check_path(name: str, field: str) -> None:
    """A dotted path whose digits are not ASCII (`tags.²`: str.isdigit says yes, int() no)."""
    for part in field.split("."):
        if part.isdigit() and not part.isascii():
            raise HttpError(
                400, f"{name}: {part!r} is not a list index; write indexes with the digits 0-9"
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


def _integer(reserved: dict[str, list[str]], name: str, *, minimum: int | None) -> int | None:
    values = reserved.get(name)
    if not values:
        return None
    text = values[-1]
    digits = text.removeprefix("-") if minimum is None else text
    valid = digits.isascii() and digits.isdigit() and len(digits) <= 12
    if not valid or (minimum is not None and int(text) < minimum):
        kind = {None: "an integer", 0: "a non-negative integer"}.get(minimum, "a positive integer")
        raise HttpError(400, f"{name} must be {kind}, got {text!r}")
    return int(text)


def _sort_keys(reserved: dict[str, list[str]]) -> tuple[SortKey, ...]:
    fields = [f.strip() for value in reserved.get("_sort", ()) for f in value.split(",")]
    orders = [o.strip().lower() for value in reserved.get("_order", ()) for o in value.split(",")]
    for order in orders:
        if order not in ("asc", "desc"):
            raise HttpError(400, f"_order must be asc or desc (comma-separated), got {order!r}")
    named = [f for f in fields if f]
    if len(named) > MAX_SORT_KEYS:
        # Each key is one more comparison per pair of items: a head full of keys would hold
        # the event loop for seconds on a list too small to go to the worker thread.
        raise HttpError(400, f"_sort: at most {MAX_SORT_KEYS} fields, got {len(named)}")
    keys: list[SortKey] = []
    for index, field in enumerate(named):
        _check_path("_sort", field.removeprefix("-"))
        # `-views` also means descending (json-server 1.x); `_order` gives one order per field.
        descending = field.startswith("-") or (index < len(orders) and orders[index] == "desc")
        keys.append(SortKey(path=tuple(field.removeprefix("-").split(".")), descending=descending))
    return tuple(keys)


# --- running ------------------------------------------------------------------------------------
def needs_thread(count: int, raw_query: str, size: int | None = None) -> bool:
    """Whether a list query over `count` items (`size` bytes of FILE, when known) should run
    off the event loop (THREAD_ITEMS, THREAD_BYTES)."""
    large = count > THREAD_ITEMS or (size is not None and size > THREAD_BYTES)
    if "like" in raw_query:  # `_like` (or its escaped spelling): the automaton's cost varies
        # A small list tries the event loop first (like.within_budget); from MIN_ITEMS on it
        # reads cached columns, whose building the budget does not cover.
        return large or count >= columns.MIN_ITEMS
    if not large:
        return False
    try:
        names = {name for name, _ in parse_qsl(raw_query, max_num_fields=MAX_PARAMS)}
    except ValueError:
        return True
    return not names <= {"_page", "_limit", "_start", "_end"}  # only these need no pass


def names_relations(raw_query: str) -> bool:
    """Whether the query asks for `_embed` or `_expand` (each reads another collection)."""
    if "_e" not in raw_query and "%" not in raw_query:
        return False
    try:
        names = {name for name, _ in parse_qsl(raw_query, max_num_fields=MAX_PARAMS)}
    except ValueError:
        return True
    return not names.isdisjoint(("_embed", "_expand"))


def run_query(items: Sequence[JsonValue], query: ListQuery) -> ListPage:
    """Filter, search, sort, then page `items` (the collection itself is never changed).

    One pass over the items at most: a page without filters is sliced from the list, a
    sorted page of N items keeps only the N first (heapq.nsmallest, stable like `sorted`),
    and equality filters and sorts on a large list read cached columns (columns.py).
    """
    if query.page is not None:
        limit = query.limit if query.limit is not None else DEFAULT_PAGE_SIZE
        begin: int = (query.page - 1) * limit
        stop: int | None = begin + limit
        needed = stop
    else:
        begin = query.start or 0
        stop = query.end
        if stop is None and query.limit is not None:
            stop = begin + query.limit
        # Only a window from a non-negative start to a non-negative end spares the full sort.
        needed = stop if stop is not None and stop >= 0 and begin >= 0 else None
    fast = None
    if not query.text and all(len(f.path) == 1 and f.op in ("eq", "ne") for f in query.filters):
        plain = [(f.path[0], f.op, tuple((v, _number(v)) for v in f.values)) for f in query.filters]
        fast = columns.select(items, plain, query.sort, needed, _equal)
    if fast is not None:
        in_order, total = fast
    else:
        selected = _selected(items, query)
        total = len(selected)
        in_order = ordered(selected, query.sort, needed)
    if query.page is None:
        return ListPage(items=list(in_order[begin:stop]), total=total)
    last_page = max(1, math.ceil(total / limit)) if limit else 1
    return ListPage(
        items=list(in_order[begin:stop]), total=total, page=query.page, last_page=last_page
    )


def _selected(items: Sequence[JsonValue], query: ListQuery) -> Sequence[JsonValue]:
    """The items that pass every filter and contain every `q` term, in file order."""
    tests = [_test(f) for f in query.filters]
    for f in query.filters if not query.text else ():
        if f.op == "like" and len(f.path) == 1:  # `^ab`: a prefix test per item, in C
            prefixes = tuple(p.prefix for p in f.patterns)
            narrowed = columns.like_candidates(items, f.path[0], prefixes)
            if narrowed is not None:
                items = narrowed  # the test itself still runs on every candidate
                break
    if query.text:
        found = search.matching(items, query.text)  # whole blocks at a time (search.py)
        if found is None:
            terms = query.text
            tests.append(lambda item: all(_contains(item, t) for t in terms))
        else:
            items = found
    if len(tests) == 1:
        return list(filter(tests[0], items))
    if tests:
        return [item for item in items if all(test(item) for test in tests)]
    return items


def _text(value: object) -> str | None:
    """A scalar as a filter compares it: strings as they are, others in their JSON spelling."""
    kind = type(value)  # exact types: JSON values are never subclasses, and bool is not int
    if kind is str:
        return value  # type: ignore[return-value]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return repr(value)  # what json.dumps writes for a finite number
    if value is None:
        return "null"
    return None


def _number(text: str) -> float | None:
    return float(text) if JSON_NUMBER.fullmatch(text) else None


def _equal(value: object, wanted: str, number: float | None = None) -> bool:
    """`value` equals the text `wanted` (`number` is `_number(wanted)`, computed once)."""
    kind = type(value)
    if kind is str:
        return value == wanted
    if kind is int or kind is float:
        return number is not None and value == number
    if kind is list:  # tags=red finds items whose tags contain "red"
        return any(_equal(element, wanted, number) for element in value)  # type: ignore[attr-defined]
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
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
    elif kind is int or kind is float:
        text = repr(value)  # the JSON spelling of a finite number
    elif kind is list:
        spend(len(value))  # type: ignore[arg-type]  # elements with no text cost a step too
        return any(_like(element, patterns) for element in value)  # type: ignore[attr-defined]
    else:  # null, booleans, objects: json-server's RegExp.test sees no text there
        return False
    if len(patterns) == 1:
        return patterns[0].search(text)
    return any(p.search(text) for p in patterns)


def _getter(path: Path) -> Callable[[JsonValue], object]:
    if len(path) == 1:  # `done=false`: one dict lookup, no call to ordering.lookup
        field = path[0]
        return lambda item: item.get(field, MISSING) if type(item) is dict else lookup(item, path)
    return lambda item: lookup(item, path)


def _test(f: Filter) -> Callable[[JsonValue], bool]:
    path, values = f.path, f.values
    pairs = tuple((v, _number(v)) for v in values)
    get = _getter(path)

    if f.op in ("eq", "ne") and len(pairs) == 1:  # the common case, without a generator
        wanted, number = pairs[0]
        if f.op == "eq":
            return lambda item: _equal(get(item), wanted, number)
        return lambda item: not _equal(get(item), wanted, number)
    if f.op == "eq":
        return lambda item: any(_equal(get(item), v, n) for v, n in pairs)
    if f.op == "ne":
        return lambda item: not any(_equal(get(item), v, n) for v, n in pairs)
    if f.op == "like":
        patterns, name = f.patterns, ".".join(path) + "_like"

        def like(item: JsonValue) -> bool:
            try:
                return _like(get(item), patterns)
            except LikeError as exc:  # the automaton outgrew its bound on this data
                raise HttpError(400, f"{name}: {exc}") from None

        return like
    op = f.op
    return lambda item: all(_compare(get(item), op, v) for v in values)


def _contains(value: JsonValue, term: str) -> bool:
    """`q`: does `term` (case-folded) occur in any string or number anywhere in value?"""
    if isinstance(value, dict):
        return any(_contains(v, term) for v in value.values())
    if isinstance(value, list):
        return any(_contains(v, term) for v in value)
    if isinstance(value, str):
        return term in value.casefold()
    if isinstance(value, bool):  # `q=true` finds true, as json-server (and false too)
        return term in ("true" if value else "false")
    if isinstance(value, int | float):
        return term in encode(value).decode("ascii")
    return False


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
