"""`--header 'Name: value'` and `[headers]`: the user's headers on every static answer, per
path glob, matched on the one parsed spelling of the path; headers that would break framing,
CORS or the merged `Vary` refused before serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from minicors.config import read_toml
from minicors.errors import ConfigError
from minicors.extraheaders import ALL_PATHS, compile_rules, rules_from_table
from minicors.messages import Response
from minicors.options import StaticOptions
from minicors.static import StaticFiles
from minicors.static import cache as static_cache

from .conftest import get
from .conftest import header as response_header

COOP = ("Cross-Origin-Opener-Policy", "same-origin")
COEP = ("Cross-Origin-Embedder-Policy", "require-corp")


def header(response: Response, name: str) -> str | None:
    return response_header(response, name.lower())  # sent lower-case, as h11 sends them


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_bytes(b"<p>home</p>\n")
    (tmp_path / "wasm").mkdir()
    (tmp_path / "wasm" / "app.wasm").write_bytes(b"\0asm" + b"\0" * 60)
    (tmp_path / "big.bin").write_bytes(b"x" * 300_000)  # past the kept-answer size
    return tmp_path


def _files(root: Path, *rules: tuple[str, str, str]) -> StaticFiles:
    return StaticFiles(str(root), StaticOptions(headers=rules))


def test_every_answer_gets_the_headers(root: Path) -> None:
    files = _files(root, (ALL_PATHS, *COOP), (ALL_PATHS, *COEP))
    for target in ("/", "/index.html", "/wasm/app.wasm", "/big.bin", "/wasm/", "/wasm", "/missing"):
        r = get(files, target, close=True)
        assert header(r, COOP[0]) == COOP[1], target
        assert header(r, COEP[0]) == COEP[1], target


def test_a_kept_answer_and_a_304_carry_them_too(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(static_cache, "SETTLE_NS", 0)  # keep files just written
    files = _files(root, (ALL_PATHS, *COOP))
    first = get(files, "/index.html")
    again = get(files, "/index.html")  # from the memory cache of small files
    assert again.shared
    assert header(again, COOP[0]) == COOP[1]
    etag = header(first, "ETag")
    assert etag is not None
    not_modified = get(files, "/index.html", ("If-None-Match", etag))
    assert not_modified.status == 304
    assert header(not_modified, COOP[0]) == COOP[1]


def test_without_rules_no_answer_changes(root: Path) -> None:
    plain = StaticFiles(str(root), StaticOptions())
    r = get(plain, "/index.html")
    assert header(r, COOP[0]) is None


def test_a_glob_picks_paths_and_a_later_rule_wins(root: Path) -> None:
    files = _files(
        root,
        (ALL_PATHS, "Cache-Control", "no-store"),
        ("/wasm/**", "Cache-Control", "max-age=60"),
        ("/wasm/**", *COEP),
    )
    wasm = get(files, "/wasm/app.wasm")
    assert header(wasm, "Cache-Control") == "max-age=60"  # replaces minicors's own too
    assert header(wasm, COEP[0]) == COEP[1]
    page = get(files, "/index.html")
    assert header(page, "Cache-Control") == "no-store"
    assert header(page, COEP[0]) is None


@pytest.mark.parametrize("spelling", ["/%77asm/app.wasm", "//wasm//app.wasm"])
def test_the_glob_matches_the_parsed_path_not_its_spelling(root: Path, spelling: str) -> None:
    files = _files(root, ("/wasm/**", *COEP))
    r = get(files, spelling)
    assert r.status == 200
    assert header(r, COEP[0]) == COEP[1]


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("Access-Control-Allow-Origin", "CORS settings"),
        ("Content-Length", "frames every answer"),
        ("Transfer-Encoding", "frames every answer"),
        ("Connection", "hop-by-hop"),
        ("Keep-Alive", "hop-by-hop"),
        ("Upgrade", "hop-by-hop"),
        ("Vary", "Vary itself"),
        ("Content-Encoding", "sibling"),
        ("Bad Name", "not a header name"),
    ],
)
def test_headers_that_would_break_answers_are_refused(name: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        StaticOptions(headers=((ALL_PATHS, name, "x"),))


@pytest.mark.parametrize("value", ["a\r\nSet-Cookie: x=1", "a\nb", "a\x00", "caf\u00e9"])
def test_values_that_could_inject_or_garble_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match=r"RFC 9110 §5\.5"):
        compile_rules(((ALL_PATHS, "X-Note", value),))


def test_the_same_header_twice_for_one_path_is_refused() -> None:
    with pytest.raises(ConfigError, match="given twice"):
        compile_rules(((ALL_PATHS, "X-A", "1"), (ALL_PATHS, "x-a", "2")))


def test_the_toml_table_every_path_keys_then_globs(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "[headers]\n"
        'Cross-Origin-Opener-Policy = "same-origin"\n'
        '[headers."/wasm/**"]\n'
        'Cross-Origin-Embedder-Policy = "require-corp"\n'
    )
    assert read_toml(str(config))["static.headers"] == (
        (ALL_PATHS, *COOP),
        ("/wasm/**", *COEP),
    )


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"X-A": 1}, 'write X-A = "value"'),
        ({"wasm": {"X-A": "1"}}, "path glob starting with"),
        ({"/wasm/**": {"X-A": 2}}, "must be a string"),
        ({"/wasm/*x": {"X-A": "1"}}, "whole segment"),
        ({"Vary": "Origin"}, "Vary itself"),
    ],
)
def test_a_bad_toml_table_names_the_fix(table: object, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        rules_from_table(table)
