"""Equality filters and sorts on a large collection at C speed, from cached columns.

`done=false&_sort=-priority&_limit=10` over 100,000 items costs about a microsecond per item
when each item is tested and keyed in Python.  Here each field a query names becomes a column,
kept per list: every item's value turned into an equality key (a hashable that equals the key
of every query text `query._equal` would accept) and, on demand, its sort key part
(`ordering.key_part`).  A filter is then `map(set.__contains__, keys)`, a sort a selection over
(key, position) tuples: no Python code runs per item.  Values that are arrays or objects
(`tags=red` looks inside arrays) are tested one by one with the caller's own test.

Columns are rebuilt per list but from blocks of `BLOCK_ITEMS` items reused by identity (items
are never mutated), so a write costs the rebuild of one block, not of the column.  A column
holds each thing once, flat (keys, sort key parts, an order): values are looked up again when
a block's sort parts or `_like` heads are computed, never kept.
Pure: no I/O.  A cache of `MAX_COLUMNS` columns.
"""

from __future__ import annotations

import heapq
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, count, islice
from operator import and_, is_, not_
from typing import TYPE_CHECKING, Any

from .ordering import MISSING, SortKey, key_part, lookup
from .search import encoded, remember
from .textfind import Haystack

if TYPE_CHECKING:
    from .store import JsonValue

MIN_ITEMS = 2_000  # smaller lists are filtered item by item (no cache to keep)
BLOCK_ITEMS = 1_024
MAX_COLUMNS = 4  # (field) columns kept, each holding its list

_COMPLEX = object()  # an array or an object: tested by the caller's function
_NULL = ("null",)
_TRUE = ("bool", True)
_FALSE = ("bool", False)

Equal = Callable[[object, str, "float | None"], bool]


def _equality_key(value: object) -> object:
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int or kind is float:
        return value  # itself: 1 and 1.0 are equal and hash alike, as `==` wants (bools are not)
    if value is None:
        return _NULL
    if value is MISSING:
        return MISSING  # equal to no query text
    return _COMPLEX


def _targets(wanted: str, number: float | None) -> set[object]:
    """The equality keys of every value that `query._equal(value, wanted)` accepts."""
    found: set[object] = {wanted}
    if number is not None:
        found.add(number)
    spelled = {"true": _TRUE, "false": _FALSE, "null": _NULL}.get(wanted)
    if spelled is not None:
        found.add(spelled)
    return found


@dataclass(slots=True)
class _Column:
    """One field of one list, flat: blocks of `BLOCK_ITEMS` items are only positions here.
    Nothing is held twice: a column built for the next version of the list copies the
    slices of the unchanged blocks from this one (`_built`) and computes the others."""

    items: Sequence[JsonValue]
    name: str
    keys: list[object]  # every item's equality key
    complex: list[int]  # positions whose value is an array or an object
    sort: dict[bool, list[tuple[Any, ...]]] = field(default_factory=dict)  # key parts
    heads: list[Haystack | None] = field(default_factory=list)  # per block, for `_like`
    others: list[int] | None = None  # positions whose value is no string (for `_like`)
    orders: dict[bool, array[int]] = field(default_factory=dict)  # positions in sort order
    counts: Counter[object] | None = None  # how many items have each equality key
    # Sort key parts of an earlier list, and which of its blocks this list still has: the
    # parts to copy when this sort is first asked for (a write costs one block's parts).
    carried: dict[bool, tuple[Sequence[tuple[Any, ...]], Sequence[bool]]] = field(
        default_factory=dict
    )

    def order(self, descending: bool) -> array[int]:
        """Every position, sorted by this field (stable: ties keep file order); an index
        built once per list, so that a sorted page reads only the positions it shows."""
        known = self.orders.get(descending)
        if known is None:
            keys = self.sort_keys(descending)
            # An array: 8 bytes a position, not a list of 100,000 int objects.
            known = self.orders[descending] = array(
                "q", sorted(range(len(keys)), key=keys.__getitem__)
            )
        return known

    def count(self, targets: set[object]) -> int:
        if self.counts is None:
            self.counts = Counter(self.keys)
        return sum(self.counts.get(target, 0) for target in targets)

    def starting(self, prefixes: tuple[str, ...]) -> list[int]:
        """Positions whose value is a string starting with one of `prefixes` (lower-cased)."""
        found: list[int] = []
        # A prefix longer than a head is cut to it: more candidates, each still tested.
        needles = [_SEPARATOR + encoded(prefix)[:HEAD_BYTES] for prefix in prefixes]
        heads = self.heads
        for number, start in enumerate(range(0, len(self.items), BLOCK_ITEMS)):
            text = heads[number]
            if text is None:
                text = heads[number] = _heads(self.values(start))
            hits: set[int] = set()
            for needle in needles:
                hits.update(_heads_with(text, needle))
            found.extend(start + index for index in sorted(hits))
        return found

    def sort_keys(self, descending: bool) -> list[tuple[Any, ...]]:
        known = self.sort.get(descending)
        if known is None:
            parts, kept = self.carried.pop(descending, ((), ()))
            known = self.sort[descending] = list(
                chain.from_iterable(
                    parts[start : start + BLOCK_ITEMS]
                    if number < len(kept) and kept[number]
                    else _key_parts(self.values(start), descending)
                    for number, start in enumerate(range(0, len(self.items), BLOCK_ITEMS))
                )
            )
        return known

    def values(self, start: int) -> list[object]:
        """The field's values in the block at `start` (looked up again: not kept)."""
        return _values(self.items[start : start + BLOCK_ITEMS], self.name)


_SEPARATOR = b"\x00"
# Bytes of each string's lower-cased UTF-8 form kept for `_like` prefixes: every head is
# this long (padded with NUL), so that an item's place is its offset divided by the width.
HEAD_BYTES = 15


def _heads(values: list[object]) -> Haystack:
    """Every value's head: a NUL, then its first `HEAD_BYTES` bytes lower-cased and UTF-8
    encoded, padded with NUL (any value that is no string as an empty one)."""
    size = HEAD_BYTES
    return Haystack(
        b"".join(
            _SEPARATOR + (encoded(v.lower())[:size] if type(v) is str else b"").ljust(size, b"\0")
            for v in values
        )
    )


def _heads_with(text: Haystack, needle: bytes) -> list[int]:
    """Which values' heads begin with `needle` (NUL + prefix): a hit anywhere but at the
    start of a head is skipped, and one on padding NULs only adds a candidate the caller
    tests."""
    hits: list[int] = []
    width = HEAD_BYTES + 1
    at = text.find(needle)
    while at >= 0:
        index, inside = divmod(at, width)
        if not inside:
            hits.append(index)
        at = text.find(needle, (index + 1) * width)
    return hits


def _key_parts(values: list[object], descending: bool) -> list[tuple[Any, ...]]:
    """`key_part` of each value, one tuple per distinct scalar of the block: a field of few
    values (a priority, a flag) then costs a pointer per item, not a tuple."""
    known: dict[tuple[type, object], tuple[Any, ...]] = {}
    parts: list[tuple[Any, ...]] = []
    for value in values:
        kind = type(value)
        if kind is str or kind is int or kind is float or kind is bool or value is None:
            part = known.get((kind, value))
            if part is None:
                part = known[(kind, value)] = key_part(value, descending)
        else:
            part = key_part(value, descending)
        parts.append(part)
    return parts


_COLUMNS: OrderedDict[str, _Column] = OrderedDict()


def _values(part: Sequence[JsonValue], name: str) -> list[object]:
    path = (name,)
    return [item.get(name, MISSING) if type(item) is dict else lookup(item, path) for item in part]


def _column(items: Sequence[JsonValue], name: str) -> _Column:
    known = _COLUMNS.get(name)
    if known is not None and known.items is items:
        return known
    column = _built(items, name, known)
    remember(_COLUMNS, name, column, MAX_COLUMNS)
    return column


def _built(items: Sequence[JsonValue], name: str, old: _Column | None) -> _Column:
    """The column of `name` over `items`; blocks whose items are the very objects of the
    same block of `old`'s list (lists are never changed in place, so identity means
    unchanged) are copied from `old`, equality keys, sort key parts and `_like` heads alike:
    after a write only the changed blocks cost anything."""
    kept: list[bool] = []  # per block: copied from `old`
    keys: list[object] = []
    for start in range(0, len(items), BLOCK_ITEMS):
        part = items[start : start + BLOCK_ITEMS]
        if old is not None:
            before = old.items[start : start + BLOCK_ITEMS]
            if len(before) == len(part) and all(map(is_, before, part)):
                kept.append(True)
                keys.extend(old.keys[start : start + BLOCK_ITEMS])
                continue
        kept.append(False)
        keys.extend(map(_equality_key, _values(part, name)))
    complex_at = [p for p, k in enumerate(keys) if k is _COMPLEX] if _COMPLEX in keys else []
    column = _Column(items, name, keys, complex_at)
    old_heads = old.heads if old is not None else []
    column.heads = [
        old_heads[number] if same else None for number, same in enumerate(kept)
    ]  # a kept block is one `old` has: its heads are there (None until asked for)
    if old is not None:  # the sorts asked for before, computed when next asked for
        for descending, (parts, before) in list(old.carried.items()):
            # Kept since that earlier list: kept at each step (block n is block n throughout).
            column.carried[descending] = (parts, list(map(and_, before, kept)))
        for descending, parts in list(old.sort.items()):
            column.carried[descending] = (parts, kept)
    return column


def _mask(
    items: Sequence[JsonValue], name: str, pairs: Iterable[tuple[str, float | None]], equal: Equal
) -> list[bool]:
    column = _column(items, name)
    pairs = tuple(pairs)
    targets: set[object] = set().union(*(_targets(w, n) for w, n in pairs))
    mask = list(map(targets.__contains__, column.keys))
    for position in column.complex:
        value = lookup(items[position], (name,))
        mask[position] = any(equal(value, w, n) for w, n in pairs)
    return mask


def select(
    items: Sequence[JsonValue],
    filters: Sequence[tuple[str, str, tuple[tuple[str, float | None], ...]]],
    sort: tuple[SortKey, ...],
    needed: int | None,
    equal: Equal,
) -> tuple[Sequence[JsonValue], int] | None:
    """The items passing every `(field, "eq" | "ne", ((text, number), ...))` filter, in the
    order of `sort` (only the first `needed` sure to be there), and their count; None when
    this list or query is not one columns serve (the caller then goes item by item)."""
    if len(items) < MIN_ITEMS or not (filters or sort):
        return None
    if any(len(k.path) != 1 for k in sort):
        return None
    if len(sort) == 1 and len(filters) <= 1 and needed is not None and needed >= 0:
        found = _by_order(items, filters, sort[0], needed)
        if found is not None:
            return found
    mask: list[bool] | None = None
    for name, op, pairs in filters:
        this = _mask(items, name, pairs, equal)
        if op == "ne":
            this = list(map(not_, this))
        mask = this if mask is None else list(map(and_, mask, this))
    chosen: Sequence[JsonValue] = items if mask is None else list(compress(items, mask))
    total = len(chosen)
    if not sort:
        return chosen, total
    columns = [_column(items, k.path[0]).sort_keys(k.descending) for k in sort]
    if mask is not None:
        columns = [list(compress(keys, mask)) for keys in columns]
    decorated: Iterable[tuple[Any, ...]] = zip(*columns, count(), strict=False)
    if needed is not None and 0 <= needed < total:
        top = heapq.nsmallest(needed, decorated)  # position last: ties keep file order
    else:
        top = sorted(decorated)
    return [chosen[entry[-1]] for entry in top], total


def _by_order(
    items: Sequence[JsonValue],
    filters: Sequence[tuple[str, str, tuple[tuple[str, float | None], ...]]],
    key: SortKey,
    needed: int,
) -> tuple[Sequence[JsonValue], int] | None:
    """A sorted page read from the sort column's order index: positions are visited in
    order until `needed` pass the filter, and the total comes from the key counts.  None
    when an array or object value would need testing item by item."""
    order = _column(items, key.path[0]).order(key.descending)
    if not filters:
        return [items[p] for p in order[:needed]], len(items)
    name, op, pairs = filters[0]
    column = _column(items, name)
    if column.complex:
        return None
    targets: set[object] = set().union(*(_targets(w, n) for w, n in pairs))
    hits = map(targets.__contains__, map(column.keys.__getitem__, order))
    if op == "ne":
        hits = map(not_, hits)
    total = column.count(targets)
    if op == "ne":
        total = len(items) - total
    return [items[p] for p in islice(compress(order, hits), needed)], total


def like_candidates(
    items: Sequence[JsonValue], name: str, prefixes: tuple[str, ...]
) -> Sequence[JsonValue] | None:
    """The items that may match `_like` patterns all anchored with a literal prefix: those
    whose string starts with one (lower-cased), and every value that is no string (numbers,
    arrays: the pattern itself decides).  None when columns do not serve this list."""
    if len(items) < MIN_ITEMS or not all(prefixes):
        return None
    column = _column(items, name)
    if column.others is None:
        column.others = [p for p, key in enumerate(column.keys) if type(key) is not str]
    positions = column.starting(prefixes)
    if column.others:
        positions = sorted({*positions, *column.others})
    return [items[p] for p in positions]
