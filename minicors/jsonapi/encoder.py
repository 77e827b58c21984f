"""FILE's bytes after a change, re-encoding only the part of each collection that changed.

`encode_document` (store.py) uses the pure-Python indenting encoder, about 6 us per item: a
whole 100,000-item file per write would cost most of a second.  Items are never mutated, so an
item object always encodes the same way.  `DocumentEncoder` keeps each collection as blocks of
`BLOCK_ITEMS` items; a pass compares the list with the one last encoded item by item, by
identity (`is`, never `==`: `1 == True == 1.0` yet they encode differently), and encodes only
the blocks that differ.  Appending re-encodes the last block; replacing an item, its block;
deleting one, every block after it (the positions shift).  The output is exactly
`encode_document`'s.

The encoder does not keep the bytes of the blocks it encoded (at 100,000 items that would be
one more copy of FILE in memory), only where each block sits in one version of FILE (offset and
length): a pass yields the bytes of the blocks that changed and a `Span` for each run of
unchanged ones, which the writer copies from that version (filecopy.py).  `version` names it;
the caller sets it with `adopt` once the pass's output is safely that version, never before.

Pure: no I/O.  One encoder serves one FILE, one pass at a time.
"""

from __future__ import annotations

import json
import zlib
from array import array
from collections.abc import Generator, Hashable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress, count
from operator import is_not

from .store import Document, JsonValue, encode_document

BLOCK_ITEMS = 64  # items per block: a change re-encodes at most this many
SEPARATOR = b",\n    "  # between two items of a collection (indent 2, level 2)
_CLOSE = b"\n  ]"  # after a collection's last item


Check = tuple[int, int, int]  # a block of the version: offset, length, CRC-32 of its bytes


@dataclass(frozen=True, slots=True)
class Span:
    """Bytes of the encoder's version of FILE, `offset` to `offset + length`, copied as is:
    the `blocks` listed, each followed by SEPARATOR but the last.  Each block's CRC-32 was
    taken from the bytes when they were encoded, so the copy can check that the version still
    holds them (an edit in place within one tick of a coarse clock leaves `stat` unchanged)."""

    offset: int
    length: int
    blocks: tuple[Check, ...]


Piece = bytes | Span


@dataclass(frozen=True, slots=True)
class _Collection:
    """Where a collection's blocks sit in the version (block n: items from n * BLOCK_ITEMS)."""

    items: list[JsonValue]  # the list encoded: published lists are never changed in place
    offsets: array[int]  # where each block's text (items joined by SEPARATOR) starts
    lengths: array[int]
    crcs: array[int]  # CRC-32 of each block's text


Layout = dict[str, _Collection]


class Pass:
    """One encoding of a document: `pieces()` in order, and where each block lands in them."""

    __slots__ = ("_document", "_known", "layout", "size")

    def __init__(self, document: Document, known: Layout) -> None:
        self._document = document
        self._known = known  # the collections of the version that Spans refer to
        self.layout: Layout = {}  # filled while pieces() runs
        self.size = 0  # bytes of the output, once pieces() is exhausted

    def pieces(self) -> Iterator[Piece]:
        """FILE's bytes as pieces (never joined: no 30 MB string); consume once."""
        if not self._document:
            self.size = 3
            yield b"{}\n"
            return
        position = 0
        for number, (key, value) in enumerate(self._document.items()):
            name = json.dumps(key, ensure_ascii=False)
            head = (b",\n" if number else b"{\n") + f"  {name}: ".encode()
            if not (isinstance(value, list) and value):
                head += _indented(value, 2).encode("utf-8")
                position += len(head)
                yield head
                continue
            head += b"[\n    "
            position += len(head)
            yield head
            self.layout[key], position = yield from _collection(
                value, self._known.get(key), position
            )
            position += len(_CLOSE)
            yield _CLOSE
        self.size = position + 3
        yield b"\n}\n"


def _collection(
    items: list[JsonValue], old: _Collection | None, position: int
) -> Generator[Piece, None, tuple[_Collection, int]]:
    offsets, lengths, crcs = array("q"), array("q"), array("q")
    # Which blocks of `old` still hold the very same objects: one pass in C over both lists
    # (`is`, never `==`: `1 == True == 1.0` yet they encode differently).
    tail, changed = 0, set[int]()
    if old is not None:
        tail = min(len(old.items), len(items)) // BLOCK_ITEMS  # blocks from here may differ
        if len(old.items) == len(items):
            tail = len(old.offsets)
        differ = compress(count(), map(is_not, old.items, items))
        changed = {at // BLOCK_ITEMS for at in differ}
    run: list[Check] = []  # unchanged blocks, adjacent in the old version, not yet yielded
    for number, start in enumerate(range(0, len(items), BLOCK_ITEMS)):
        if number:
            position += len(SEPARATOR)
        if old is not None and number < tail and number not in changed:
            check = (old.offsets[number], old.lengths[number], old.crcs[number])
            offsets.append(position)
            lengths.append(check[1])
            crcs.append(check[2])
            position += check[1]
            if run and run[-1][0] + run[-1][1] + len(SEPARATOR) == check[0]:
                # The separator between them is in the old bytes too: one copy for both.
                run.append(check)
                continue
            if run:
                yield _span(run)
            if number:
                yield SEPARATOR
            run = [check]
            continue
        if run:
            yield _span(run)
            run = []
        if number:
            yield SEPARATOR
        data = _encoded_items(items[start : start + BLOCK_ITEMS])
        offsets.append(position)
        lengths.append(len(data))
        crcs.append(zlib.crc32(data))
        position += len(data)
        yield data
    if run:
        yield _span(run)
    return _Collection(items, offsets, lengths, crcs), position


def _span(run: list[Check]) -> Span:
    first, last = run[0], run[-1]
    return Span(first[0], last[0] + last[1] - first[0], tuple(run))


class DocumentEncoder:
    """`encode_document`, remembering where each collection's blocks sit in one version."""

    def __init__(self) -> None:
        self._layout: Layout = {}
        self.version: Hashable | None = None  # what the layout's offsets refer to
        self._text: bytes | None = None  # `encode`'s last output, the version it copies from

    def start(self, document: Document, *, reuse: bool = True) -> Pass:
        """A pass over `document`: with `reuse`, unchanged blocks come as Spans of `version`."""
        return Pass(document, self._layout if reuse and self.version is not None else {})

    def adopt(self, done: Pass, version: Hashable) -> None:
        """`done`'s output is now `version` (written whole, or read and found equal)."""
        self._layout, self.version, self._text = done.layout, version, None

    def forget(self) -> None:
        """No version to copy from: the next pass encodes everything."""
        self._layout, self.version, self._text = {}, None, None

    def collection_bytes(self, key: str, items: Sequence[JsonValue]) -> int | None:
        """How many bytes of FILE collection `key` takes, when `items` is the list last
        written or read (else None: not known without encoding it)."""
        known = self._layout.get(key)
        if known is None or known.items is not items or not known.offsets:
            return None
        return known.offsets[-1] + known.lengths[-1] - known.offsets[0]

    def learn(self, document: Document, data: bytes, version: Hashable) -> bool:
        """Take `data` (`version`, just read) as the version to copy from, if it is exactly
        `document`'s encoding; else forget (a hand-written FILE with other spacing: the
        offsets would mean nothing, and the next write encodes everything)."""
        done = Pass(document, {})
        position = 0
        try:
            for piece in done.pieces():  # each block's bytes compared, then dropped
                if not isinstance(piece, bytes) or not data.startswith(piece, position):
                    self.forget()
                    return False
                position += len(piece)
        except UnicodeEncodeError:  # a lone surrogate: FILE holds it escaped, never as is
            self.forget()
            return False
        if position != len(data):
            self.forget()
            return False
        self.adopt(done, version)
        return True

    def encode(self, document: Document) -> bytes:
        """FILE's bytes in memory, copying unchanged blocks from this method's last output
        (which it keeps: for callers without a file, e.g. tests; persist.py writes passes)."""
        previous = self._text
        done = self.start(document, reuse=previous is not None)
        try:
            text = b"".join(_resolved(done.pieces(), previous or b""))
        except UnicodeEncodeError:  # a lone surrogate: the escaping path, as encode_document
            self.forget()
            return encode_document(document)
        self.adopt(done, "memory")
        self._text = text
        return text


def _resolved(pieces: Iterator[Piece], source: bytes) -> Iterator[bytes]:
    for piece in pieces:
        yield (
            piece
            if isinstance(piece, bytes)
            else source[piece.offset : piece.offset + piece.length]
        )


def _encoded_items(part: Sequence[JsonValue]) -> bytes:
    """The items as `_indented(item, 4)` joined by `SEPARATOR`, from one `json.dumps` of the
    whole block: each call builds the pure-Python encoder anew, which costs as much as
    encoding a small item.  The list's items sit at level 1; two more spaces after every
    newline put them at level 2, the collection's place in FILE."""
    text = json.dumps(list(part), ensure_ascii=False, indent=2, separators=(",", ": "))
    return text[len("[\n  ") : -len("\n]")].replace("\n", "\n  ").encode("utf-8")


def _indented(value: JsonValue, level: int) -> str:
    # JSON text never holds a raw newline inside a string, so every newline is indentation.
    text = json.dumps(value, ensure_ascii=False, indent=2, separators=(",", ": "))
    return text.replace("\n", "\n" + " " * level)
