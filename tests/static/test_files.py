"""StaticFiles.handle on a real temporary tree: files, validators, conditionals, ranges, HEAD.

Security (traversal, symlinks, dotfiles) is in test_security.py; compression, listings,
SPA mode and caching in test_features.py; the wire in test_wire.py.
"""

from __future__ import annotations

import os
from email.utils import formatdate
from pathlib import Path

import pytest

from minicors.errors import ConfigError
from minicors.messages import FileBody, Request
from minicors.options import StaticOptions
from minicors.static import StaticFiles

from ..conftest import read_body
from .conftest import get, header, open_fds

MTIME = 1_700_000_000  # Tue, 14 Nov 2023 22:13:20 GMT
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"
DIGITS = b"0123456789" * 10  # 100 bytes


def etag_of(files: StaticFiles, target: str) -> str:
    value = header(files.handle(Request.build("HEAD", target)), "etag")
    assert value is not None
    return value


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "digits.txt").write_bytes(DIGITS)
    (tmp_path / "index.html").write_text("<!doctype html><h1>home</h1>\n")
    (tmp_path / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("<h1>docs</h1>\n")
    (tmp_path / "noindex").mkdir()
    for path in tmp_path.rglob("*"):
        os.utime(path, (MTIME, MTIME))
    return tmp_path


def test_missing_root_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        StaticFiles(str(tmp_path / "nope"), StaticOptions())
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        StaticFiles(str(tmp_path / "file"), StaticOptions())


def test_bad_cache_control_is_a_config_error(tmp_path: Path) -> None:
    for bad in ("no-cache\r\nx-evil: 1", "a\x01b", "max-age=\u00e9"):
        with pytest.raises(ConfigError, match="cache_control"):
            StaticFiles(str(tmp_path), StaticOptions(cache_control=bad))


def test_get_file(files: StaticFiles) -> None:
    r = get(files, "/digits.txt")
    assert r.status == 200
    assert read_body(r) == DIGITS
    assert header(r, "content-type") == "text/plain; charset=utf-8"
    assert header(r, "last-modified") == LAST_MODIFIED
    assert header(r, "accept-ranges") == "bytes"
    assert header(r, "x-content-type-options") == "nosniff"
    assert header(r, "cache-control") == "no-cache"
    etag = header(r, "etag")
    assert etag is not None and etag.startswith('"') and etag.endswith('"')
    assert header(r, "vary") is None  # no sibling, no on-the-fly gzip: nothing varies
    assert header(r, "content-length") is None  # the server derives it from the FileBody
    assert isinstance(r.body, FileBody) and r.body.length == len(DIGITS)


def test_get_keeps_an_open_descriptor_of_the_checked_file(root: Path, files: StaticFiles) -> None:
    r = get(files, "/digits.txt")
    assert isinstance(r.body, FileBody) and r.body.fd is not None
    # Replace the file after the lookup: the response still carries the checked bytes.
    os.replace(root / "img.png", root / "digits.txt")
    assert read_body(r) == DIGITS


def test_binary_type_has_no_charset(files: StaticFiles) -> None:
    r = get(files, "/img.png")
    assert header(r, "content-type") == "image/png"
    assert read_body(r).startswith(b"\x89PNG")


def test_etag_changes_with_content_and_mtime(root: Path, files: StaticFiles) -> None:
    first = etag_of(files, "/digits.txt")
    os.utime(root / "digits.txt", ns=(MTIME * 10**9 + 1, MTIME * 10**9 + 1))
    second = etag_of(files, "/digits.txt")
    (root / "digits.txt").write_bytes(DIGITS + b"!")
    third = etag_of(files, "/digits.txt")
    assert len({first, second, third}) == 3


def test_index_html_for_directory(files: StaticFiles) -> None:
    r = get(files, "/docs/")
    assert r.status == 200
    assert read_body(r) == b"<h1>docs</h1>\n"
    assert header(r, "content-type") == "text/html; charset=utf-8"
    r = get(files, "/")
    assert read_body(r).startswith(b"<!doctype html>")


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/docs", "/docs/"),
        ("/docs?x=1&y=%20", "/docs/?x=1&y=%20"),  # the query is kept
        ("//docs", "/docs/"),  # never "//docs/": that would be another host
        ("///docs?a", "/docs/?a"),
        ("/noindex", "/noindex/"),
    ],
)
def test_directory_without_slash_redirects(files: StaticFiles, target: str, location: str) -> None:
    r = get(files, target)
    assert r.status == 308
    assert header(r, "location") == location


def test_redirect_location_never_leaves_the_host(root: Path, files: StaticFiles) -> None:
    (root / "evil.example").mkdir()
    for target in ("//evil.example", "///evil.example", "//evil.example?x", "/%2Fevil.example"):
        r = get(files, target)
        location = header(r, "location") or ""
        assert not location.startswith("//"), (target, location)
        assert r.status in (308, 404)


def test_file_with_trailing_slash_is_404(files: StaticFiles) -> None:
    assert get(files, "/digits.txt/").status == 404


def test_missing_is_404(files: StaticFiles) -> None:
    r = get(files, "/nope.txt")
    assert r.status == 404
    assert read_body(r) == b"not found\n"
    assert get(files, "/nope/deeper/x.js").status == 404
    assert get(files, "/digits.txt/x").status == 404  # a file used as a directory


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "FOO"])
def test_other_methods_405(files: StaticFiles, method: str) -> None:
    r = files.handle(Request.build(method, "/digits.txt"))
    assert r.status == 405
    assert header(r, "allow") == "GET, HEAD, OPTIONS"


def test_options_answered_with_allow(files: StaticFiles) -> None:
    r = files.handle(Request.build("OPTIONS", "/digits.txt"))
    assert r.status == 204
    assert header(r, "allow") == "GET, HEAD, OPTIONS"


def test_head_has_get_headers_and_no_descriptor(files: StaticFiles) -> None:
    before = open_fds()
    g = get(files, "/digits.txt")
    h = files.handle(Request.build("HEAD", "/digits.txt"))
    assert h.status == 200
    assert h.headers == g.headers
    assert isinstance(h.body, FileBody) and h.body.fd is None and h.body.length == len(DIGITS)
    read_body(g)
    assert open_fds() == before


def test_head_ignores_range(files: StaticFiles) -> None:
    h = files.handle(Request.build("HEAD", "/digits.txt", [("range", "bytes=0-1")]))
    assert h.status == 200  # RFC 9110 §14.2: Range is defined for GET only


# --- conditional requests ------------------------------------------------------------------


def test_if_none_match_304_keeps_validators(files: StaticFiles) -> None:
    etag = etag_of(files, "/digits.txt")
    before = open_fds()
    r = get(files, "/digits.txt", ("if-none-match", etag))
    assert r.status == 304
    assert r.body == b""
    assert header(r, "etag") == etag
    assert header(r, "cache-control") == "no-cache"
    assert header(r, "last-modified") == LAST_MODIFIED
    assert open_fds() == before  # no descriptor kept for a 304
    assert get(files, "/digits.txt", ("if-none-match", f'"x", W/{etag}')).status == 304
    assert get(files, "/digits.txt", ("if-none-match", "*")).status == 304
    r = get(files, "/digits.txt", ("if-none-match", '"other"'))
    assert r.status == 200
    read_body(r)


def test_if_modified_since(files: StaticFiles) -> None:
    assert get(files, "/digits.txt", ("if-modified-since", LAST_MODIFIED)).status == 304
    later = formatdate(MTIME + 60, usegmt=True)
    assert get(files, "/digits.txt", ("if-modified-since", later)).status == 304
    earlier = formatdate(MTIME - 1, usegmt=True)
    r = get(files, "/digits.txt", ("if-modified-since", earlier))
    assert r.status == 200
    read_body(r)
    # If-None-Match wins: a non-matching tag means 200 even with a matching date.
    r = get(
        files, "/digits.txt", ("if-none-match", '"other"'), ("if-modified-since", LAST_MODIFIED)
    )
    assert r.status == 200
    read_body(r)


def test_head_conditional(files: StaticFiles) -> None:
    r = files.handle(Request.build("HEAD", "/digits.txt", [("if-modified-since", LAST_MODIFIED)]))
    assert r.status == 304


def test_if_match_and_if_unmodified_since_412(files: StaticFiles) -> None:
    etag = etag_of(files, "/digits.txt")
    before = open_fds()
    r = get(files, "/digits.txt", ("if-match", '"stale"'))
    assert r.status == 412
    assert header(r, "etag") == etag
    assert open_fds() == before
    earlier = formatdate(MTIME - 1, usegmt=True)
    assert get(files, "/digits.txt", ("if-unmodified-since", earlier)).status == 412
    for ok in (
        get(files, "/digits.txt", ("if-match", etag)),
        get(files, "/digits.txt", ("if-match", "*")),
    ):
        assert ok.status == 200
        read_body(ok)
    r = get(files, "/digits.txt", ("if-unmodified-since", LAST_MODIFIED))
    assert r.status == 200
    read_body(r)


# --- ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "content_range", "expected"),
    [
        ("bytes=0-9", "bytes 0-9/100", DIGITS[0:10]),
        ("bytes=95-", "bytes 95-99/100", DIGITS[95:]),
        ("bytes=-3", "bytes 97-99/100", DIGITS[97:]),
        ("bytes=50-50", "bytes 50-50/100", DIGITS[50:51]),
        ("bytes=90-500", "bytes 90-99/100", DIGITS[90:]),
    ],
)
def test_range_206(files: StaticFiles, spec: str, content_range: str, expected: bytes) -> None:
    r = get(files, "/digits.txt", ("range", spec))
    assert r.status == 206
    assert header(r, "content-range") == content_range
    assert header(r, "content-type") == "text/plain; charset=utf-8"
    assert header(r, "etag") is not None
    assert read_body(r) == expected


@pytest.mark.parametrize("spec", ["bytes=100-", "bytes=-0", "bytes=1000-2000"])
def test_range_416(files: StaticFiles, spec: str) -> None:
    before = open_fds()
    r = get(files, "/digits.txt", ("range", spec))
    assert r.status == 416
    assert header(r, "content-range") == "bytes */100"
    assert header(r, "content-type") == "text/plain; charset=utf-8"
    assert open_fds() == before


@pytest.mark.parametrize("spec", ["bytes=5-2", "bytes=a-b", "bits=0-1", "bytes=0-1,5-6"])
def test_range_ignored_gives_200(files: StaticFiles, spec: str) -> None:
    r = get(files, "/digits.txt", ("range", spec))
    assert r.status == 200
    assert header(r, "content-range") is None
    assert read_body(r) == DIGITS


def test_range_on_empty_file(files: StaticFiles) -> None:
    r = get(files, "/empty.txt", ("range", "bytes=0-"))
    assert r.status == 200
    assert read_body(r) == b""


def test_if_range(files: StaticFiles) -> None:
    etag = etag_of(files, "/digits.txt")
    cases = [
        (etag, 206),
        ('"stale"', 200),
        (f"W/{etag}", 200),  # a weak tag never satisfies If-Range
        (LAST_MODIFIED, 206),  # the exact Last-Modified date
        (formatdate(MTIME + 1, usegmt=True), 200),  # a date must match exactly
        ("nonsense", 200),
    ]
    for if_range, status in cases:
        r = get(files, "/digits.txt", ("range", "bytes=0-4"), ("if-range", if_range))
        assert r.status == status, if_range
        assert read_body(r) == (DIGITS[:5] if status == 206 else DIGITS)


def test_preconditions_before_range(files: StaticFiles) -> None:
    etag = etag_of(files, "/digits.txt")
    r = get(files, "/digits.txt", ("range", "bytes=0-4"), ("if-none-match", etag))
    assert r.status == 304
    r = get(files, "/digits.txt", ("range", "bytes=500-"), ("if-match", '"nope"'))
    assert r.status == 412


def test_no_descriptor_leaks_over_many_requests(files: StaticFiles) -> None:
    before = open_fds()
    etag = etag_of(files, "/digits.txt")
    for _ in range(50):
        for target, hdrs in [
            ("/digits.txt", ()),
            ("/digits.txt", (("range", "bytes=1-2"),)),
            ("/digits.txt", (("range", "bytes=900-"),)),
            ("/digits.txt", (("if-none-match", etag),)),
            ("/digits.txt", (("if-match", '"x"'),)),
            ("/docs/", ()),
            ("/docs", ()),
            ("/noindex/", ()),
            ("/nope", ()),
        ]:
            read_body(files.handle(Request.build("GET", target, hdrs)))
            read_body(files.handle(Request.build("HEAD", target, hdrs)))
    assert open_fds() == before
