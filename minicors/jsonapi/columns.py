"""Equality filters and sorts on a large collection at C speed, from cached columns.

`done=false&_sort=-priority&_limit=10` over 100,000 items costs about a microsecond per item
when each item is tested and keyed in Python.  Here each field a query names becomes a column,
kept per list: every item's value turned into an equality key (a hashable that equals the key
of every query text `query._equal` would accept) and, on demand, its sort key part
(`ordering.key_part`).  A filter is then `map(set.__contains__, keys)`, a sort a selection over
(key, position) tuples: no Python code runs per item.  Values that are arrays or objects
(`tags=red` looks inside arrays) are tested one by one with the caller's own test.

Columns are rebuilt per list but from blocks of `BLOCK_ITEMS` items reused by identity (items
are never mutated), so a write costs the rebuild of one block, not of the column.
Pure: no I/O.  A cache of `MAX_COLUMNS` columns.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, count, islice
from operator import and_, not_
from typing import TYPE_CHECKING, Any

from .ordering import MISSING, SortKey, key_part, lookup
from .search import encoded, reused_blocks
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
class _Block:
    items: Sequence[JsonValue]  # held: reuse compares the very objects
    values: list[object]
    keys: list[object]
    sort: dict[bool, list[tuple[Any, ...]]] = field(default_factory=dict)
    heads: _Heads | None = None  # strings lower-cased, for `_like` prefixes


@dataclass(slots=True)
class _Column:
    items: Sequence[JsonValue]
    blocks: list[_Block]
    keys: list[object]
    complex: list[int]  # positions whose value is an array or an object
    sort: dict[bool, list[tuple[Any, ...]]] = field(default_factory=dict)
    others: list[int] | None = None  # positions whose value is no string (for `_like`)
    orders: dict[bool, array[int]] = field(default_factory=dict)  # positions in sort order
    counts: Counter[object] | None = None  # how many items have each equality key

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
        needles = [_SEPARATOR + encoded(prefix) for prefix in prefixes]
        offset = 0
        for block in self.blocks:
            if block.heads is None:
                block.heads = _heads(block.values)
            text, starts = block.heads
            hits: set[int] = set()
            for needle in needles:
                hits.update(_heads_with(text, starts, needle))
            found.extend(offset + index for index in sorted(hits))
            offset += len(block.values)
        return found

    def sort_keys(self, descending: bool) -> list[tuple[Any, ...]]:
        known = self.sort.get(descending)
        if known is None:
            for block in self.blocks:
                if descending not in block.sort:
                    block.sort[descending] = _key_parts(block.values, descending)
            known = list(chain.from_iterable(b.sort[descending] for b in self.blocks))
            self.sort[descending] = known
        return known


_SEPARATOR = b"\x00"
_Heads = tuple[Haystack, "array[int]"]


def _heads(values: list[object]) -> _Heads:
    """Every value lower-cased and UTF-8 encoded, each after a NUL, and where each begins
    (any value that is no string as an empty one)."""
    parts: list[bytes] = []
    starts = array("q")
    offset = 0
    for value in values:
        text = _SEPARATOR + (encoded(value.lower()) if type(value) is str else b"")
        starts.append(offset)
        offset += len(text)
        parts.append(text)
    return Haystack(b"".join(parts)), starts


def _heads_with(text: Haystack, starts: array[int], needle: bytes) -> list[int]:
    """Which values begin with `needle` (NUL + prefix): a hit inside a value (one that holds
    NUL) is skipped, and one running past its end only adds a candidate the caller tests."""
    hits: list[int] = []
    last = len(starts) - 1
    at = text.find(needle)
    while at >= 0:
        index = bisect_right(starts, at) - 1
        if starts[index] == at:
            hits.append(index)
        if index >= last:
            break
        at = text.find(needle, starts[index + 1])
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


def _column(items: Sequence[JsonValue], name: str) -> _Column:
    known = _COLUMNS.get(name)
    if known is not None and known.items is items:
        return known
    old = known.blocks if known is not None else []
    path = (name,)

    def build(part: Sequence[JsonValue]) -> _Block:
        values = [
            item.get(name, MISSING) if type(item) is dict else lookup(item, path) for item in part
        ]
        return _Block(part, values, [_equality_key(v) for v in values])

    blocks = reused_blocks(items, old, BLOCK_ITEMS, build)
    keys = list(chain.from_iterable(b.keys for b in blocks))
    complex_at = [p for p, k in enumerate(keys) if k is _COMPLEX] if _COMPLEX in keys else []
    column = _Column(items, blocks, keys, complex_at)
    _COLUMNS[name] = column
    _COLUMNS.move_to_end(name)
    while len(_COLUMNS) > MAX_COLUMNS:
        try:
            _COLUMNS.popitem(last=False)
        except KeyError:  # emptied by another thread meanwhile
            break
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
