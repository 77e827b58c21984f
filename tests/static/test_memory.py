"""Small files answered from memory (static/cache.py) never outlive what the disk says.

An answer kept in memory is used only while one stat() reports the same file version, and only
for requests whose answer cannot depend on anything else.  `SETTLE_NS` is set to 0 where a test
wants a freshly written file kept at once; then the tests that change a file keep its size or
timestamps equal on purpose, so only the rule under test can notice the change.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import minicors.static.cache as static_cache
from minicors.messages import FileBody, Request, Response
from minicors.options import StaticOptions
from minicors.static import StaticFiles
from minicors.static.cache import EntityCache

from .conftest import get

JSON = b'{"id": 1, "name": "minicors"}\n'
TICK_S = 0.03  # longer than any file-system timestamp granularity (Linux: a few ms)


@pytest.fixture
def no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(static_cache, "SETTLE_NS", 0)


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The files named data.json that get opened, in order."""
    seen: list[str] = []
    real_open = os.open

    def counting_open(path: str, flags: int, *args: int, **kwargs: int) -> int:
        if str(path).endswith("data.json"):
            seen.append(str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    yield seen


def body_of(response: Response) -> bytes:
    body = response.body
    if isinstance(body, FileBody):
        try:
            assert body.fd is not None
            return os.pread(body.fd, body.length, body.offset)
        finally:
            body.close()
    assert isinstance(body, bytes)
    return body


def serve_root(tmp_path: Path, **options: object) -> StaticFiles:
    (tmp_path / "data.json").write_bytes(JSON)
    return StaticFiles(str(tmp_path), StaticOptions(**options))  # type: ignore[arg-type]


@pytest.mark.usefixtures("no_settle")
def test_a_small_file_is_answered_from_memory_without_opening_it(
    tmp_path: Path, opens: list[str]
) -> None:
    files = serve_root(tmp_path)
    first = get(files, "/data.json")
    assert first.status == 200 and first.body == JSON and first.shared
    assert len(opens) == 1
    second = get(files, "/data.json")
    assert second is first  # the very same answer, and no open() this time
    assert len(opens) == 1
    head = get(files, "/data.json", method="HEAD")
    assert head is first  # the server sends no body for HEAD; the head is the same
    assert len(opens) == 1


def test_a_file_changed_in_the_last_seconds_is_read_every_time(
    tmp_path: Path, opens: list[str]
) -> None:
    files = serve_root(tmp_path)  # just written: not settled
    for _ in range(3):
        response = get(files, "/data.json")
        assert isinstance(response.body, FileBody) and not response.shared
        assert body_of(response) == JSON
    assert len(opens) == 3


@pytest.mark.usefixtures("no_settle")
def test_same_size_same_mtime_rewrite_is_seen_through_ctime(tmp_path: Path) -> None:
    files = serve_root(tmp_path)
    path = tmp_path / "data.json"
    assert body_of(get(files, "/data.json")) == JSON
    before = path.stat()
    time.sleep(TICK_S)
    changed = JSON.replace(b"1", b"2")
    path.write_bytes(changed)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # hide it from mtime
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert body_of(get(files, "/data.json")) == changed


@pytest.mark.usefixtures("no_settle")
def test_a_file_renamed_over_is_the_new_file(tmp_path: Path) -> None:
    files = serve_root(tmp_path)
    assert body_of(get(files, "/data.json")) == JSON
    new = tmp_path / "new.json"
    new.write_bytes(b'{"id": 9, "name": "replaced"}\n')
    new.rename(tmp_path / "data.json")
    assert body_of(get(files, "/data.json")) == b'{"id": 9, "name": "replaced"}\n'


@pytest.mark.usefixtures("no_settle")
def test_a_deleted_file_is_404(tmp_path: Path) -> None:
    files = serve_root(tmp_path)
    assert get(files, "/data.json").status == 200
    (tmp_path / "data.json").unlink()
    assert get(files, "/data.json").status == 404


@pytest.mark.usefixtures("no_settle")
def test_a_file_swapped_for_a_symlink_outside_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret.json"
    secret.write_bytes(b'{"secret": true}\n')
    files = serve_root(root)
    assert body_of(get(files, "/data.json")) == JSON
    (root / "data.json").unlink()
    (root / "data.json").symlink_to(secret)
    response = get(files, "/data.json")
    assert response.status in (403, 404)
    assert b"secret" not in body_of(response)


@pytest.mark.usefixtures("no_settle")
@pytest.mark.parametrize(
    ("header", "status"),
    [
        (("Range", "bytes=0-3"), 206),
        (("If-None-Match", "*"), 304),
        (("If-Match", '"nope"'), 412),
        (("If-Modified-Since", "Sun, 01 Jan 2090 00:00:00 GMT"), 304),
        (("If-Unmodified-Since", "Mon, 01 Jan 1990 00:00:00 GMT"), 412),
    ],
)
def test_ranges_and_preconditions_are_always_evaluated(
    tmp_path: Path, header: tuple[str, str], status: int
) -> None:
    files = serve_root(tmp_path)
    kept = get(files, "/data.json")
    assert kept.shared
    response = get(files, "/data.json", header)
    assert response.status == status and response is not kept
    if isinstance(response.body, FileBody):
        response.body.close()


@pytest.mark.usefixtures("no_settle")
def test_accept_encoding_takes_the_full_path_for_compressible_types(tmp_path: Path) -> None:
    files = serve_root(tmp_path)
    (tmp_path / "data.json.gz").write_bytes(b"\x1f\x8bgzip-stand-in")
    plain = get(files, "/data.json")
    assert plain.shared and plain.header(b"content-encoding") is None
    gz = get(files, "/data.json", ("Accept-Encoding", "gzip"))
    assert gz.header(b"content-encoding") == b"gzip"
    assert body_of(gz) == b"\x1f\x8bgzip-stand-in"
    assert get(files, "/data.json") is plain  # the identity answer is still kept


@pytest.mark.usefixtures("no_settle")
def test_a_type_never_compressed_is_kept_whatever_accept_encoding_says(tmp_path: Path) -> None:
    (tmp_path / "pixel.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    files = serve_root(tmp_path)
    ae = ("Accept-Encoding", "gzip, br")
    first = get(files, "/pixel.png", ae)
    assert first.shared
    assert get(files, "/pixel.png", ae) is first
    assert get(files, "/pixel.png") is first


@pytest.mark.usefixtures("no_settle")
def test_only_files_reached_directly_are_kept(tmp_path: Path) -> None:
    files = serve_root(tmp_path, spa=True)
    (tmp_path / "index.html").write_bytes(b"<!doctype html><title>app</title>\n")
    assert not get(files, "/").shared  # a directory's index.html
    page = get(files, "/settings", ("Accept", "text/html"))  # the SPA fallback
    assert page.status == 200 and not page.shared
    if isinstance(page.body, FileBody):
        page.body.close()
    (tmp_path / "settings").write_bytes(b"now a real file\n")
    assert body_of(get(files, "/settings", ("Accept", "text/html"))) == b"now a real file\n"


@pytest.mark.usefixtures("no_settle")
def test_files_over_the_entry_size_are_streamed(tmp_path: Path) -> None:
    big = b"x" * (static_cache.ENTRY_MAX_BYTES + 1)
    (tmp_path / "big.txt").write_bytes(big)
    files = serve_root(tmp_path)
    response = get(files, "/big.txt")
    assert isinstance(response.body, FileBody) and not response.shared
    assert body_of(response) == big


def test_the_budget_drops_the_oldest_entries(tmp_path: Path) -> None:
    path = str(tmp_path)
    entry = static_cache.ENTRY_OVERHEAD_BYTES + len("/a") + len(path) + 100
    cache = EntityCache(budget_bytes=3 * entry)
    st = os.stat(tmp_path)
    for name in ("a", "b", "c", "d"):
        response = Response(status=200, body=b"z" * 100, shared=True)
        cache.store(f"/{name}", path, st, response, any_coding=True)
    assert len(cache) == 3
    request = Request.build("GET", "/a")
    assert cache.lookup(request) is None  # the oldest went first
    assert cache.lookup(Request.build("GET", "/d")) is not None
    too_big = Response(status=200, body=b"z" * cache.budget_bytes, shared=True)
    cache.store("/huge", path, st, too_big, any_coding=True)
    assert cache.lookup(Request.build("GET", "/huge")) is None
    assert len(cache) == 3


def test_long_keys_count_against_the_budget(tmp_path: Path) -> None:
    cache = EntityCache(budget_bytes=64 * 1024)
    st = os.stat(tmp_path)
    for i in range(100):
        key = f"/{i}-" + "k" * 8000
        cache.store(key, str(tmp_path), st, Response(status=200, body=b"1"), any_coding=True)
    assert len(cache) <= 64 * 1024 // 8000


@pytest.mark.usefixtures("no_settle")
def test_only_one_spelling_of_a_url_is_kept(tmp_path: Path, opens: list[str]) -> None:
    files = serve_root(tmp_path)
    kept = get(files, "/data.json")
    assert kept.shared
    others = ["//data.json", "/%64ata.json", "/data%2Ejson"]
    for spelling in others * 2:
        response = get(files, spelling)
        assert response.status == 200 and not response.shared, spelling
        assert body_of(response) == JSON
    assert len(opens) == 1 + 2 * len(others)  # every other spelling opens the file
    assert get(files, "/data.json") is kept
    # The absolute form is the same path once its scheme and host are dropped (Request.path).
    assert get(files, "http://any.test/data.json") is kept
    assert len(opens) == 1 + 2 * len(others)


@pytest.mark.usefixtures("no_settle")
def test_names_are_kept_under_the_spelling_browsers_send(tmp_path: Path) -> None:
    (tmp_path / "café menu.json").write_bytes(JSON)
    files = serve_root(tmp_path)
    first = get(files, "/caf%C3%A9%20menu.json")
    assert first.shared and first.body == JSON
    assert get(files, "/caf%C3%A9%20menu.json") is first


@pytest.mark.usefixtures("no_settle")
def test_head_alone_keeps_nothing(tmp_path: Path, opens: list[str]) -> None:
    files = serve_root(tmp_path)
    assert not get(files, "/data.json", method="HEAD").shared
    assert not get(files, "/data.json", method="HEAD").shared
    assert get(files, "/data.json").shared
    assert len(opens) == 3


@pytest.mark.usefixtures("no_settle")
def test_a_failing_read_leaves_no_descriptor_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = serve_root(tmp_path)

    def failing_pread(fd: int, length: int, offset: int) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "pread", failing_pread)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        response = get(files, "/data.json")
        assert isinstance(response.body, FileBody)  # the ordinary path takes it on
        response.body.close()  # as the server does after trying to send it
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_shared_answer_must_carry_bytes(tmp_path: Path) -> None:
    body = FileBody(path=str(tmp_path / "x"), offset=0, length=1)
    with pytest.raises(ValueError, match="bytes body"):
        Response(status=200, body=body, shared=True)
    assert Response(status=200, body=b"x", shared=True).shared


def test_the_kept_answer_is_the_answer_the_full_path_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pixel.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    files = serve_root(tmp_path, gzip=True, cache_control="public, max-age=60")
    full = {name: get(files, name) for name in ("/data.json", "/pixel.png")}
    monkeypatch.setattr(static_cache, "SETTLE_NS", 0)
    for name, expected in full.items():
        get(files, name)  # kept now
        kept = get(files, name)
        assert kept.shared, name
        assert (kept.status, kept.headers) == (expected.status, expected.headers), name
        assert kept.body == body_of(expected), name
