"""Static files through the real server on 127.0.0.1, read by an h11 client.

What only the wire shows: Content-Length derived from the FileBody, no body on HEAD/304,
chunked gzip, descriptors released after sendfile, and a 200 MB file streamed byte-exact with
the process's memory staying flat.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import h11
import pytest
import trio

from minicors.config import Config
from minicors.options import StaticOptions
from minicors.server import serve

DIGITS = b"0123456789" * 10
JS = b"export const answer = 42;\n" * 200
JS_BR = b"brotli-stand-in"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    sha256: str = ""
    size: int = 0
    chunked: bool = False
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)


async def fetch(
    stream: trio.SocketStream,
    conn: h11.Connection,
    method: str,
    target: str,
    *headers: tuple[str, str],
    keep_body: bool = True,
) -> Reply:
    """One request/response on a kept-alive connection; the body is hashed as it arrives."""
    request = h11.Request(method=method, target=target, headers=[("host", "127.0.0.1"), *headers])
    await stream.send_all((conn.send(request) or b"") + (conn.send(h11.EndOfMessage()) or b""))
    digest = hashlib.sha256()
    reply: Reply | None = None
    parts: list[bytes] = []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(1 << 20))
            continue
        if isinstance(event, h11.Response):
            raw = list(event.headers)
            reply = Reply(
                status=event.status_code,
                headers={n.decode(): v.decode("latin-1") for n, v in raw},
                raw_headers=raw,
                chunked=any(n == b"transfer-encoding" for n, _ in raw),
            )
        elif isinstance(event, h11.Data):
            assert reply is not None
            digest.update(event.data)
            reply.size += len(event.data)
            if keep_body:
                parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert reply is not None
            reply.body = b"".join(parts)
            reply.sha256 = digest.hexdigest()
            if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                conn.start_next_cycle()
            return reply
        else:
            raise AssertionError(f"unexpected event {event!r}")


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
async def server(root: Path) -> AsyncIterator[int]:
    config = Config(
        root=str(root),
        port=0,
        access_log=False,
        static=StaticOptions(gzip=True, gzip_min_bytes=1024),
    )
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve, config)
        yield address.port
        nursery.cancel_scope.cancel()


async def connect(port: int) -> tuple[trio.SocketStream, h11.Connection]:
    return await trio.open_tcp_stream("127.0.0.1", port), h11.Connection(h11.CLIENT)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_get_head_304_206_416_on_one_connection(server: int) -> None:
    with trio.fail_after(20):
        stream, conn = await connect(server)
        async with stream:
            r = await fetch(stream, conn, "GET", "/digits.txt")
            assert r.status == 200
            assert r.body == DIGITS
            assert r.headers["content-length"] == "100"
            assert r.headers["content-type"] == "text/plain; charset=utf-8"
            assert r.headers["accept-ranges"] == "bytes"
            assert "date" in r.headers and "last-modified" in r.headers
            etag = r.headers["etag"]

            h = await fetch(stream, conn, "HEAD", "/digits.txt")
            assert h.status == 200
            assert h.body == b""
            assert h.headers["content-length"] == "100"
            assert h.headers["etag"] == etag

            n = await fetch(stream, conn, "GET", "/digits.txt", ("if-none-match", etag))
            assert n.status == 304
            assert n.body == b""
            assert n.headers["etag"] == etag
            assert n.headers.get("content-length") in (None, "100")

            p = await fetch(stream, conn, "GET", "/digits.txt", ("range", "bytes=10-19"))
            assert p.status == 206
            assert p.body == DIGITS[10:20]
            assert p.headers["content-length"] == "10"
            assert p.headers["content-range"] == "bytes 10-19/100"

            u = await fetch(stream, conn, "GET", "/digits.txt", ("range", "bytes=100-"))
            assert u.status == 416
            assert u.headers["content-range"] == "bytes */100"

            i = await fetch(
                stream, conn, "GET", "/digits.txt", ("range", "bytes=0-3"), ("if-range", '"old"')
            )
            assert i.status == 200
            assert i.body == DIGITS

            x = await fetch(stream, conn, "GET", "/docs")
            assert x.status == 308
            assert x.headers["location"] == "/docs/"
            d = await fetch(stream, conn, "GET", "/docs/")
            assert d.body == b"<h1>docs</h1>"


async def test_precompressed_and_gzip_on_the_wire(server: int) -> None:
    with trio.fail_after(20):
        stream, conn = await connect(server)
        async with stream:
            r = await fetch(stream, conn, "GET", "/app.js", ("accept-encoding", "gzip, br"))
            assert r.headers["content-encoding"] == "br"
            assert "Accept-Encoding" in r.headers["vary"].split(", ")  # CORS adds Origin
            assert r.body == JS_BR
            assert r.headers["content-length"] == str(len(JS_BR))

            g = await fetch(stream, conn, "GET", "/style.css", ("accept-encoding", "gzip"))
            assert g.headers["content-encoding"] == "gzip"
            assert g.chunked  # length unknown in advance
            assert gzip.decompress(g.body) == b"a{color:red}\n" * 500

            plain = await fetch(stream, conn, "GET", "/style.css")
            assert "content-encoding" not in plain.headers
            assert plain.body == b"a{color:red}\n" * 500


async def test_descriptors_are_released_after_sending(server: int) -> None:
    with trio.fail_after(20):
        stream, conn = await connect(server)
        async with stream:
            await fetch(stream, conn, "GET", "/digits.txt")  # warm up lazily opened resources
            before = open_fds()
            for _ in range(20):
                await fetch(stream, conn, "GET", "/digits.txt")
                await fetch(stream, conn, "HEAD", "/app.js")
                await fetch(stream, conn, "GET", "/style.css", ("accept-encoding", "gzip"))
                await fetch(stream, conn, "GET", "/digits.txt", ("range", "bytes=1-2"))
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
async def test_200_mb_file_is_byte_exact_with_flat_memory(root: Path, server: int) -> None:
    size = 200 * 1024 * 1024 + 12345  # not a multiple of any buffer size
    big = root / "big.bin"
    expected = write_sparse_file(big, size, seed=20240601)
    try:
        await _download_and_check(big, size, expected, server)
    finally:
        big.unlink()  # pytest keeps recent temp dirs: do not leave 200 MB behind


async def _download_and_check(big: Path, size: int, expected: str, server: int) -> None:
    with trio.fail_after(120):
        stream, conn = await connect(server)
        async with stream:
            await fetch(stream, conn, "GET", "/digits.txt")
            reset_peak_rss()
            rss_before = _status_bytes("VmRSS")
            r = await fetch(stream, conn, "GET", "/big.bin", keep_body=False)
            peak = _status_bytes("VmHWM")
            assert r.status == 200
            assert r.headers["content-length"] == str(size)
            assert r.size == size
            assert r.sha256 == expected
            # A 206 from deep inside the file, too.
            start = size - 5_000_000
            p = await fetch(
                stream, conn, "GET", "/big.bin", ("range", f"bytes={start}-"), keep_body=False
            )
            assert p.status == 206
            assert p.size == 5_000_000
            with open(big, "rb") as f:
                f.seek(start)
                assert p.sha256 == hashlib.sha256(f.read()).hexdigest()
    # Server and client share this process: neither may hold the file in memory.
    assert peak - rss_before < 60 * 1024 * 1024
