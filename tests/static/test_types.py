"""The MIME table, charset rules, overrides and content-hash detection."""

from __future__ import annotations

import pytest

from minicors.errors import ConfigError
from minicors.static.mime import MimeTable, is_hashed_name

TABLE = MimeTable()


@pytest.mark.parametrize(
    ("name", "header", "compressible"),
    [
        ("index.html", "text/html; charset=utf-8", True),
        ("INDEX.HTM", "text/html; charset=utf-8", True),
        ("style.css", "text/css; charset=utf-8", True),
        ("app.js", "text/javascript; charset=utf-8", True),
        ("mod.mjs", "text/javascript; charset=utf-8", True),
        ("data.json", "application/json; charset=utf-8", True),
        ("app.js.map", "application/json; charset=utf-8", True),
        ("site.webmanifest", "application/manifest+json; charset=utf-8", True),
        ("logo.svg", "image/svg+xml; charset=utf-8", True),
        ("notes.txt", "text/plain; charset=utf-8", True),
        ("feed.xml", "application/xml; charset=utf-8", True),
        ("table.csv", "text/csv; charset=utf-8", True),
        ("README.md", "text/markdown; charset=utf-8", True),
        ("lib.wasm", "application/wasm", True),
        ("photo.avif", "image/avif", False),
        ("photo.webp", "image/webp", False),
        ("photo.PNG", "image/png", False),
        ("photo.jpg", "image/jpeg", False),
        ("photo.jpeg", "image/jpeg", False),
        ("anim.gif", "image/gif", False),
        ("favicon.ico", "image/x-icon", True),
        ("font.woff", "font/woff", False),
        ("font.woff2", "font/woff2", False),
        ("font.ttf", "font/ttf", True),
        ("font.otf", "font/otf", True),
        ("paper.pdf", "application/pdf", False),
        ("clip.mp4", "video/mp4", False),
        ("clip.webm", "video/webm", False),
        ("song.mp3", "audio/mpeg", False),
        ("song.ogg", "audio/ogg", False),
        ("song.wav", "audio/wav", False),
        ("app.js.gz", "application/gzip", False),
        ("Makefile", "application/octet-stream", False),
        ("archive.unknownext", "application/octet-stream", False),
        (".env", "application/octet-stream", False),  # a dotfile has no extension
        ("trailingdot.", "application/octet-stream", False),
    ],
)
def test_builtin_table(name: str, header: str, compressible: bool) -> None:
    media = TABLE.lookup(name)
    assert media.header == header.encode()
    assert media.compressible is compressible


def test_overrides_add_and_replace() -> None:
    table = MimeTable(
        [
            (".ts", "text/x-typescript"),  # added, text -> charset
            ("js", "application/javascript"),  # replaced, no dot given
            (".TXT", "text/plain; charset=iso-8859-1"),  # an explicit charset is kept
            (".bin", "application/x-thing"),
        ]
    )
    assert table.lookup("a.ts").header == b"text/x-typescript; charset=utf-8"
    assert table.lookup("a.js").header == b"application/javascript"
    assert table.lookup("a.txt").header == b"text/plain; charset=iso-8859-1"
    assert table.lookup("a.bin").header == b"application/x-thing"
    assert TABLE.lookup("a.js").header == b"text/javascript; charset=utf-8"  # others untouched


@pytest.mark.parametrize(
    "pair",
    [
        (".x", "nope"),
        (".x", "text/plain\r\nx-evil: 1"),
        (".x", "text/plain; a=\x01"),
        (".x", "text/pl\u00e4in"),
        (".", "text/plain"),
        ("a/b", "text/a"),
    ],
)
def test_bad_override_is_a_config_error(pair: tuple[str, str]) -> None:
    with pytest.raises(ConfigError, match="MIME"):
        MimeTable([pair])


@pytest.mark.parametrize(
    ("name", "hashed"),
    [
        ("app.3f9a1c2e.js", True),  # webpack contenthash
        ("main.3f9a1c2e9b7d4e11.css", True),
        ("chunk-5HQ2ZK3L.js", True),  # esbuild
        ("index-Bx3kQ9zA.js", True),  # rollup / vite
        ("vendor.min.0a1b2c3d.js", True),
        ("app.js", False),
        ("index.html", False),
        ("my-component.js", False),  # a word is not a hash
        ("jquery-3.6.0.min.js", False),
        ("deadbeefcafe.js", False),  # the first segment is a name, not a hash
        ("app.deadbeef.js", False),  # letters only: a word
        ("app-20240101.js", False),  # digits only: a date or version
        ("my-Calendar.js", False),
        ("app.3f9a1c2e", False),  # needs the extension after it
        ("app.3f9a1c.js", False),  # fewer than 8 characters
    ],
)
def test_hashed_names(name: str, hashed: bool) -> None:
    assert is_hashed_name(name) is hashed
