"""Writing FILE's next version: changed blocks as encoded, unchanged ones copied from the last.

The encoder (encoder.py) keeps no bytes, only where each block sits in one version of FILE, the
one we last wrote or read, whose descriptor persist.py holds open, and each block's CRC-32.  A
rename replaces FILE's name, never that inode's bytes, but an editor that saves in place can
change them.  Its `stat` is compared with the version's before the copy and after it, and every
copied block is read and checked against its CRC-32 (and the separators between blocks against
theirs): on a file system whose clock ticks coarsely, an edit of the same size within one tick
leaves `stat` unchanged, and copying from it would mix the edit into our version.  Any
difference raises `SourceChanged`: persist.py then reads FILE again and applies the writes on
top of what is there, as for any outside edit.  Reads go through `COPY_PIECE_BYTES` buffers.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from .encoder import SEPARATOR, Check, DocumentEncoder, Pass, Piece, Span
from .fileio import IOV_MAX, Stamp, write_all
from .store import Document, encode_document

COPY_PIECE_BYTES = 1 << 20  # bytes of the old version read into memory at a time (or 1 block)
BATCH_BYTES = 1 << 20  # encoded bytes gathered before one writev(2)


class SourceChanged(Exception):
    """The version the encoder's offsets refer to is not what they describe any more: FILE
    was changed outside minicors (read it again, then apply the writes on top)."""


@dataclass(frozen=True, slots=True)
class Source:
    """An open descriptor on the version of FILE the encoder's offsets refer to."""

    fd: int
    stamp: Stamp

    def unchanged(self) -> bool:
        try:
            return Stamp.of(os.fstat(self.fd)) == self.stamp
        except OSError:
            return False


def write_version(
    fd: int, encoder: DocumentEncoder, document: Document, source: Source | None
) -> Pass | None:
    """`document`'s encoding into `fd` (a new, empty file).  Returns the pass to `adopt` once
    the file is durably FILE, or None when the layout is lost (a lone surrogate: the whole
    document is written with escapes, as `encode_document` does).  `SourceChanged` when the
    version copied from was edited before or while it was read."""
    try:
        if source is not None and not source.unchanged():
            raise SourceChanged("the version last written was changed in place")
        done = encoder.start(document, reuse=source is not None)
        write_pieces(fd, done.pieces(), None if source is None else source.fd)
        if source is not None and not source.unchanged():  # edited while we copied
            raise SourceChanged("the version last written was changed in place")
    except UnicodeEncodeError:
        _empty(fd)
        encoder.forget()
        write_all(fd, [encode_document(document)])
        return None
    return done


def write_pieces(fd: int, pieces: Iterable[Piece], source: int | None) -> None:
    """Bytes as they come, in bounded writev(2) batches; Spans copied from `source`."""
    batch: list[bytes] = []
    size = 0
    for piece in pieces:
        if isinstance(piece, bytes):
            batch.append(piece)
            size += len(piece)
            if len(batch) >= IOV_MAX or size >= BATCH_BYTES:
                write_all(fd, batch)
                batch, size = [], 0
            continue
        if source is None:
            raise SourceChanged("a span without a version to copy it from")
        write_all(fd, batch)
        batch, size = [], 0
        copy_span(source, fd, piece)
    write_all(fd, batch)


def copy_span(source: int, target: int, span: Span) -> None:
    """The span's bytes of `source`, appended at `target`'s position, every block checked."""
    group: list[Check] = []
    for block in span.blocks:
        if group and block[0] + block[1] - group[0][0] > COPY_PIECE_BYTES:
            _copy_group(source, target, group)
            write_all(target, [SEPARATOR])  # the one between the two groups
            group = []
        group.append(block)
    _copy_group(source, target, group)


def _copy_group(source: int, target: int, group: list[Check]) -> None:
    start = group[0][0]
    end = group[-1][0] + group[-1][1]
    data = _read(source, start, end - start)
    view = memoryview(data)
    after = 0  # where the previous block ended, in `data`
    for number, (offset, length, crc) in enumerate(group):
        at = offset - start
        if number and view[after:at] != SEPARATOR:
            raise SourceChanged("a separator between two blocks differs")
        if zlib.crc32(view[at : at + length]) != crc:
            raise SourceChanged("a block differs from what was written")
        after = at + length
    write_all(target, [data])


def _read(source: int, offset: int, length: int) -> bytes:
    pieces: list[bytes] = []
    while length > 0:
        data = os.pread(source, length, offset)
        if not data:
            raise SourceChanged("the version is shorter than its blocks")
        pieces.append(data)
        offset += len(data)
        length -= len(data)
    return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _empty(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
