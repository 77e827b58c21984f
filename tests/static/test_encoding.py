"""Accept-Encoding negotiation and the streaming gzip body."""

from __future__ import annotations

import gzip
import os
import random
from pathlib import Path

import pytest

from minicors.static.encoding import (
    GzipFileChunks,
    accepts_html,
    parse_accept_encoding,
    rank_codings,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),
        ("", {}),
        ("gzip", {"gzip": 1.0}),
        ("gzip, deflate, br", {"gzip": 1.0, "deflate": 1.0, "br": 1.0}),
        ("br;q=0.5, GZIP;q=0.8", {"br": 0.5, "gzip": 0.8}),
        ("x-gzip", {"gzip": 1.0}),
        ("gzip;q=0, *;q=0.1", {"gzip": 0.0, "*": 0.1}),
        ("gzip; q=0.001", {"gzip": 0.001}),
        ("gzip;q=1.0", {"gzip": 1.0}),
        ("gzip;q=1.5", {}),  # not a qvalue: the element is skipped
        ("gzip;q=0.0001", {}),
        ("gzip;q=abc", {}),
        ("gzip;q=", {}),
        ("br,,gzip", {"br": 1.0, "gzip": 1.0}),
    ],
)
def test_parse_accept_encoding(value: str | None, expected: dict[str, float]) -> None:
    assert parse_accept_encoding(value) == expected


BOTH = ("br", "gzip")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),  # no header: identity only
        ("", []),
        ("identity", []),
        ("gzip", ["gzip"]),
        ("gzip, br", ["br", "gzip"]),  # equal q: br preferred
        ("gzip, deflate, br, zstd", ["br", "gzip"]),  # what browsers send
        ("br;q=0.5, gzip", ["gzip", "br"]),  # q decides before preference
        ("br;q=0, gzip", ["gzip"]),  # q=0 refuses
        ("*", ["br", "gzip"]),
        ("*;q=0.5, gzip;q=0", ["br"]),
        ("gzip;q=0.5", ["gzip"]),  # identity has no weight of its own to beat it
        ("gzip;q=0.5, identity;q=0.2", ["gzip"]),
        ("gzip;q=0.5, identity", []),  # identity stated and wanted more
        ("gzip;q=0.3, *;q=0.5", ["br"]),  # identity stated via *: gzip is below it, br ties
        ("identity;q=0", []),  # nothing to offer beyond identity
        ("gzip;q=0.5, *;q=0", ["gzip"]),  # identity refused via *; gzip is all that is left
        ("br;q=0, gzip;q=0", []),
    ],
)
def test_rank_codings(value: str | None, expected: list[str]) -> None:
    assert rank_codings(value, BOTH) == tuple(expected)


def test_rank_only_offers_available_codings() -> None:
    assert rank_codings("br, gzip", ("gzip",)) == ("gzip",)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Firefox
        ("TEXT/HTML", True),
        ("text/html;level=1;q=0.5", True),
        ("application/json, text/html ; q=0.1", True),
        ("text/html;q=0", False),
        ("text/html;q=0.0, */*", False),
        ("text/html;q=x", False),
        ("*/*", False),  # curl and fetch(): not a page navigation
        ("application/json", False),
        ("text/htmlx", False),
        ("", False),
        (None, False),
    ],
)
def test_accepts_html(accept: str | None, expected: bool) -> None:
    assert accepts_html(accept) is expected


def _fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_gzip_chunks_round_trip_in_bounded_pieces(tmp_path: Path) -> None:
    rng = random.Random(7)
    words = [f"word{rng.randrange(1000)} " for _ in range(60_000)]
    data = "".join(words).encode()  # ~500 KB of compressible text
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    chunks = GzipFileChunks(fd, len(data))
    pieces = list(chunks)
    assert gzip.decompress(b"".join(pieces)) == data
    assert len(pieces) > 1  # streamed, not one blob
    assert not _fd_is_open(fd)  # closed at exhaustion
    assert list(chunks) == []


def test_gzip_chunks_close_before_start_closes_the_fd(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    fd = os.open(path, os.O_RDONLY)
    chunks = GzipFileChunks(fd, 5)
    chunks.close()
    assert not _fd_is_open(fd)
    chunks.close()  # idempotent


def test_gzip_chunks_read_only_the_statted_size(tmp_path: Path) -> None:
    path = tmp_path / "grows.txt"
    path.write_bytes(b"abcdef")
    fd = os.open(path, os.O_RDONLY)
    assert gzip.decompress(b"".join(GzipFileChunks(fd, 3))) == b"abc"


def test_gzip_output_is_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"same bytes " * 100)
    out = [b"".join(GzipFileChunks(os.open(path, os.O_RDONLY), 1100)) for _ in range(2)]
    assert out[0] == out[1]
