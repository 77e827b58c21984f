"""Writing FILE by copying unchanged blocks from the last version (filecopy.py, encoder.py).

Every version written must be byte for byte `encode_document`'s, whether its blocks were
encoded or copied, whether copy_file_range(2) or pread(2) copied them, and whatever happened
to the version copied from (edited in place, truncated, a failed write in between).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicors.errors import HttpError
from minicors.jsonapi import encoder as encoder_module
from minicors.jsonapi import filecopy, fileio, persist
from minicors.jsonapi.encoder import BLOCK_ITEMS, DocumentEncoder, Span
from minicors.jsonapi.filecopy import Source, SourceChanged, write_version
from minicors.jsonapi.fileio import Stamp
from minicors.jsonapi.persist import DocumentFile
from minicors.jsonapi.store import (
    Document,
    JsonValue,
    create_item,
    delete_item,
    encode_document,
    replace_item,
)


def start_document() -> Document:
    return {
        "c": [{"id": n, "t": "é" * (n % 3), "done": n % 2 == 0} for n in range(1, 301)],
        "s": {"k": 1},
        "d": [{"id": f"k{n}"} for n in range(70)],
    }


class Versions:
    """Versions of FILE written as persist.py writes them, each copying from the last."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.encoder = DocumentEncoder()
        self.fds: list[int] = []
        self.source: Source | None = None

    def write(self, document: Document) -> bytes:
        path = self.directory / f"v{len(self.fds)}.json"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.fds.append(fd)
        done = write_version(fd, self.encoder, document, self.source)
        stamp = Stamp.of(os.fstat(fd))
        if done is not None:
            self.encoder.adopt(done, stamp)
        self.source = Source(fd, stamp) if self.encoder.version == stamp else None
        return path.read_bytes()

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)


@pytest.fixture
def versions(tmp_path: Path) -> Iterator[Versions]:
    written = Versions(tmp_path)
    yield written
    written.close()


def apply(document: Document, op: str, number: int) -> Document:
    try:
        if op == "create":
            return create_item(document, "c", {"n": number})[0]
        if op == "patch":
            return replace_item(document, "c", str(number), {"v": [number]}, mode="merge")[0]
        if op == "delete":
            return delete_item(document, "c", str(number))[0]
    except Exception:  # gone already: nothing changed
        return document
    if op == "add":
        return {**document, f"new{number % 3}": [{"id": number}] * (number % 140)}
    if op == "drop":
        return {k: v for k, v in document.items() if k != sorted(document)[number % len(document)]}
    return {**document, "s": {"k": number}}  # "singular": a resource between collections


OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "patch", "delete", "add", "drop", "singular"]),
        st.integers(1, 400),
    ),
    max_size=25,
)


@given(OPS)
@settings(max_examples=40, deadline=None)
def test_every_version_copied_from_the_last_is_exactly_encode_document(
    ops: list[tuple[str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        written = Versions(Path(directory))
        try:
            document = start_document()
            assert written.write(document) == encode_document(document)
            for op, number in ops:
                document = apply(document, op, number)
                assert written.write(document) == encode_document(document)
        finally:
            written.close()


def pieces_after(document: Document, changed: Document) -> list[Any]:
    encoder = DocumentEncoder()
    assert encoder.learn(document, encode_document(document), "v1")
    return list(encoder.start(changed).pieces())


def encoded_blocks(pieces: list[Any]) -> int:
    return sum(isinstance(p, bytes) and p.startswith(b"{\n      ") for p in pieces)


def test_a_patch_encodes_its_block_and_copies_the_rest_in_two_ranges() -> None:
    document = start_document()
    changed = replace_item(document, "c", "150", {"v": 1}, mode="merge")[0]
    pieces = pieces_after(document, changed)
    spans = [p for p in pieces if isinstance(p, Span)]
    # Blocks before the item: one range; after it, the rest of "c": one range; "d": one.
    assert (len(spans), encoded_blocks(pieces)) == (3, 1)
    assert sum(s.length for s in spans) > len(encode_document(document)) * 0.7


def test_an_append_encodes_the_last_block_only() -> None:
    document = start_document()
    changed = create_item(document, "c", {"n": 1})[0]
    pieces = pieces_after(document, changed)
    assert encoded_blocks(pieces) == 1
    assert len([p for p in pieces if isinstance(p, Span)]) == 2


def test_a_delete_encodes_every_block_after_it_and_copies_those_before() -> None:
    document = start_document()
    changed = delete_item(document, "c", str(2 * BLOCK_ITEMS + 1))[0]  # first of block 2
    pieces = pieces_after(document, changed)
    assert encoded_blocks(pieces) == len(range(2 * BLOCK_ITEMS, 299, BLOCK_ITEMS))
    assert len([p for p in pieces if isinstance(p, Span)]) == 2  # blocks 0-1 of "c", and "d"


def loaded(db_file: Path) -> tuple[DocumentFile, Document, Stamp]:
    """FILE written with start_document(), then read by a DocumentFile."""
    db_file.write_bytes(encode_document(start_document()))
    file = DocumentFile(str(db_file))
    return (file, *file.read())


def test_the_first_write_after_a_read_copies_from_the_version_read(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, base, stamp = loaded(db_file)
    assert file.encoder.version == stamp
    encoded: list[int] = []
    real = encoder_module._encoded_items

    def counting(part: Any) -> bytes:
        encoded.append(len(part))
        return real(part)

    monkeypatch.setattr(encoder_module, "_encoded_items", counting)
    op = lambda d: replace_item(d, "c", "5", {"v": 2}, mode="merge")  # noqa: E731
    result = file.commit(base, stamp, [op])
    assert db_file.read_bytes() == encode_document(result.document)
    assert encoded == [BLOCK_ITEMS]  # one block encoded, the rest copied
    assert file.encoder.version == result.stamp


@pytest.mark.parametrize(
    "text",
    [
        '{"c": [{"id": 1}, {"id": 2}], "s": {}}',  # compact, as written by hand
        '\ufeff{\n  "c": [\n    {\n      "id": 1\n    }\n  ]\n}\n',  # a BOM before it
        '{\n  "c": [\n    {\n      "id": 1\n    }\n  ]\n}',  # no final newline
        '{\n  "c": [\n    {\n      "t": "\\ud800"\n    }\n  ]\n}\n',  # a lone surrogate
    ],
)
def test_a_file_not_in_minicors_form_is_written_whole_and_exact(db_file: Path, text: str) -> None:
    db_file.write_text(text, encoding="utf-8")
    file = DocumentFile(str(db_file))
    base, stamp = file.read()
    assert file.encoder.version is None  # its offsets would mean nothing
    result = file.commit(base, stamp, [lambda d: create_item(d, "c", {"n": 1})])
    assert db_file.read_bytes() == encode_document(result.document)
    # A lone surrogate has no UTF-8 form: that FILE is written escaped, with no blocks.
    assert file.encoder.version == (None if "ud800" in text else result.stamp)
    again = file.commit(result.document, result.stamp, [lambda d: create_item(d, "c", {})])
    assert db_file.read_bytes() == encode_document(again.document)


def test_a_version_edited_in_place_is_not_copied_from(versions: Versions) -> None:
    document = start_document()
    versions.write(document)
    assert versions.source is not None
    os.pwrite(versions.source.fd, b"X", 40)  # an editor that saves in place, same size
    with pytest.raises(SourceChanged):
        versions.write(create_item(document, "c", {"n": 1})[0])


def restamped(versions: Versions) -> Source:
    """The held version as if its stamp had not moved (a coarse clock: same tick, same size)."""
    source = versions.source
    assert source is not None
    versions.source = Source(source.fd, Stamp.of(os.fstat(source.fd)))
    versions.encoder.version = versions.source.stamp
    return versions.source


@pytest.mark.parametrize("where", ["in a block", "in a separator"])
def test_an_edit_the_stamp_cannot_show_is_caught_by_the_blocks_checksums(
    versions: Versions, where: str
) -> None:
    document = start_document()
    text = versions.write(document)
    assert versions.source is not None
    boundary = text.rindex(b",\n    ", 0, text.index(b'"id": 129,'))  # blocks 1 and 2 meet
    at = text.index(b'"id": 150') if where == "in a block" else boundary
    os.pwrite(versions.source.fd, b"X", at)
    restamped(versions)
    with pytest.raises(SourceChanged):
        versions.write(replace_item(document, "c", "3", {"v": 1}, mode="merge")[0])


def test_a_version_edited_in_place_during_the_copy_is_not_used(
    versions: Versions, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = start_document()
    versions.write(document)
    source = versions.source
    assert source is not None
    real = filecopy.copy_span

    def copy_then_edit(src: int, target: int, span: Span) -> None:
        real(src, target, span)  # checked and copied: only the stamp taken after can notice
        os.pwrite(source.fd, b"X", span.offset)

    monkeypatch.setattr(filecopy, "copy_span", copy_then_edit)
    with pytest.raises(SourceChanged):
        versions.write(replace_item(document, "c", "100", {"v": 1}, mode="merge")[0])


def test_a_version_shorter_than_its_blocks_is_not_used(versions: Versions) -> None:
    document = start_document()
    versions.write(document)
    assert versions.source is not None
    os.ftruncate(versions.source.fd, 100)
    restamped(versions)  # only the copy can notice the missing bytes
    with pytest.raises(SourceChanged):
        versions.write(replace_item(document, "c", "3", {"v": 1}, mode="merge")[0])


@pytest.mark.parametrize("piece", [1, 7, 5_000])
def test_copies_in_small_pieces_give_the_same_bytes(
    versions: Versions, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    monkeypatch.setattr(filecopy, "COPY_PIECE_BYTES", piece)  # a block or a few per read
    document = start_document()
    versions.write(document)
    for number in (10, 200, 290):
        document = replace_item(document, "c", str(number), {"v": 1}, mode="merge")[0]
        assert versions.write(document) == encode_document(document)


def test_a_read_error_fails_the_write(versions: Versions, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any) -> bytes:
        raise OSError(errno.EIO, "I/O error")

    document = start_document()
    versions.write(document)
    monkeypatch.setattr(os, "pread", failing)
    with pytest.raises(OSError, match="I/O error"):
        versions.write(create_item(document, "c", {})[0])


# --- a commit against outside saves (persist.py) ----------------------------------------------
def test_an_edit_no_stamp_shows_is_kept_and_the_write_applies_on_top(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system with no fine timestamps (ramfs, FAT): the editor's same-size save in place
    leaves the stamp as it was; the checksums find it, FILE is read again, the write reapplied."""
    coarse = lambda st: Stamp(  # noqa: E731 - no time fields at all
        device=st.st_dev, inode=st.st_ino, size=st.st_size, mtime_ns=0, ctime_ns=0
    )
    monkeypatch.setattr(Stamp, "of", staticmethod(coarse))
    file, base, stamp = loaded(db_file)
    first = file.commit(base, stamp, [lambda d: replace_item(d, "c", "1", {"v": 1}, mode="merge")])
    text = db_file.read_bytes()
    at = text.index(b'"id": 200')
    with open(db_file, "r+b") as editor:  # in place, same size: "id": 200 becomes 900
        editor.seek(at + len(b'"id": '))
        editor.write(b"9")
    patch = lambda d: replace_item(d, "c", "2", {"v": 2}, mode="merge")  # noqa: E731
    result = file.commit(first.document, first.stamp, [patch])
    assert result.reloaded
    assert db_file.read_bytes() == encode_document(result.document)
    items = result.document["c"]
    assert isinstance(items, list)
    assert [items[198], items[199]] == [
        {"id": 199, "t": "é", "done": False},
        {"id": 900, "t": "éé", "done": True},
    ]
    assert items[1] == {"id": 2, "t": "éé", "done": True, "v": 2}


def test_a_save_by_someone_else_while_a_commit_writes_is_kept(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, base, stamp = loaded(db_file)
    real_fsync = os.fsync
    saves = [1]

    def saved_meanwhile(fd: int) -> None:
        real_fsync(fd)
        if saves:  # an editor saves by rename after the first attempt wrote, before its rename
            saves.pop()
            edited = db_file.with_name("editor.tmp")
            edited.write_bytes(encode_document({"c": [{"id": 1, "by": "editor"}], "s": {}}))
            os.replace(edited, db_file)

    monkeypatch.setattr(os, "fsync", saved_meanwhile)
    result = file.commit(base, stamp, [lambda d: create_item(d, "c", {"n": 1})])
    assert result.reloaded
    assert result.document == {"c": [{"id": 1, "by": "editor"}, {"n": 1, "id": 2}], "s": {}}
    assert db_file.read_bytes() == encode_document(result.document)


def test_a_file_that_keeps_changing_is_a_409_and_is_left_alone(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, base, stamp = loaded(db_file)
    before = db_file.read_bytes()

    def always_changed(*args: Any) -> Any:
        raise SourceChanged("edited again")

    monkeypatch.setattr(persist, "write_version", always_changed)
    result = file.commit(base, stamp, [lambda d: create_item(d, "c", {})])
    (outcome,) = result.outcomes
    assert isinstance(outcome, HttpError)
    assert outcome.status == 409
    assert "kept changing on disk" in str(outcome)
    assert db_file.read_bytes() == before


def test_a_failed_directory_fsync_after_the_rename_keeps_the_write(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the rename is done FILE is the new version: the write is made, not rolled back."""
    file, base, stamp = loaded(db_file)
    real_fsync = os.fsync

    def failing_on_directories(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "I/O error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_on_directories)
    result = file.commit(base, stamp, [lambda d: create_item(d, "c", {"n": 1})])
    assert not isinstance(result.outcomes[0], BaseException)
    assert result.document != base
    assert db_file.read_bytes() == encode_document(result.document)


def test_a_failed_write_leaves_the_offsets_on_the_version_still_in_place(
    db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file, base, stamp = loaded(db_file)
    real_fsync = os.fsync
    failures = [OSError(errno.ENOSPC, "No space left on device")]

    def failing_once(fd: int) -> None:
        if failures:
            raise failures.pop()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_once)
    delete = lambda d: delete_item(d, "c", "1")  # noqa: E731 - shifts every block
    failed = file.commit(base, stamp, [delete])
    assert isinstance(failed.outcomes[0], Exception)
    assert (failed.document, file.encoder.version) == (base, stamp)
    patch = lambda d: replace_item(d, "c", "250", {"v": 1}, mode="merge")  # noqa: E731
    result = file.commit(base, stamp, [patch])
    assert db_file.read_bytes() == encode_document(result.document)


def test_a_lone_surrogate_writes_the_escaped_form_and_the_next_write_is_exact(
    versions: Versions,
) -> None:
    document = start_document()
    versions.write(document)
    surrogate: JsonValue = {"id": 999, "t": "\ud800"}
    document = {**document, "c": [*document["c"], surrogate]}  # type: ignore[misc]
    assert versions.write(document) == encode_document(document)
    assert versions.encoder.version is None
    document = {**document, "c": document["c"][:-1]}  # type: ignore[index]
    assert versions.write(document) == encode_document(document)
    assert versions.source is not None


# --- freed memory given back after a commit (fileio.release_free_memory) --------------------
def test_a_commit_gives_freed_memory_back(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(persist, "release_free_memory", lambda: calls.append(1))
    file = DocumentFile(str(db_file))
    base, stamp = file.read()
    result = file.commit(base, stamp, [lambda d: create_item(d, "items", {})])
    assert calls == [1]
    file.commit(result.document, result.stamp, [lambda d: (d, None)])  # nothing written
    assert calls == [1]


def test_malloc_trim_is_called_only_under_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    fileio._malloc_trim.cache_clear()
    try:
        glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):
        glibc = False
    try:
        assert (fileio._malloc_trim() is not None) == glibc
        fileio.release_free_memory()  # and calling it is harmless either way

        def unknown(name: str) -> str:
            raise ValueError(f"unrecognized configuration name: {name}")

        monkeypatch.setattr(os, "confstr", unknown)  # musl, macOS: no such name
        fileio._malloc_trim.cache_clear()
        assert fileio._malloc_trim() is None
        fileio.release_free_memory()
    finally:
        monkeypatch.undo()
        fileio._malloc_trim.cache_clear()
