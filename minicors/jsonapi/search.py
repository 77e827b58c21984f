"""`q=`: full-text search over a collection in one pass at C speed, not at a Python loop's.

Each item's searchable text (what `query._contains` looks at: every string case-folded, every
number and boolean in its JSON spelling, keys excluded) is kept UTF-8 encoded and joined per
block of `BLOCK_ITEMS` items, values separated by SEPARATOR (U+0001), with the offset where each
item's text begins.  The text holds no NUL (a NUL inside a value is written as SEPARATOR too), so
the C library's fast `strstr` can search it (textfind.py).  A term without NUL or SEPARATOR can
match only inside one value, and a UTF-8 term occurs in UTF-8 text exactly where the decoded term
occurs in the decoded text, so a search over a block finds the items that hold it: after a hit
the search goes on from the next item's start (found by bisection), so every byte is scanned at
most once per term.  Blocks are reused by item identity from the last list seen (items are never
mutated), so after a write only the changed block is rebuilt, and only when a `q` comes.

Pure: no I/O.  The blocks are a cache of at most `MAX_LISTS` lists.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import is_
from typing import TYPE_CHECKING, Protocol, TypeVar

from .textfind import Haystack

if TYPE_CHECKING:
    from .store import JsonValue

BLOCK_ITEMS = 2048  # a write rebuilds one block (about 6 ms), on the next `q` only
MAX_LISTS = 2  # lists whose blocks are kept (each keeps its list alive)
SEPARATOR = "\x01"  # between values; a term holding it or NUL is tested item by item
_SEPARATOR = b"\x01"
_NUL = "\x00"


@dataclass(frozen=True, slots=True)
class _Block:
    items: Sequence[JsonValue]  # held: reuse compares the very objects
    text: Haystack  # each item's text, items and values separated by SEPARATOR
    starts: array[int]  # where each item's text begins in `text`


_LISTS: OrderedDict[int, tuple[Sequence[JsonValue], list[_Block]]] = OrderedDict()


def _parts(value: JsonValue, out: list[str]) -> None:
    stack = [value]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is str:
            out.append(current.casefold())  # type: ignore[union-attr]
        elif kind is bool:
            out.append("true" if current else "false")
        elif kind is int or kind is float:
            out.append(repr(current))  # json.dumps's spelling of a finite number
        elif kind is dict:
            stack.extend(reversed(list(current.values())))  # type: ignore[union-attr]
        elif kind is list:
            stack.extend(reversed(current))  # type: ignore[arg-type]


def encoded(text: str) -> bytes:
    """UTF-8, lone surrogates included (JSON may hold them): code point for code point."""
    return text.encode("utf-8", "surrogatepass")


def _build(items: Sequence[JsonValue]) -> _Block:
    texts: list[bytes] = []
    starts = array("q")
    offset = 0
    for item in items:
        parts: list[str] = []
        _parts(item, parts)
        joined = SEPARATOR.join(parts)
        if _NUL in joined:  # a value's NUL splits it just as well, and keeps `strstr` usable
            joined = joined.replace(_NUL, SEPARATOR)
        text = encoded(joined) + _SEPARATOR
        starts.append(offset)
        offset += len(text)
        texts.append(text)
    return _Block(items, Haystack(b"".join(texts)), starts)


class HasItems(Protocol):
    @property
    def items(self) -> Sequence[JsonValue]: ...


B = TypeVar("B", bound=HasItems)


def reused_blocks(
    items: Sequence[JsonValue],
    old: Sequence[B],
    size: int,
    build: Callable[[Sequence[JsonValue]], B],
) -> list[B]:
    """`items` cut into blocks of `size`; a block of `old` whose items are the very same
    objects (lists are never changed in place, so identity means unchanged) is kept, any
    other is built: after a write only the changed blocks cost anything."""
    blocks = []
    for number, start in enumerate(range(0, len(items), size)):
        part = items[start : start + size]
        reuse = old[number] if number < len(old) else None
        if reuse is not None and len(reuse.items) == len(part) and all(map(is_, reuse.items, part)):
            blocks.append(reuse)
        else:
            blocks.append(build(part))
    return blocks


def _blocks(items: Sequence[JsonValue]) -> list[_Block]:
    known = _LISTS.get(id(items))
    if known is not None and known[0] is items:
        return known[1]
    previous = next(reversed(_LISTS.values()), None) if _LISTS else None
    old = previous[1] if previous is not None else []
    blocks = reused_blocks(items, old, BLOCK_ITEMS, _build)
    remember(_LISTS, id(items), (items, blocks), MAX_LISTS)
    return blocks


K = TypeVar("K")
V = TypeVar("V")


def remember(cache: OrderedDict[K, V], key: K, value: V, bound: int) -> None:
    """`cache[key] = value` as the newest entry, dropping the oldest past `bound` entries."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > bound:
        try:
            cache.popitem(last=False)
        except KeyError:  # emptied by another thread meanwhile
            break


def matching(items: Sequence[JsonValue], terms: tuple[str, ...]) -> list[JsonValue] | None:
    """The items that contain every (case-folded) term, in order; None when a term holds NUL
    or SEPARATOR (the caller then tests item by item)."""
    if any(SEPARATOR in term or _NUL in term for term in terms):
        return None
    needles = [encoded(term) for term in terms]
    found: list[JsonValue] = []
    for block in _blocks(items):
        hits = _positions(block, needles[0])
        for needle in needles[1:]:
            if not hits:
                break
            hits = [index for index in hits if _holds(block, index, needle)]
        found.extend(block.items[index] for index in hits)
    return found


def _positions(block: _Block, needle: bytes) -> list[int]:
    """Which items of the block contain `needle`, in order: one search per matching item."""
    hits: list[int] = []
    text, starts = block.text, block.starts
    last = len(starts) - 1
    at = text.find(needle)
    while at >= 0:
        index = bisect_right(starts, at) - 1
        hits.append(index)
        if index >= last:
            break
        at = text.find(needle, starts[index + 1])
    return hits


def _holds(block: _Block, index: int, needle: bytes) -> bool:
    """Whether item `index` of the block contains `needle` (a further term)."""
    starts = block.starts
    end = starts[index + 1] if index + 1 < len(starts) else len(block.text.buffer)
    return needle in block.text.buffer[starts[index] : end]
