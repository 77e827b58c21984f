"""`/.well-known/` at ROOT's top is served without --dotfiles (RFC 8615 §3); every other
dotfile stays hidden, inside `.well-known` too, and so do `.well-known` directories deeper
down and links that lead from `.well-known` into a dot-directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minicors.options import StaticOptions
from minicors.static import StaticFiles

from ..conftest import read_body
from .conftest import get, header

SECRET = b"SECRET\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    well_known = tmp_path / ".well-known"
    well_known.mkdir()
    (well_known / "security.txt").write_bytes(b"Contact: mailto:security@example.test\n")
    (well_known / "assetlinks.json").write_bytes(b"[]\n")
    (well_known / "apple-app-site-association").write_bytes(b'{"applinks": {}}\n')
    (well_known / ".secret").write_bytes(SECRET)
    (well_known / ".hidden-dir").mkdir()
    (well_known / ".hidden-dir" / "x.txt").write_bytes(SECRET)
    (well_known / "sub").mkdir()
    (well_known / "sub" / "deep.txt").write_bytes(b"deep\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_bytes(SECRET)
    (well_known / "to-git").symlink_to(tmp_path / ".git")
    (well_known / "to-env").symlink_to(tmp_path / ".env")
    (tmp_path / ".env").write_bytes(SECRET)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".well-known").mkdir()
    (tmp_path / "app" / ".well-known" / "security.txt").write_bytes(SECRET)
    (tmp_path / "index.html").write_bytes(b"<p>home</p>\n")
    return tmp_path


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/.well-known/security.txt", b"Contact: mailto:security@example.test\n"),
        ("/.well-known/assetlinks.json", b"[]\n"),
        ("/.well-known/apple-app-site-association", b'{"applinks": {}}\n'),
        ("/.well-known/sub/deep.txt", b"deep\n"),
        ("/%2Ewell-known/assetlinks.json", b"[]\n"),  # the same path, percent-encoded
    ],
)
def test_well_known_files_are_served_without_dotfiles(
    files: StaticFiles, target: str, body: bytes
) -> None:
    r = get(files, target)
    assert r.status == 200, target
    assert read_body(r) == body
    assert get(files, target, method="HEAD", close=True).status == 200


def test_assetlinks_is_json(files: StaticFiles) -> None:
    r = get(files, "/.well-known/assetlinks.json", close=True)
    assert (header(r, "content-type") or "").startswith("application/json")


@pytest.mark.parametrize(
    "target",
    [
        "/.well-known/.secret",  # a dotfile inside .well-known
        "/.well-known/.hidden-dir/x.txt",
        "/.well-known/to-git/config",  # a link from .well-known into a dot-directory
        "/.well-known/to-env",  # ... and to a dotfile
        "/app/.well-known/security.txt",  # .well-known is special at the top only
        "/.env",
        "/.git/config",
        "/.well-known-not/x",
    ],
)
def test_other_dotfiles_stay_hidden(files: StaticFiles, target: str) -> None:
    r = get(files, target)
    assert r.status == 404, target
    assert SECRET not in read_body(r)


def test_the_well_known_directory_redirects_and_lists_without_its_dotfiles(
    files: StaticFiles,
) -> None:
    r = get(files, "/.well-known")
    assert r.status == 308
    assert header(r, "location") == "/.well-known/"
    listing = read_body(get(files, "/.well-known/?format=json"))
    names = {entry["name"] for entry in json.loads(listing)}
    assert {"security.txt", "assetlinks.json", "sub"} <= names
    assert not any(name.startswith(".") for name in names)


def test_the_root_listing_still_hides_well_known(root: Path) -> None:
    (root / "index.html").unlink()
    files = StaticFiles(str(root), StaticOptions())
    listing = read_body(get(files, "/?format=json"))
    assert b".well-known" not in listing and b".env" not in listing


def test_dotfiles_on_still_serves_everything(root: Path) -> None:
    files = StaticFiles(str(root), StaticOptions(dotfiles=True))
    assert read_body(get(files, "/.well-known/.secret")) == SECRET
    assert read_body(get(files, "/app/.well-known/security.txt")) == SECRET
