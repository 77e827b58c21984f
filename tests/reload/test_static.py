"""HTML answers with --reload carry the script, and their validators, length and ranges
describe the bytes sent; nothing else changes, and without --reload nothing changes at all."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from minicors.messages import Request, Response
from minicors.options import StaticOptions
from minicors.reload import inject
from minicors.static import StaticFiles

from ..conftest import read_body

PAGE = b"<!doctype html><html><body><h1>hi</h1></body></html>\n"
TAG = b'<script src="/_minicors/reload.js" defer></script>'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "index.html.gz").write_bytes(gzip.compress(PAGE))
    (tmp_path / "app.js").write_bytes(b"console.log(1)\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("a")
    return tmp_path


def get(
    files: StaticFiles, target: str, *headers: tuple[str, str], method: str = "GET"
) -> Response:
    return files.handle(Request.build(method, target, list(headers)))


def test_an_html_page_carries_the_script_and_describes_what_is_sent(root: Path) -> None:
    plain = StaticFiles(str(root), StaticOptions())
    files = StaticFiles(str(root), StaticOptions(), inject_html=inject)
    before = get(plain, "/index.html")
    after = get(files, "/index.html", ("accept-encoding", "gzip"))
    body = read_body(after)
    read_body(before)
    assert body == PAGE.replace(b"</body>", TAG + b"</body>")
    assert after.header(b"content-encoding") is None  # the .gz sibling holds no script
    etag = after.header(b"etag")
    assert etag is not None and etag != before.header(b"etag")
    # The same page by HEAD: same validators and length, no body.
    head = get(files, "/index.html", method="HEAD")
    assert head.header(b"etag") == etag
    assert isinstance(head.body, bytes) and len(head.body) == len(body)
    # A conditional request against the injected ETag, and a range of the injected bytes.
    assert get(files, "/index.html", ("if-none-match", etag.decode())).status == 304
    ranged = get(files, "/index.html", ("range", f"bytes=-{len(TAG) + 20}"))
    assert ranged.status == 206
    assert read_body(ranged) == body[-(len(TAG) + 20) :]
    assert (
        ranged.header(b"content-range")
        == f"bytes {len(body) - len(TAG) - 20}-{len(body) - 1}/{len(body)}".encode()
    )
    # A directory's index and a listing are HTML answers too.
    assert TAG in read_body(get(files, "/"))
    assert TAG in read_body(get(files, "/docs/"))


def test_other_files_are_untouched(root: Path) -> None:
    plain = StaticFiles(str(root), StaticOptions())
    files = StaticFiles(str(root), StaticOptions(), inject_html=inject)
    a, b = get(plain, "/app.js"), get(files, "/app.js")
    assert read_body(a) == read_body(b) == b"console.log(1)\n"
    assert a.header(b"etag") == b.header(b"etag")


def test_without_reload_no_byte_changes(root: Path) -> None:
    files = StaticFiles(str(root), StaticOptions())
    assert read_body(get(files, "/index.html")) == PAGE
    assert TAG not in read_body(get(files, "/docs/"))
    assert get(files, "/_minicors/reload.js").status == 404  # not reserved without --reload
