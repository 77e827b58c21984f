"""FILE's bytes after a change, re-encoding only the part of each collection that changed.

`encode_document` (store.py) uses the pure-Python indenting encoder, about 6 us per item: a
whole 100,000-item file per write would cost most of a second.  Items are never mutated, so an
item object always encodes the same way.  `DocumentEncoder` keeps each collection as blocks of
`BLOCK_ITEMS` items with their encoded bytes; a commit compares each block's items by identity
(`is`, never `==`: `1 == True == 1.0` yet they encode differently) and encodes only the blocks
that differ.  Appending re-encodes the last block; replacing an item, its block; deleting one,
every block after it (the positions shift).  The output is exactly `encode_document`'s.

Pure: no I/O.  One encoder serves one FILE, one commit at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from operator import is_

from .store import Document, JsonValue, encode_document

BLOCK_ITEMS = 64  # items per block: a change re-encodes at most this many
_SEPARATOR = b",\n    "  # between two items of a collection (indent 2, level 2)


@dataclass(frozen=True, slots=True)
class _Block:
    items: Sequence[JsonValue]  # held: identity comparison needs the very objects
    data: bytes  # the items' text, joined by _SEPARATOR


class DocumentEncoder:
    """`encode_document`, remembering each collection's encoded blocks between calls."""

    def __init__(self) -> None:
        self._collections: dict[str, list[_Block]] = {}

    def encode(self, document: Document) -> bytes:
        return b"".join(self.chunks(document))

    def chunks(self, document: Document) -> list[bytes]:
        """FILE's bytes as a list of pieces to write in order (not joined: no 30 MB copy)."""
        try:
            return self._chunks(document)
        except UnicodeEncodeError:  # a lone surrogate: the escaping path, as encode_document
            self._collections = {}
            return [encode_document(document)]

    def _chunks(self, document: Document) -> list[bytes]:
        if not document:
            return [b"{}\n"]
        remembered: dict[str, list[_Block]] = {}
        out: list[bytes] = [b"{\n"]
        for number, (key, value) in enumerate(document.items()):
            name = json.dumps(key, ensure_ascii=False)
            if number:
                out.append(b",\n")
            out.append(f"  {name}: ".encode())
            if isinstance(value, list) and value:
                blocks = self._blocks(value, self._collections.get(key, []))
                remembered[key] = blocks
                out.append(b"[\n    ")
                for index, block in enumerate(blocks):
                    if index:
                        out.append(_SEPARATOR)
                    out.append(block.data)
                out.append(b"\n  ]")
            else:
                out.append(_indented(value, 2).encode("utf-8"))
        out.append(b"\n}\n")
        self._collections = remembered
        return out

    @staticmethod
    def _blocks(items: list[JsonValue], old: list[_Block]) -> list[_Block]:
        blocks = []
        for number, start in enumerate(range(0, len(items), BLOCK_ITEMS)):
            part = items[start : start + BLOCK_ITEMS]
            known = old[number] if number < len(old) else None
            if (
                known is not None
                and len(known.items) == len(part)
                and all(map(is_, known.items, part))
            ):
                blocks.append(known)
            else:
                blocks.append(_Block(part, _encoded_items(part)))
        return blocks


def _encoded_items(part: Sequence[JsonValue]) -> bytes:
    """The items as `_indented(item, 4)` joined by `_SEPARATOR`, from one `json.dumps` of the
    whole block: each call builds the pure-Python encoder anew, which costs as much as
    encoding a small item.  The list's items sit at level 1; two more spaces after every
    newline put them at level 2, the collection's place in FILE."""
    text = json.dumps(list(part), ensure_ascii=False, indent=2, separators=(",", ": "))
    return text[len("[\n  ") : -len("\n]")].replace("\n", "\n  ").encode("utf-8")


def _indented(value: JsonValue, level: int) -> str:
    # JSON text never holds a raw newline inside a string, so every newline is indentation.
    text = json.dumps(value, ensure_ascii=False, indent=2, separators=(",", ": "))
    return text.replace("\n", "\n" + " " * level)
