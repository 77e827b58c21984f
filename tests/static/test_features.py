"""Compression (precompressed siblings, gzip on the fly), listings, SPA mode, Cache-Control."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from minicors.messages import FileBody, Request, StreamBody
from minicors.options import StaticOptions
from minicors.static import StaticFiles

from ..conftest import read_body
from .conftest import get, header, open_fds

APP_JS = b"console.log('identity');\n" * 100
APP_JS_BR = b"pretend-brotli-bytes"
APP_JS_GZ = gzip.compress(APP_JS, mtime=0)
BROWSER_AE = ("accept-encoding", "gzip, deflate, br, zstd")
NAVIGATE = ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "app.js").write_bytes(APP_JS)
    (tmp_path / "app.js.br").write_bytes(APP_JS_BR)
    (tmp_path / "app.js.gz").write_bytes(APP_JS_GZ)
    (tmp_path / "only-gz.css").write_bytes(b"body{}" * 300)
    (tmp_path / "only-gz.css.gz").write_bytes(gzip.compress(b"body{}" * 300))
    (tmp_path / "plain.css").write_bytes(b"p{}" * 1000)
    (tmp_path / "small.txt").write_bytes(b"tiny")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG" + b"\x00" * 5000)
    (tmp_path / "photo.png.gz").write_bytes(b"never served")
    return tmp_path


# --- precompressed siblings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_encoding", "coding", "body"),
    [
        ("gzip, deflate, br, zstd", "br", APP_JS_BR),
        ("gzip", "gzip", APP_JS_GZ),
        ("x-gzip", "gzip", APP_JS_GZ),
        ("br;q=0.5, gzip", "gzip", APP_JS_GZ),
        ("br;q=0, gzip;q=0", None, APP_JS),
        ("identity", None, APP_JS),
        (None, None, APP_JS),
        ("*", "br", APP_JS_BR),
        ("br, *;q=0", "br", APP_JS_BR),
    ],
)
def test_precompressed_negotiation(
    files: StaticFiles, accept_encoding: str | None, coding: str | None, body: bytes
) -> None:
    hdrs = [] if accept_encoding is None else [("accept-encoding", accept_encoding)]
    r = get(files, "/app.js", *hdrs)
    assert r.status == 200
    assert header(r, "content-encoding") == coding
    assert header(r, "content-type") == "text/javascript; charset=utf-8"  # of app.js, not .br
    if accept_encoding is None:
        # No negotiation asked for: no sibling is probed, identity is sent, and no Vary
        # (safe: an identity response suits every client).
        assert header(r, "vary") is None
    else:
        assert header(r, "vary") == "Accept-Encoding"  # a sibling exists, chosen or not
    assert read_body(r) == body


def test_each_variant_has_its_own_etag(files: StaticFiles) -> None:
    tags = {
        header(files.handle(Request.build("HEAD", "/app.js", [("accept-encoding", ae)])), "etag")
        for ae in ("br", "gzip", "identity")
    }
    assert len(tags) == 3


def test_304_for_compressed_variant_keeps_vary(files: StaticFiles) -> None:
    etag = header(files.handle(Request.build("HEAD", "/app.js", [BROWSER_AE])), "etag") or ""
    r = get(files, "/app.js", BROWSER_AE, ("if-none-match", etag))
    assert r.status == 304
    assert header(r, "vary") == "Accept-Encoding"
    assert header(r, "etag") == etag
    # The identity ETag does not validate the br variant.
    identity = header(files.handle(Request.build("HEAD", "/app.js")), "etag") or ""
    r = get(files, "/app.js", BROWSER_AE, ("if-none-match", identity))
    assert r.status == 200
    read_body(r)


def test_range_of_compressed_variant(files: StaticFiles) -> None:
    r = get(files, "/app.js", BROWSER_AE, ("range", "bytes=0-6"))
    assert r.status == 206
    assert header(r, "content-range") == f"bytes 0-6/{len(APP_JS_BR)}"
    assert header(r, "content-encoding") == "br"
    assert read_body(r) == APP_JS_BR[:7]


def test_only_gz_sibling(files: StaticFiles) -> None:
    r = get(files, "/only-gz.css", BROWSER_AE)
    assert header(r, "content-encoding") == "gzip"
    assert gzip.decompress(read_body(r)) == b"body{}" * 300
    r = get(files, "/only-gz.css", ("accept-encoding", "br"))
    assert header(r, "content-encoding") is None
    assert header(r, "vary") == "Accept-Encoding"
    read_body(r)


def test_no_sibling_no_vary(files: StaticFiles) -> None:
    r = get(files, "/plain.css", BROWSER_AE)
    assert header(r, "content-encoding") is None
    assert header(r, "vary") is None
    read_body(r)


def test_siblings_of_incompressible_types_are_not_used(files: StaticFiles) -> None:
    r = get(files, "/photo.png", BROWSER_AE)
    assert header(r, "content-encoding") is None
    assert header(r, "vary") is None
    assert read_body(r).startswith(b"\x89PNG")


def test_precompressed_off(root: Path) -> None:
    files = StaticFiles(str(root), StaticOptions(precompressed=False))
    r = get(files, "/app.js", BROWSER_AE)
    assert header(r, "content-encoding") is None
    assert header(r, "vary") is None
    assert read_body(r) == APP_JS


def test_sibling_symlinked_outside_is_ignored(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    (www / "a.js").write_bytes(b"let a = 1;\n")
    (tmp_path / "evil.br").write_bytes(b"SECRET")
    (www / "a.js.br").symlink_to(tmp_path / "evil.br")
    files = StaticFiles(str(www), StaticOptions())
    r = get(files, "/a.js", BROWSER_AE)
    assert header(r, "content-encoding") is None
    assert read_body(r) == b"let a = 1;\n"


def test_compressed_variants_leak_no_descriptors(files: StaticFiles) -> None:
    before = open_fds()
    for _ in range(30):
        for ae in ("br", "gzip", "identity", "br;q=0"):
            read_body(get(files, "/app.js", ("accept-encoding", ae)))
            read_body(files.handle(Request.build("HEAD", "/app.js", [("accept-encoding", ae)])))
    assert open_fds() == before


# --- gzip on the fly -----------------------------------------------------------------------


@pytest.fixture
def gzipping(root: Path) -> StaticFiles:
    return StaticFiles(str(root), StaticOptions(gzip=True, gzip_min_bytes=1024))


def test_gzip_on_the_fly(gzipping: StaticFiles) -> None:
    r = get(gzipping, "/plain.css", BROWSER_AE, ("range", "bytes=0-9"))
    assert r.status == 200  # no ranges on a body compressed on the fly
    assert isinstance(r.body, StreamBody)
    assert header(r, "content-encoding") == "gzip"
    assert header(r, "vary") == "Accept-Encoding"
    assert header(r, "content-range") is None
    assert header(r, "accept-ranges") is None
    etag = header(r, "etag") or ""
    assert etag.startswith('W/"')  # the bytes depend on the compressor: a weak validator
    assert gzip.decompress(read_body(r)) == b"p{}" * 1000
    r = get(gzipping, "/plain.css", BROWSER_AE, ("if-none-match", etag))
    assert r.status == 304


def test_gzip_head_opens_nothing(gzipping: StaticFiles) -> None:
    before = open_fds()
    r = gzipping.handle(Request.build("HEAD", "/plain.css", [BROWSER_AE]))
    assert r.status == 200
    assert header(r, "content-encoding") == "gzip"
    assert read_body(r) == b""
    assert open_fds() == before


def test_gzip_not_when_refused_small_or_binary(gzipping: StaticFiles) -> None:
    r = get(gzipping, "/plain.css", ("accept-encoding", "br, gzip;q=0"))
    assert header(r, "content-encoding") is None
    assert header(r, "vary") == "Accept-Encoding"  # it could have been gzip
    assert r.status == 200
    read_body(r)
    r = get(gzipping, "/small.txt", BROWSER_AE)  # below gzip_min_bytes
    assert header(r, "content-encoding") is None
    assert header(r, "vary") is None
    read_body(r)
    r = get(gzipping, "/photo.png", BROWSER_AE)  # already compressed format
    assert header(r, "content-encoding") is None
    read_body(r)


def test_precompressed_sibling_beats_gzip_on_the_fly(gzipping: StaticFiles) -> None:
    r = get(gzipping, "/app.js", ("accept-encoding", "gzip"))
    assert isinstance(r.body, FileBody)
    assert read_body(r) == APP_JS_GZ


# --- listings ------------------------------------------------------------------------------


@pytest.fixture
def listing_root(tmp_path: Path) -> Path:
    www = tmp_path / "www"
    www.mkdir()
    (www / "<script>.txt").write_bytes(b"x")
    (www / "b file.txt").write_bytes(b"12345")
    (www / "A.txt").write_bytes(b"")
    (www / "a:b.txt").write_bytes(b"")
    (www / "Zdir").mkdir()
    (www / "adir").mkdir()
    (www / ".secret").write_bytes(b"")
    (www / ".hiddendir").mkdir()
    (tmp_path / "outside.txt").write_bytes(b"")
    (www / "out-link").symlink_to(tmp_path / "outside.txt")
    (www / "in-link").symlink_to(www / "A.txt")
    (www / "broken").symlink_to(www / "nothing")
    os.mkfifo(www / "fifo")
    return www


def test_html_listing_escapes_and_encodes(listing_root: Path) -> None:
    files = StaticFiles(str(listing_root), StaticOptions())
    r = get(files, "/")
    assert r.status == 200
    assert header(r, "content-type") == "text/html; charset=utf-8"
    page = read_body(r).decode()
    assert "<script>" not in page
    assert "&lt;script&gt;.txt" in page
    assert 'href="%3Cscript%3E.txt"' in page
    assert 'href="b%20file.txt"' in page
    assert 'href="a%3Ab.txt"' in page  # never a "a:" URL scheme
    assert 'href="adir/"' in page
    assert "12345" not in page and 'data-bytes="5"' in page
    for hidden in (".secret", ".hiddendir", "out-link", "broken", "fifo"):
        assert hidden not in page
    assert "in-link" in page
    assert 'href="../"' not in page  # nothing above ROOT


def test_json_listing_sorted_dirs_first(listing_root: Path) -> None:
    files = StaticFiles(str(listing_root), StaticOptions())
    r = get(files, "/?format=json")
    assert header(r, "content-type") == "application/json"
    items = json.loads(read_body(r))
    names = [i["name"] for i in items]
    assert names == ["adir", "Zdir", "<script>.txt", "A.txt", "a:b.txt", "b file.txt", "in-link"]
    assert items[0] == {
        "name": "adir",
        "type": "dir",
        "size": None,
        "modified": items[0]["modified"],
    }
    assert items[5]["size"] == 5 and items[5]["type"] == "file"
    assert items[5]["modified"].endswith("Z")


def test_listing_of_subdirectory_links_up(listing_root: Path) -> None:
    (listing_root / "adir" / "x y.txt").write_bytes(b"")
    files = StaticFiles(str(listing_root), StaticOptions())
    page = read_body(get(files, "/adir/")).decode()
    assert 'href="../"' in page
    assert "Index of /adir/" in page
    assert 'href="x%20y.txt"' in page


def test_listing_shows_dotfiles_when_allowed(listing_root: Path) -> None:
    files = StaticFiles(str(listing_root), StaticOptions(dotfiles=True))
    names = [i["name"] for i in json.loads(read_body(get(files, "/?format=json")))]
    assert ".secret" in names and ".hiddendir" in names
    assert "out-link" not in names


def test_listing_off_is_404(listing_root: Path) -> None:
    files = StaticFiles(str(listing_root), StaticOptions(listing=False))
    assert get(files, "/").status == 404
    assert get(files, "/adir/").status == 404


def test_index_html_beats_listing(listing_root: Path) -> None:
    (listing_root / "index.html").write_text("<p>home</p>")
    files = StaticFiles(str(listing_root), StaticOptions())
    assert read_body(get(files, "/")) == b"<p>home</p>"


# --- SPA mode ------------------------------------------------------------------------------


@pytest.fixture
def spa(tmp_path: Path) -> StaticFiles:
    (tmp_path / "index.html").write_text("<div id=app></div>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("boot()")
    return StaticFiles(str(tmp_path), StaticOptions(spa=True))


@pytest.mark.parametrize(
    ("target", "headers", "status"),
    [
        ("/settings/profile", [NAVIGATE], 200),
        ("/users/42", [("accept", "text/html")], 200),
        ("/deep/page/", [NAVIGATE], 200),
        ("/assets/missing.js", [NAVIGATE], 404),  # an asset stays a 404
        ("/favicon.ico", [NAVIGATE], 404),
        ("/settings", [("accept", "application/json")], 404),  # not a navigation
        ("/settings", [("accept", "text/html;q=0, */*")], 404),
        ("/settings", [], 404),
        ("/../etc/passwd", [NAVIGATE], 404),  # refused paths never fall back
        ("/.env", [NAVIGATE], 404),
    ],
)
def test_spa_fallback(
    spa: StaticFiles, target: str, headers: list[tuple[str, str]], status: int
) -> None:
    r = get(spa, target, *headers)
    assert r.status == status
    body = read_body(r)
    if status == 200:
        assert body == b"<div id=app></div>"
        assert header(r, "content-type") == "text/html; charset=utf-8"


def test_spa_real_files_still_win(spa: StaticFiles) -> None:
    assert read_body(get(spa, "/assets/app.js", NAVIGATE)) == b"boot()"


def test_spa_off_is_404(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("x")
    files = StaticFiles(str(tmp_path), StaticOptions())
    assert get(files, "/settings", NAVIGATE).status == 404


# --- Cache-Control -------------------------------------------------------------------------


@pytest.fixture
def hashed_root(tmp_path: Path) -> Path:
    for name in ("app.3f9a1c2e.js", "chunk-5HQ2ZK3L.js", "app.js", "index.html"):
        (tmp_path / name).write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.3f9a1c2e.js", "public, max-age=31536000, immutable"),
        ("chunk-5HQ2ZK3L.js", "public, max-age=31536000, immutable"),
        ("app.js", "no-cache"),
        ("index.html", "no-cache"),
    ],
)
def test_immutable_hashed(hashed_root: Path, name: str, expected: str) -> None:
    files = StaticFiles(str(hashed_root), StaticOptions(immutable_hashed=True))
    r = get(files, "/" + name)
    assert header(r, "cache-control") == expected
    read_body(r)
    etag = header(r, "etag") or ""
    assert header(get(files, "/" + name, ("if-none-match", etag)), "cache-control") == expected


def test_hashed_names_use_configured_value_when_off(hashed_root: Path) -> None:
    files = StaticFiles(str(hashed_root), StaticOptions(cache_control="max-age=60"))
    for name in ("app.3f9a1c2e.js", "app.js"):
        r = get(files, "/" + name)
        assert header(r, "cache-control") == "max-age=60"
        read_body(r)


def test_empty_cache_control_sends_none(hashed_root: Path) -> None:
    files = StaticFiles(str(hashed_root), StaticOptions(cache_control=""))
    r = get(files, "/app.js")
    assert header(r, "cache-control") is None
    read_body(r)


def test_mime_overrides_reach_responses(hashed_root: Path) -> None:
    (hashed_root / "x.ts").write_text("let x: number")
    files = StaticFiles(str(hashed_root), StaticOptions(mime_types=((".ts", "text/typescript"),)))
    r = get(files, "/x.ts")
    assert header(r, "content-type") == "text/typescript; charset=utf-8"
    read_body(r)
