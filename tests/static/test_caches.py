"""The static handler's caches never serve what the disk no longer says.

Each cache is keyed so that a change misses: a sibling added or removed changes its
directory's mtime; a file swapped for a symlink is another inode; a parsed URL is a pure
function of the URL.  These tests change the disk between requests and watch the answers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from minicors.messages import Response
from minicors.options import StaticOptions
from minicors.static import StaticFiles

from .conftest import get

OLD = time.time() - 3600  # older than the settle time: the directory listing is trusted


def encoding(response: Response) -> bytes | None:
    return response.header(b"content-encoding")


def age(path: Path, later_s: float = 0.0) -> None:
    """Make the directory look settled (mtimes only move forward: pass a later offset)."""
    os.utime(path, (OLD + later_s, OLD + later_s))


def test_sibling_added_after_a_cached_listing_is_found(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("x" * 100)
    age(tmp_path)
    files = StaticFiles(str(tmp_path), StaticOptions())
    ae = ("Accept-Encoding", "gzip")
    assert encoding(get(files, "/app.js", ae, close=True)) is None  # listed: no sibling
    (tmp_path / "app.js.gz").write_bytes(b"\x1f\x8b" + b"\0" * 20)  # changes the dir mtime
    assert encoding(get(files, "/app.js", ae, close=True)) == b"gzip"
    age(tmp_path, 10)  # once the directory settles again, the new listing has the sibling
    assert encoding(get(files, "/app.js", ae, close=True)) == b"gzip"


def test_sibling_removed_is_no_longer_served(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("x" * 100)
    (tmp_path / "app.js.br").write_bytes(b"br-bytes")
    age(tmp_path)
    files = StaticFiles(str(tmp_path), StaticOptions())
    ae = ("Accept-Encoding", "br")
    assert encoding(get(files, "/app.js", ae, close=True)) == b"br"
    (tmp_path / "app.js.br").unlink()
    age(tmp_path, 10)
    assert encoding(get(files, "/app.js", ae, close=True)) is None


def test_file_swapped_for_an_outside_symlink_after_being_served(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (root / "a.txt").write_text("inside")
    files = StaticFiles(str(root), StaticOptions())
    assert get(files, "/a.txt", close=True).status == 200  # validated (and remembered) once
    (root / "a.txt").unlink()
    (root / "a.txt").symlink_to(secret)
    assert get(files, "/a.txt", close=True).status == 404  # another inode: checked again, refused


def test_url_memo_gives_the_same_answers(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    files = StaticFiles(str(tmp_path), StaticOptions())
    for _ in range(3):
        assert get(files, "/a.txt", close=True).status == 200
        assert get(files, "/%2e%2e/etc/passwd", close=True).status == 404
        assert get(files, "/.hidden", close=True).status == 404
