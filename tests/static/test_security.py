"""No request reveals a file outside ROOT, and dotfiles stay hidden unless allowed.

A secret file lives next to ROOT (and in /tmp-like places a symlink can reach); every hostile
path must answer 404 without its bytes, and the reason must reach the debug log.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minicors.messages import Request
from minicors.options import StaticOptions
from minicors.static import StaticFiles

from ..conftest import read_body

SECRET = b"TOP-SECRET-outside-root\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/secret.txt, tmp/etc/passwd (outside) and tmp/www (ROOT) with links in and out."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_bytes(SECRET)
    (tmp_path / "www-evil").mkdir()
    (tmp_path / "www-evil" / "x.txt").write_bytes(SECRET)
    www = tmp_path / "www"
    www.mkdir()
    (www / "a").mkdir()
    (www / "a" / "ok.txt").write_bytes(b"fine\n")
    (www / "public.txt").write_bytes(b"public\n")
    (www / ".env").write_bytes(SECRET)
    (www / ".git").mkdir()
    (www / ".git" / "config").write_bytes(SECRET)
    (www / "a" / ".hidden.txt").write_bytes(SECRET)
    (www / "to-secret").symlink_to(tmp_path / "secret.txt")
    (www / "to-etc").symlink_to(tmp_path / "etc")
    (www / "to-evil").symlink_to(tmp_path / "www-evil")
    (www / "to-root-parent").symlink_to(tmp_path)
    (www / "relative-out").symlink_to("../secret.txt")
    (www / "to-git").symlink_to(www / ".git")  # inside ROOT, but into a dot-directory
    (www / "inside-link.txt").symlink_to(www / "a" / "ok.txt")
    (www / "inside-dir").symlink_to(www / "a")
    (www / "loop").symlink_to(www / "loop")
    (www / "dangling").symlink_to(www / "nothing-here")
    os.mkfifo(www / "pipe")
    return tmp_path


@pytest.fixture(params=[None, False], ids=["auto", "realpath"])
def files(tree: Path, request: pytest.FixtureRequest) -> StaticFiles:
    # Both ways of locating the opened file: /proc/self/fd where it works, realpath elsewhere.
    kernel_paths: bool | None = request.param
    return StaticFiles(str(tree / "www"), StaticOptions(), kernel_paths=kernel_paths)


def test_kernel_paths_detected_on_linux(tree: Path) -> None:
    files = StaticFiles(str(tree / "www"), StaticOptions())
    assert files.uses_kernel_paths is os.path.isdir("/proc/self/fd")


HOSTILE = [
    "/../secret.txt",
    "/../../../../../../etc/passwd",
    "/a/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/%2e%2e/",
    "/..%2fsecret.txt",
    "/..%2f..%2fetc/passwd",
    "/a/..%5c..%5csecret.txt",
    "/a/..\\..\\secret.txt",
    "/..\\secret.txt",
    "/%00",
    "/public.txt%00.png",
    "/a/ok.txt%00",
    "//etc/passwd",
    "/to-secret",
    "/to-etc/passwd",
    "/to-evil/x.txt",
    "/to-root-parent/secret.txt",
    "/relative-out",
    "/.env",
    "/%2eenv",
    "/.git/config",
    "/to-git/config",
    "/a/.hidden.txt",
    "/loop",
    "/dangling",
    "/pipe",
    "/" + "a/" * 3000 + "x",  # ENAMETOOLONG
    "http://evil.example/../secret.txt",
]


@pytest.mark.parametrize("target", HOSTILE)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_hostile_paths_are_404(files: StaticFiles, target: str, method: str) -> None:
    r = files.handle(Request.build(method, target))
    assert r.status == 404, target
    assert SECRET not in read_body(r)
    assert r.header(b"location") is None


@pytest.mark.parametrize("target", ["/to-etc", "/to-root-parent", "/to-evil"])
def test_symlinked_directories_outside_do_not_even_redirect(
    files: StaticFiles, target: str
) -> None:
    assert files.handle(Request.build("GET", target)).status == 404


def test_refusals_are_explained_in_the_debug_log(
    files: StaticFiles, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="minicors.static"):
        files.handle(Request.build("GET", "/to-secret"))
        files.handle(Request.build("GET", "/%2e%2e/x"))
        files.handle(Request.build("GET", "/.env"))
    messages = [r.getMessage() for r in caplog.records if r.name == "minicors.static"]
    assert any("outside ROOT" in m for m in messages)
    assert any("dot-segment" in m for m in messages)
    assert any("dotfile" in m for m in messages)


def test_symlinks_inside_root_are_followed(files: StaticFiles) -> None:
    r = files.handle(Request.build("GET", "/inside-link.txt"))
    assert r.status == 200
    assert read_body(r) == b"fine\n"
    r = files.handle(Request.build("GET", "/inside-dir/ok.txt"))
    assert r.status == 200
    assert read_body(r) == b"fine\n"


def test_dotfiles_served_when_allowed(tree: Path) -> None:
    files = StaticFiles(str(tree / "www"), StaticOptions(dotfiles=True))
    r = files.handle(Request.build("GET", "/.env"))
    assert r.status == 200
    assert read_body(r) == SECRET  # inside ROOT and explicitly allowed
    r = files.handle(Request.build("GET", "/to-git/config"))
    assert r.status == 200
    read_body(r)
    # ... but never what lies outside ROOT.
    for target in ("/to-secret", "/../secret.txt", "/%2e%2e/secret.txt"):
        r = files.handle(Request.build("GET", target))
        assert r.status == 404
        assert SECRET not in read_body(r)


def test_root_given_through_a_symlink(tree: Path) -> None:
    (tree / "www-link").symlink_to(tree / "www")
    files = StaticFiles(str(tree / "www-link"), StaticOptions())
    r = files.handle(Request.build("GET", "/public.txt"))
    assert r.status == 200
    assert read_body(r) == b"public\n"
    assert files.handle(Request.build("GET", "/to-secret")).status == 404


PIECES = [
    "..",
    "%2e%2e",
    "%2E.",
    ".",
    "%2f",
    "%5c",
    "\\",
    "%00",
    "",
    "a",
    "ok.txt",
    "to-secret",
    "to-etc",
    "passwd",
    "relative-out",
    "to-root-parent",
    "secret.txt",
    "www",
    ".env",
    "%2eenv",
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=8), st.booleans())
def test_no_combination_of_hostile_pieces_reveals_the_secret(
    files: StaticFiles, pieces: list[str], joined: bool
) -> None:
    target = "/" + ("".join(pieces) if joined else "/".join(pieces))
    r = files.handle(Request.build("GET", target))
    assert SECRET not in read_body(r), target
    assert r.status in (200, 308, 404), target
