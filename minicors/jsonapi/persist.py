"""FILE on disk: loading it, writing it durably, sharing fsyncs between writers, noticing edits.

A write is a pure function `document -> (document, result)`.  Writers queue their functions; the
first to take the lock becomes the leader and commits everything queued so far as one batch (group
commit): in a worker thread it applies them in order, writes the result to a temporary file in the
same directory, fsyncs it, renames it over FILE and fsyncs the directory, and only then does any of
them get its answer.  If that fails, the in-memory document stays as it was (rollback) and each
writer of the batch gets 500/507.  Rule for edits made outside minicors: before a batch, FILE's
stamp (inode, size, mtime, ctime) is compared with the one we last read or wrote; if it changed,
FILE is read again and the batch is applied on top of that version.  So it is when the write finds
the version it copies from edited (filecopy.py), or FILE saved by someone else just before the
rename (then up to SAVE_ATTEMPTS times).  An edit that is not valid JSON is never overwritten:
writes get 409 until it is fixed, and reads keep the last good version."""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import stat
import tempfile
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import trio

from ..errors import DocumentUnreadable, HttpError, JsonSyntaxError
from .encoder import DocumentEncoder
from .filecopy import Source, SourceChanged, write_version
from .fileio import (
    Stamp,
    close_all,
    http_error_for,
    read_all,
    release_free_memory,
    remove_stale,
    unreadable,
)
from .store import Document, IdIndex, batch, parse_json

log = logging.getLogger("minicors.jsonapi")

Op = Callable[[Document], tuple[Document, object]]
HELD_VERSIONS = 4  # open descriptors kept on recent versions of FILE (see DocumentFile._held)
GATHER_MAX_S = 0.005  # after a batch of N writers, wait this long at most for N to queue again
SAVE_ATTEMPTS = 3  # FILE changed on disk during each of these: 409, retry later
FREEZE_BYTES = 1 << 20  # a FILE this large: shared strings, out of the garbage collector's sight


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """What a commit did: the document and stamp now current, and each write's outcome."""

    document: Document
    stamp: Stamp | None
    outcomes: tuple[object | BaseException, ...]  # a result, or the exception for that write
    reloaded: bool = False  # FILE had been changed outside minicors and was read again


class DocumentFile:
    """The synchronous half: every method may block, so the trio side calls them in a thread."""

    def __init__(self, path: str, ids: IdIndex | None = None) -> None:
        self.ids = ids or IdIndex()  # the id index, warmed on every read
        self.shown = path  # as the user wrote it, for messages
        self.path = os.path.realpath(path)  # write through a symlink, never over it
        self.directory = os.path.dirname(self.path)
        self.name = os.path.basename(self.path)
        # Used by one commit or read at a time (the lock); its offsets refer to a held version.
        self.encoder = DocumentEncoder()
        self.written: Stamp | None = None  # FILE as our last rename left it, set at once
        # Descriptors of the versions we last read or wrote, kept open so that their inode
        # numbers cannot be reused: timestamps are coarse (a clock tick), so a new file with a
        # recycled inode and the same size could otherwise look unchanged.
        self._held: dict[Stamp, int] = {}
        weakref.finalize(self, close_all, self._held)

    def stamp(self) -> Stamp | None:
        try:
            return Stamp.of(os.stat(self.path))
        except OSError:
            return None

    def read(self) -> tuple[Document, Stamp]:
        """The document and the stamp of the very bytes it was parsed from."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise unreadable(self.shown, exc) from None
        try:
            stamp = Stamp.of(os.fstat(fd))
            data = read_all(fd)
        except OSError as exc:  # e.g. FILE is a directory (EISDIR)
            os.close(fd)
            raise unreadable(self.shown, exc) from None
        large = len(data) >= FREEZE_BYTES
        try:
            document = self._parse(data, share=large)
            # Encode once now and check it against the bytes read, so that the first write
            # re-encodes only what it changes and copies the rest from this version (the
            # encoder's blocks); and find ids by index from the start.
            self.encoder.learn(document, data, stamp)
            del data
            self.ids.warm(document)
        except BaseException:
            os.close(fd)
            raise
        # The document lives until the next reload: moving it out of the collector's sight
        # keeps every full collection from walking its hundreds of thousands of objects
        # (they are still freed by reference counting; JSON values hold no cycles).
        if large:
            gc.collect()
            gc.freeze()
            release_free_memory()  # the parser's and the encoding's temporaries
        self._hold(stamp, fd)
        return document, stamp

    def _hold(self, stamp: Stamp, fd: int) -> None:
        previous = self._held.pop(stamp, None)
        if previous is not None:
            os.close(previous)
        self._held[stamp] = fd
        while len(self._held) > HELD_VERSIONS:
            os.close(self._held.pop(next(iter(self._held))))

    def _parse(self, data: bytes, *, share: bool = False) -> Document:
        try:
            value = parse_json(data.decode("utf-8-sig"), share=share)
        except UnicodeDecodeError as exc:
            raise DocumentUnreadable(
                f"{self.shown} is not UTF-8 (bad byte at offset {exc.start})",
                "save it as UTF-8",
            ) from None
        except JsonSyntaxError as exc:
            raise DocumentUnreadable(
                f"{self.shown} is not valid JSON: {exc}", "fix the file at that position"
            ) from None
        if not isinstance(value, dict):
            raise DocumentUnreadable(
                f"{self.shown} holds {_kind(value)} at the top level, not an object",
                'wrap it in an object whose keys name the resources, e.g. {"items": [...]}',
            )
        return value

    @contextmanager
    def _directory_locked(self) -> Iterator[int]:
        """An exclusive flock on the directory: two minicors processes never interleave writes."""
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def commit(self, base: Document, base_stamp: Stamp | None, ops: Sequence[Op]) -> Batch:
        """Apply `ops` in order on top of FILE's current version and persist them, or none."""
        with self._directory_locked() as directory_fd:
            reloaded = False
            for attempt in range(SAVE_ATTEMPTS):
                current = self.stamp()
                if current is not None and (attempt or current != base_stamp):  # or a retry
                    try:
                        base, base_stamp = self.read()
                    except DocumentUnreadable as exc:
                        refusal = HttpError(
                            409,
                            f"{exc}; it was edited outside minicors, so it is not overwritten: "
                            "fix the file, then retry",
                        )
                        outcomes = (refusal,) * len(ops)
                        return Batch(document=base, stamp=base_stamp, outcomes=outcomes)
                    reloaded, current = True, base_stamp
                    log.info("minicors: %s changed on disk; writes apply on top of it", self.shown)
                elif current is None and base_stamp is not None:
                    log.warning("minicors: %s had disappeared; writing it again", self.shown)
                document, results = _applied(base, ops)
                if document is base:
                    return Batch(document=base, stamp=base_stamp, outcomes=results)
                try:
                    stamp = self._replace(document, directory_fd, current, publish=not reloaded)
                except SourceChanged:
                    continue
                except (OSError, ValueError, RecursionError) as exc:
                    log.error("minicors: could not save %s: %s", self.shown, exc)  # noqa: TRY400
                    error = http_error_for(exc, self.shown)
                    failed = tuple(o if isinstance(o, BaseException) else error for o in results)
                    return Batch(
                        document=base, stamp=base_stamp, outcomes=failed, reloaded=reloaded
                    )
                release_free_memory()  # what the encoding and the batch's old versions freed
                return Batch(document=document, stamp=stamp, outcomes=results, reloaded=reloaded)
        busy = HttpError(409, f"{self.shown} kept changing on disk while it was saved; retry")
        return Batch(
            document=base, stamp=base_stamp, outcomes=(busy,) * len(ops), reloaded=reloaded
        )

    def _replace(
        self, document: Document, directory_fd: int, expected: Stamp | None, *, publish: bool
    ) -> Stamp:
        """Temporary file, fsync, rename, fsync the directory: FILE is whole at every instant.
        `SourceChanged` when FILE is no longer the `expected` version just before the rename
        (saved by someone else meanwhile: their save must not be overwritten unseen).

        `publish` sets `written` as soon as the rename is done, telling readers that FILE now
        differs from memory only by our own unacknowledged writes (never the case when the
        batch was applied on top of an outside version: that part is already acknowledged).
        """
        try:
            old = os.stat(self.path)
        except FileNotFoundError:
            old = None
        fd, temporary = tempfile.mkstemp(
            prefix=f".{self.name}.{os.getpid()}.", suffix=".tmp", dir=self.directory
        )
        try:
            if old is not None:
                os.fchmod(fd, stat.S_IMODE(old.st_mode))  # mkstemp made it 0600: keep FILE's
                if os.geteuid() == 0:
                    with suppress(OSError):
                        os.fchown(fd, old.st_uid, old.st_gid)
            source = self._source() if expected is not None else None  # FILE gone: encode all
            done = write_version(fd, self.encoder, document, source)
            os.fsync(fd)  # the bytes are on disk before the name points at them
            if self.stamp() != expected:
                raise SourceChanged("FILE was saved by someone else meanwhile")
            os.replace(temporary, self.path)
            stamp = Stamp.of(os.fstat(fd))
            if publish:
                self.written = stamp
            if done is not None:  # only now: a failed write leaves the offsets on the old one
                self.encoder.adopt(done, stamp)
        except BaseException:
            os.close(fd)
            with suppress(OSError):
                os.unlink(temporary)
            raise
        self._hold(stamp, fd)
        try:
            os.fsync(directory_fd)  # ... and the rename itself survives a crash
        except OSError as exc:  # FILE is the new version now: the write is made, not undone
            log.warning(
                "minicors: %s saved, but its directory could not be synced: %s", self.name, exc
            )
        return stamp

    def _source(self) -> Source | None:
        """The held version the encoder's offsets refer to (the last one read or written)."""
        version = self.encoder.version
        if not isinstance(version, Stamp) or version not in self._held:
            return None
        return Source(self._held[version], version)

    def remove_stale_temporaries(self) -> None:
        """Temporary files left by a minicors that was killed mid-write (pid no longer alive)."""
        remove_stale(self.directory, f".{self.name}.")


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a scalar"


@dataclass(slots=True, eq=False)
class _Ticket:
    op: Op
    taken: bool = False
    done: bool = False
    outcome: object | BaseException = None


class DurableDocument:
    """The committed document (what readers see) and the queue of writes waiting to join it."""

    def __init__(self, path: str, *, group_commit: bool = True, ids: IdIndex | None = None) -> None:
        self.file = DocumentFile(path, ids)
        self.document, stamp = self.file.read()  # DocumentUnreadable: the caller says how
        self.stamp: Stamp | None = stamp
        self.group_commit = group_commit
        self.commits = 0  # batches written (the benchmark reports writes per fsync)
        self._last_batch = 0  # writers in the last batch
        self._gathered: trio.Event | None = None
        self._lock = trio.Lock()
        self._queue: deque[_Ticket] = deque()
        self._bad_stamp: Stamp | None = None
        self._missing = False

    async def apply(self, op: Op) -> object:
        """Run `op` on the document, persist, and return its result (or raise its error)."""
        ticket = _Ticket(op=op)
        self._queue.append(ticket)
        if self._gathered is not None and len(self._queue) >= self._last_batch:
            self._gathered.set()
        try:
            async with self._lock:
                if not ticket.taken and self.group_commit and self._last_batch > 1:
                    # Writers were concurrent a moment ago: they all got their answers at
                    # once and their next writes are arriving now.  Gathering them briefly
                    # lets them share one fsync instead of alternating batches of 1 and N-1.
                    await self._gather()
                if not ticket.taken:
                    batch = self._take(ticket)
                    self._last_batch = len(batch)
                    # Shielded: once a batch started, every writer in it must get its answer.
                    with trio.CancelScope(shield=True):
                        await self._commit(batch)
        finally:
            if not ticket.taken:  # cancelled while waiting: never applied
                self._queue.remove(ticket)
        if not ticket.done:
            raise RuntimeError("write abandoned by a failed batch")
        if isinstance(ticket.outcome, BaseException):
            raise ticket.outcome
        return ticket.outcome

    async def _gather(self) -> None:
        if len(self._queue) >= self._last_batch:
            return
        self._gathered = trio.Event()  # set by `apply` once as many writers are queued
        with trio.move_on_after(GATHER_MAX_S):
            await self._gathered.wait()
        self._gathered = None

    def _take(self, ticket: _Ticket) -> list[_Ticket]:
        if self.group_commit:
            batch = list(self._queue)  # everything that queued while the last fsync ran
            self._queue.clear()
        else:
            batch = [ticket]
            self._queue.remove(ticket)
        for queued in batch:
            queued.taken = True
        return batch

    async def _commit(self, batch: list[_Ticket]) -> None:
        try:
            result = await trio.to_thread.run_sync(
                self.file.commit, self.document, self.stamp, [t.op for t in batch]
            )
        except BaseException as exc:
            for ticket in batch:
                ticket.outcome, ticket.done = exc, True
            raise
        self.document, self.stamp = result.document, result.stamp
        self.commits += 1
        if result.stamp is not None:
            self._missing = False
        for ticket, outcome in zip(batch, result.outcomes, strict=True):
            ticket.outcome, ticket.done = outcome, True

    async def refresh(self) -> None:
        """Read FILE again if it changed on disk (one `stat` when it did not)."""
        stamp = self.file.stamp()
        if stamp == self.stamp or (
            stamp is not None and stamp in (self._bad_stamp, self.file.written)
        ):
            # Unchanged, known bad, or our own write still finishing its fsync: a reader may
            # see the state before that write, which is not acknowledged yet.
            return
        if stamp is None:
            if not self._missing:
                self._missing = True
                log.warning(
                    "minicors: %s disappeared; serving the last good version "
                    "(the next write recreates it)",
                    self.file.shown,
                )
            return
        async with self._lock:
            if self.file.stamp() == self.stamp:
                return  # our own write finished meanwhile
            try:
                document, stamp = await trio.to_thread.run_sync(self.file.read)
            except DocumentUnreadable as exc:
                if stamp != self._bad_stamp:
                    self._bad_stamp = stamp
                    log.warning("minicors: %s; keeping the last good version", exc)
                return
            self.document, self.stamp = document, stamp
            self._bad_stamp, self._missing = None, False
            log.info("minicors: %s changed on disk; reloaded", self.file.shown)


def _applied(base: Document, ops: Sequence[Op]) -> tuple[Document, tuple[object, ...]]:
    """`ops` applied in order to `base`; a failing op (HttpError or a bug) fails alone."""
    document = base
    outcomes: list[object | BaseException] = []
    with batch():  # the intermediate documents are never published
        for op in ops:
            try:
                document, result = op(document)
            except Exception as exc:
                outcomes.append(exc)
            else:
                outcomes.append(result)
    return document, tuple(outcomes)
