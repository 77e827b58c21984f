"""Finding an item by id without scanning its collection: `IdIndex`, one per served document.

The id is the field named by `--id-field` (default `id`), the same for every collection.  An
`IdIndex` keeps, per collection name, one entry for the list that collection holds now: a map
id -> first position, the largest integer id and whether any id is a string (what POST needs to
pick the next id).  So it holds at most one entry per collection of FILE (`warm` drops the
collections a reload removed), and a file with many collections never evicts one for another.

Collections are never mutated once published (store.py builds a new list for every change, and
a batch changes in place only the list it made itself), so an entry made for one list object
stays true for it.  A change derives the entry of the new list from the old one instead of
scanning again: replacing an item keeps every id at its position, appending adds one.  A delete
shifts positions: the next lookup builds the entry again.  Ids that are consecutive integers
in list order (1, 2, 3 ...: what POST makes when nothing was deleted) need no map at all: an
id's position is its distance from the first (at 100,000 items the map and its position
numbers took 8 MB); a write that breaks the run drops the entry, and the next lookup builds a
map.  A lookup on any other list (an older
version a reader still holds, or a document just read from disk) builds that list's entry.
Every hit is verified against the list and falls back to a scan, so a reader in a worker thread
racing a write that extends a shared map still gets the right position.

Pure: no I/O.  The entries are a cache, never the truth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import JsonValue

DEFAULT_ID_FIELD = "id"  # json-server's, and minicors's unless --id-field says otherwise
# An integer id as the URL writes it: what `id_text` gives for an int (no sign on 0, no zeros
# in front), bounded before int() (Python refuses past 4,300 digits).
_INT_TEXT = re.compile(r"-?[1-9][0-9]{0,4298}|0")

# Keys: an int id is its own key (no new object per item), a string id too; a float id is keyed
# by its JSON text in a tuple, because 1.0 == 1 and True == 1 as dict keys.
Key = int | str | tuple[str, str]


@dataclass(slots=True)
class _Entry:
    items: Sequence[JsonValue]  # held: the entry is true for this very list object
    positions: dict[Key, int] | None  # each id's first position; None: ids run from `first`
    top: int | None  # the largest integer id
    strings: bool  # whether any id is a string
    first: int = 0  # with no map: the id at position 0, each next one 1 more


def id_text(value: JsonValue) -> str | None:
    """How an id appears in a URL: strings as they are, numbers in JSON form; else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)  # what store.encode writes for a number
    return None


def _key(value: JsonValue) -> Key | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return ("float", json.dumps(value))
    return None


def _keys_for(wanted: str) -> list[Key]:
    """Every key under which an item whose id reads as `wanted` may be filed."""
    keys: list[Key] = [wanted, ("float", wanted)]
    if _INT_TEXT.fullmatch(wanted):
        keys.append(int(wanted))
    return keys


def scan(items: Sequence[JsonValue], wanted: str, field: str = DEFAULT_ID_FIELD) -> int | None:
    """The plain way: the first object whose `field` reads as `wanted`."""
    for index, item in enumerate(items):
        if isinstance(item, dict) and field in item and id_text(item[field]) == wanted:
            return index
    return None


class IdIndex:
    """The ids of one document's collections, by the field `field` (see the module text)."""

    def __init__(self, field: str = DEFAULT_ID_FIELD) -> None:
        self.field = field
        self._entries: dict[str, _Entry] = {}

    def entries(self) -> int:
        """How many collections have an entry (at most the number FILE has)."""
        return len(self._entries)

    def _build(self, items: Sequence[JsonValue]) -> _Entry:
        field = self.field
        ids = [item.get(field) if type(item) is dict else None for item in items]
        first = ids[0] if ids else None
        # Exact types: True == 1 and 2.0 == 2, but their ids read "true" and "2.0".
        run = type(first) is int and set(map(type, ids)) == {int}
        if run and isinstance(first, int) and ids == list(range(first, first + len(ids))):
            return _Entry(items, None, first + len(ids) - 1, strings=False, first=first)
        del ids
        positions: dict[Key, int] = {}
        top: int | None = None
        strings = False
        for index, item in enumerate(items):
            if isinstance(item, dict) and field in item:
                value = item[field]
                key = _key(value)
                if key is not None:
                    positions.setdefault(key, index)  # duplicates: the first wins, as the scan
                if isinstance(value, int) and not isinstance(value, bool):
                    top = value if top is None or value > top else top
                elif isinstance(value, str):
                    strings = True
        return _Entry(items, positions, top, strings)

    def _entry(self, key: str, items: Sequence[JsonValue]) -> _Entry:
        entry = self._entries.get(key)
        if entry is None or entry.items is not items:
            entry = self._build(items)
            self._entries[key] = entry  # one assignment: a racing reader sees old or new
        return entry

    def find(self, key: str, items: Sequence[JsonValue], wanted: str) -> int | None:
        """The index of the first object of `items` (collection `key`) whose id reads as
        `wanted` (`7` finds 7 and "7")."""
        entry = self._entry(key, items)
        if entry.positions is None:  # consecutive integers: no other key can name an item
            if not _INT_TEXT.fullmatch(wanted):
                return None
            position = int(wanted) - entry.first
            if not 0 <= position < len(items):
                return None
        else:
            keys = _keys_for(wanted)
            hits = [p for p in (entry.positions.get(k) for k in keys) if p is not None]
            if not hits:
                return None
            position = min(hits)
        item = items[position] if position < len(items) else None
        field = self.field
        if isinstance(item, dict) and field in item and id_text(item[field]) == wanted:
            return position
        return scan(items, wanted, field)  # a map extended meanwhile: verify by scanning

    def summary(self, key: str, items: Sequence[JsonValue]) -> tuple[int | None, bool]:
        """The largest integer id of `items` and whether any id is a string."""
        entry = self._entry(key, items)
        return entry.top, entry.strings

    def derive(
        self,
        key: str,
        old: Sequence[JsonValue],
        new: Sequence[JsonValue],
        added: JsonValue = None,
    ) -> None:
        """`new` is `old` with items replaced in place (ids kept) and, if given, `added`
        appended: its entry is `old`'s, extended, instead of a new scan."""
        entry = self._entries.get(key)
        if entry is None or entry.items is not old:
            return  # nothing known about `old`: `new` is built when first looked up
        top, strings = entry.top, entry.strings
        if entry.positions is None:
            if added is not None:
                value = added.get(self.field) if isinstance(added, dict) else None
                after = entry.first + len(old)
                if type(value) is not int or not isinstance(value, int) or value != after:
                    self._entries.pop(key, None)  # the run is broken: the next lookup maps ids
                    return
                top = value
            self._entries[key] = _Entry(new, None, top, strings=False, first=entry.first)
            return
        if isinstance(added, dict) and self.field in added:
            value = added[self.field]
            found = _key(value)
            if found is not None:
                entry.positions.setdefault(found, len(old))
            if isinstance(value, int) and not isinstance(value, bool):
                top = value if top is None or value > top else top
            elif isinstance(value, str):
                strings = True
        self._entries[key] = _Entry(new, entry.positions, top, strings)

    def warm(self, document: Mapping[str, JsonValue]) -> None:
        """Build every collection's entry now (a document just read), so the first request
        does not; entries of collections the document no longer has are dropped."""
        self._entries = {
            key: self._build(value) for key, value in document.items() if isinstance(value, list)
        }


def find_item(items: Sequence[JsonValue], wanted: str, field: str = DEFAULT_ID_FIELD) -> int | None:
    """One lookup with no index kept (a scan's answer, through a fresh map)."""
    return IdIndex(field).find("", items, wanted)
