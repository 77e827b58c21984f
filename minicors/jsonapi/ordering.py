"""Where a query looks in an item (dotted paths) and the order `_sort` puts items in.

Pure: no I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import JsonValue

Path = tuple[str, ...]
MISSING = object()
MAX_INDEX_DIGITS = 9  # `tags.3`: longer digit runs index no list that fits in memory


@dataclass(frozen=True, slots=True, kw_only=True)
class SortKey:
    path: Path
    descending: bool


def lookup(value: JsonValue, path: Path) -> object:
    """The value at a dotted path (`author.name`, `tags.0`), or MISSING."""
    if len(path) == 1 and isinstance(value, dict):
        return value.get(path[0], MISSING)
    current: object = value
    for part in path:
        if isinstance(current, dict):
            current = current.get(part, MISSING)
        elif isinstance(current, list) and _index(part) < len(current):
            current = current[_index(part)]
        else:
            return MISSING
    return current


def _index(part: str) -> int:
    """`part` as a list index, or a number past any list (ASCII digits only, bounded)."""
    if part.isascii() and part.isdigit() and len(part) <= MAX_INDEX_DIGITS:
        return int(part)
    return 1 << 62


class _Descending:
    """A string in reverse order, for a descending key inside an ascending tuple."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Descending) -> bool:
        return other.text < self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and other.text == self.text

    __hash__ = None  # type: ignore[assignment]


_NULL = (1,)  # after every value, in both directions
_MISSING = (2,)  # after null (lodash's order, which json-server uses)


def key_part(value: object, descending: bool) -> tuple[Any, ...]:
    """One sort key's part of the tuple `sort_key` builds."""
    if value is None:
        return _NULL
    if value is MISSING:
        return _MISSING
    plain: float
    if isinstance(value, bool):
        rank, plain = 2, int(value)
    elif isinstance(value, int | float):
        rank, plain = 0, value
    elif isinstance(value, str):
        return (0, -1, _Descending(value)) if descending else (0, 1, value)
    else:
        rank, plain = 3, 0
    return (0, -rank, -plain) if descending else (0, rank, plain)


def sort_key(keys: tuple[SortKey, ...]) -> Callable[[JsonValue], tuple[Any, ...]]:
    """One tuple per item whose ascending order is the stable multi-key sort json-server does:
    numbers, then strings, then booleans, then arrays and objects (file order), then null,
    then missing; a descending key reverses all but the last two rules."""
    if len(keys) == 1:
        only, down = keys[0].path, keys[0].descending
        return lambda item: key_part(lookup(item, only), down)
    pairs = [(k.path, k.descending) for k in keys]
    return lambda item: tuple(key_part(lookup(item, path), down) for path, down in pairs)


def ordered(
    items: Sequence[JsonValue], keys: tuple[SortKey, ...], needed: int | None
) -> Sequence[JsonValue]:
    """`items` in the order of `keys`; only the first `needed` are sure to be there."""
    if not keys:
        return items
    key = sort_key(keys)
    if needed is not None and needed < len(items):
        return heapq.nsmallest(needed, items, key=key)
    return sorted(items, key=key)
