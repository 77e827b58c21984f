"""Writing FILE's next version: changed blocks as encoded, unchanged ones copied from the last.

The encoder (encoder.py) keeps no bytes, only where each block sits in one version of FILE, the
one we last wrote or read, whose descriptor persist.py holds open.  A rename replaces FILE's
name, never that inode's bytes, but an editor that saves in place can change them: the held
descriptor's stamp is compared with the version's before the copy and again after it, and if
it differs (or the copy finds fewer bytes than expected) the temporary file is emptied and
everything is encoded afresh.  Copies run in the kernel with copy_file_range(2) where the
system has it, else through `COPY_PIECE_BYTES` buffers of pread(2) and write(2).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from dataclasses import dataclass

from .encoder import DocumentEncoder, Pass, Piece
from .fileio import IOV_MAX, Stamp, write_all
from .store import Document, encode_document

COPY_PIECE_BYTES = 1 << 20  # the pread fallback's buffer: bytes read into memory at a time
BATCH_BYTES = 1 << 20  # encoded bytes gathered before one writev(2)
# copy_file_range(2) not possible between these files (old kernel, seccomp, a file system
# without it): the pread fallback copies instead.
_UNSUPPORTED = frozenset({errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM})
_COPY_FILE_RANGE = getattr(os, "copy_file_range", None)  # Linux 4.5+, Python 3.8+


class SourceChanged(Exception):
    """The version the encoder's offsets refer to is not what they describe any more."""


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
    document is written with escapes, as `encode_document` does)."""
    try:
        if source is not None and source.unchanged():
            done = encoder.start(document)
            try:
                write_pieces(fd, done.pieces(), source.fd)
            except SourceChanged:
                pass
            else:
                if source.unchanged():  # not edited in place while we copied from it
                    return done
            _empty(fd)
        done = encoder.start(document, reuse=False)
        write_pieces(fd, done.pieces(), None)
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
        copy_range(source, fd, piece.offset, piece.length)
    write_all(fd, batch)


def copy_range(source: int, target: int, offset: int, length: int) -> None:
    """`length` bytes of `source` from `offset`, appended at `target`'s position."""
    end = offset + length
    if _COPY_FILE_RANGE is not None:
        try:
            while offset < end:
                # offset_src leaves the held descriptor's own position alone; the target's
                # position advances, as write(2)'s does.
                copied = _COPY_FILE_RANGE(source, target, end - offset, offset_src=offset)
                if not copied:
                    raise SourceChanged("the version is shorter than its blocks")
                offset += copied
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
        else:
            return
    while offset < end:
        data = os.pread(source, min(COPY_PIECE_BYTES, end - offset), offset)
        if not data:
            raise SourceChanged("the version is shorter than its blocks")
        write_all(target, [data])
        offset += len(data)


def _empty(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
