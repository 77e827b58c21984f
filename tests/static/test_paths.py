"""URL-path judgement: the first fence against leaving ROOT (pure, no file system)."""

from __future__ import annotations

import pytest

from minicors.messages import Request, parse_target
from minicors.static.paths import (
    Refusal,
    UrlPath,
    has_hidden_part,
    is_inside,
    judge_url,
    root_prefix,
)


def parse_url_path(path: str, *, dotfiles: bool) -> UrlPath | Refusal:
    return judge_url(parse_target(path), dotfiles=dotfiles)


@pytest.mark.parametrize(
    ("path", "names", "trailing", "canonical"),
    [
        ("/", (), True, "/"),
        ("/a.txt", ("a.txt",), False, "/a.txt"),
        ("/dir/", ("dir",), True, "/dir"),
        ("/a%20b/c%2Bd.txt", ("a b", "c+d.txt"), False, "/a%20b/c+d.txt"),
        ("/caf%C3%A9", ("café",), False, "/caf%C3%A9"),
        ("//etc/passwd", ("etc", "passwd"), False, "/etc/passwd"),  # empty segments collapse
        ("///evil.example/", ("evil.example",), True, "/evil.example"),
        ("/a//b", ("a", "b"), False, "/a/b"),
        ("/%zz", ("%zz",), False, "/%25zz"),  # invalid escapes stay literal
        ("/%FF", ("\udcff",), False, "/%FF"),  # not UTF-8: surrogate-escaped, like os.listdir
        ("http://example.com/a", ("a",), False, "/a"),  # absolute form (RFC 9112 §3.2.2)
        ("http://example.com", (), True, "/"),
        ("/a..b", ("a..b",), False, "/a..b"),  # dots inside a name are fine
    ],
)
def test_accepted(path: str, names: tuple[str, ...], trailing: bool, canonical: str) -> None:
    assert parse_url_path(path, dotfiles=False) == UrlPath(
        names=names, trailing_slash=trailing, canonical=canonical
    )


@pytest.mark.parametrize(
    "path",
    [
        "/../etc/passwd",
        "/a/../../etc/passwd",
        "/%2e%2e/etc/passwd",
        "/%2E%2E/",
        "/.%2e/x",
        "/..%2f..%2fetc/passwd",
        "/a/..%5c..%5cwindows",
        "/a%2fb",
        "/a%5Cb",
        "/a\\b",
        "/..\\..\\etc",
        "/%00",
        "/a.txt%00.png",
        "/./a.txt",
        "/.git/config",
        "/.env",
        "/a/.hidden/b",
        "/%2egit/config",
        "*",
    ],
)
def test_refused(path: str) -> None:
    assert isinstance(parse_url_path(path, dotfiles=False), Refusal)


def test_dotfiles_allowed_when_asked_but_never_dot_segments() -> None:
    assert parse_url_path("/.well-known/x", dotfiles=True) == UrlPath(
        names=(".well-known", "x"), trailing_slash=False, canonical="/.well-known/x"
    )
    assert isinstance(parse_url_path("/../x", dotfiles=True), Refusal)
    assert isinstance(parse_url_path("/%2e%2e/x", dotfiles=True), Refusal)


@pytest.mark.parametrize(
    ("real", "inside"),
    [
        ("/srv/www", True),
        ("/srv/www/a.txt", True),
        ("/srv/www/sub/b", True),
        ("/srv/www-evil/a.txt", False),  # a shared prefix is not containment
        ("/srv/wwwx", False),
        ("/srv", False),
        ("/etc/passwd", False),
    ],
)
def test_is_inside(real: str, inside: bool) -> None:
    assert is_inside(real, "/srv/www", root_prefix("/srv/www")) is inside


def test_root_prefix_of_filesystem_root() -> None:
    assert root_prefix("/") == "/"
    assert is_inside("/etc/passwd", "/", root_prefix("/"))


@pytest.mark.parametrize(
    ("real", "hidden"),
    [
        ("/srv/www/a.txt", False),
        ("/srv/www/.git/config", True),
        ("/srv/www/sub/.env", True),
        ("/srv/www/a.b/c", False),
        ("/srv/www", False),
    ],
)
def test_has_hidden_part(real: str, hidden: bool) -> None:
    assert has_hidden_part(real, root_prefix("/srv/www")) is hidden


def test_hidden_parts_of_root_itself_do_not_count() -> None:
    assert not has_hidden_part("/home/u/.site/a.txt", root_prefix("/home/u/.site"))


@pytest.mark.parametrize(
    ("target", "path", "query"),
    [
        ("/a/b?x=1", "/a/b", "x=1"),
        ("http://example.com/a?x=1", "/a", "x=1"),
        ("HTTPS://example.com:8443/a/b", "/a/b", ""),
        ("http://example.com", "/", ""),
        ("http://example.com?x=1", "/", "x=1"),
        ("*", "", ""),
    ],
)
def test_request_path_is_in_origin_form(target: str, path: str, query: str) -> None:
    request = Request.build("GET", target)
    assert (request.path, request.query) == (path, query)
    assert request.target == target  # the log still shows what was sent
