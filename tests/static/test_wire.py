"""Static files through the real server on 127.0.0.1, read by conftest's wire client.

What only the wire shows: Content-Length derived from the FileBody, no body on HEAD/304,
chunked gzip, descriptors released after sendfile, and a 200 MB file streamed byte-exact with
the process's memory staying flat.
"""

from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from minicors.config import Config
from minicors.options import StaticOptions

from ..conftest import Live, Parsed, WireClient, connect, live_server
from .conftest import open_fds

DIGITS = b"0123456789" * 10
JS = b"export const answer = 42;\n" * 200
JS_BR = b"brotli-stand-in"
HOST = "127.0.0.1"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "digits.txt").write_bytes(DIGITS)
    (tmp_path / "app.js").write_bytes(JS)
    (tmp_path / "app.js.br").write_bytes(JS_BR)
    (tmp_path / "style.css").write_bytes(b"a{color:red}\n" * 500)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("<h1>docs</h1>")
    return tmp_path


@pytest.fixture
async def live(root: Path) -> AsyncIterator[Live]:
    config = Config(
        root=str(root),
        access_log=False,
        static=StaticOptions(gzip=True, gzip_min_bytes=1024),
    )
    async with live_server(config) as running:
        yield running


async def ask(
    client: WireClient, target: str, *headers: tuple[str, str], method: str = "GET"
) -> Parsed:
    """One request on the client's kept-alive connection, and its response."""
    return await client.request(method, target, headers, host=HOST)


async def test_get_head_304_206_416_on_one_connection(live: Live) -> None:
    with trio.fail_after(20):
        async with connect(live.address) as client:
            r = await ask(client, "/digits.txt")
            assert r.status == 200
            assert r.body == DIGITS
            assert r.header(b"content-length") == b"100"
            assert r.header(b"content-type") == b"text/plain; charset=utf-8"
            assert r.header(b"accept-ranges") == b"bytes"
            assert r.header(b"date") is not None and r.header(b"last-modified") is not None
            etag = r.header(b"etag")
            assert etag is not None

            h = await ask(client, "/digits.txt", method="HEAD")
            assert h.status == 200
            assert h.body == b""
            assert h.header(b"content-length") == b"100"
            assert h.header(b"etag") == etag

            n = await ask(client, "/digits.txt", ("if-none-match", etag.decode()))
            assert n.status == 304
            assert n.body == b""
            assert n.header(b"etag") == etag
            assert n.header(b"content-length") in (None, b"100")

            p = await ask(client, "/digits.txt", ("range", "bytes=10-19"))
            assert p.status == 206
            assert p.body == DIGITS[10:20]
            assert p.header(b"content-length") == b"10"
            assert p.header(b"content-range") == b"bytes 10-19/100"

            u = await ask(client, "/digits.txt", ("range", "bytes=100-"))
            assert u.status == 416
            assert u.header(b"content-range") == b"bytes */100"

            i = await ask(client, "/digits.txt", ("range", "bytes=0-3"), ("if-range", '"old"'))
            assert i.status == 200
            assert i.body == DIGITS

            x = await ask(client, "/docs")
            assert x.status == 308
            assert x.header(b"location") == b"/docs/"
            d = await ask(client, "/docs/")
            assert d.body == b"<h1>docs</h1>"


async def test_precompressed_and_gzip_on_the_wire(live: Live) -> None:
    with trio.fail_after(20):
        async with connect(live.address) as client:
            r = await ask(client, "/app.js", ("accept-encoding", "gzip, br"))
            assert r.header(b"content-encoding") == b"br"
            (vary,) = r.header_all(b"vary")
            assert b"Accept-Encoding" in vary.split(b", ")  # CORS adds Origin
            assert r.body == JS_BR
            assert r.header(b"content-length") == str(len(JS_BR)).encode()

            g = await ask(client, "/style.css", ("accept-encoding", "gzip"))
            assert g.header(b"content-encoding") == b"gzip"
            assert g.header(b"transfer-encoding") is not None  # chunked: length unknown
            assert gzip.decompress(g.body) == b"a{color:red}\n" * 500

            plain = await ask(client, "/style.css")
            assert plain.header(b"content-encoding") is None
            assert plain.body == b"a{color:red}\n" * 500


async def test_descriptors_are_released_after_sending(live: Live) -> None:
    with trio.fail_after(20):
        async with connect(live.address) as client:
            await ask(client, "/digits.txt")  # warm up lazily opened resources
            before = open_fds()
            for _ in range(20):
                await ask(client, "/digits.txt")
                await ask(client, "/app.js", method="HEAD")
                await ask(client, "/style.css", ("accept-encoding", "gzip"))
                await ask(client, "/digits.txt", ("range", "bytes=1-2"))
            assert open_fds() == before


def _status_bytes(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field_name} in /proc/self/status")


def reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so the peak
    # measured afterwards belongs to the download alone; a buffer freed before the end of the
    # response would still show.  Where it is refused, VmHWM stays the process's peak (stricter).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def write_sparse_file(path: Path, size: int, seed: int) -> str:
    """Seeded random 1 MiB blocks every 4 MiB, holes between; returns the sha256."""
    rng = random.Random(seed)
    block = 1 << 20
    with open(path, "wb") as f:
        f.truncate(size)
        for offset in range(0, size, 4 * block):
            f.seek(offset)
            f.write(rng.randbytes(min(block, size - offset)))
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@pytest.mark.slow
async def test_200_mb_file_is_byte_exact_with_flat_memory(root: Path, live: Live) -> None:
    size = 200 * 1024 * 1024 + 12345  # not a multiple of any buffer size
    big = root / "big.bin"
    expected = write_sparse_file(big, size, seed=20240601)
    try:
        await _download_and_check(big, size, expected, live)
    finally:
        big.unlink()  # pytest keeps recent temp dirs: do not leave 200 MB behind


async def _download_and_check(big: Path, size: int, expected: str, live: Live) -> None:
    with trio.fail_after(120):
        async with connect(live.address) as client:
            await ask(client, "/digits.txt")
            reset_peak_rss()
            rss_before = _status_bytes("VmRSS")
            r = await client.request("GET", "/big.bin", host=HOST, keep_body=False)
            peak = _status_bytes("VmHWM")
            assert r.status == 200
            assert r.header(b"content-length") == str(size).encode()
            assert r.size == size
            assert r.body == b""  # counted and hashed, never held
            assert r.sha256 == expected
            # A 206 from deep inside the file, too.
            start = size - 5_000_000
            p = await client.request(
                "GET", "/big.bin", [("range", f"bytes={start}-")], host=HOST, keep_body=False
            )
            assert p.status == 206
            assert p.size == 5_000_000
            with open(big, "rb") as f:
                f.seek(start)
                assert p.sha256 == hashlib.sha256(f.read()).hexdigest()
    # Server and client share this process: neither may hold the file in memory.
    assert peak - rss_before < 60 * 1024 * 1024
