"""A `--tls` port on the wire: plain HTTP gets a 400 naming the https URL, a stalled handshake
is cut by the head deadline, and a client that fails the handshake is logged once while
everyone else is served."""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path

import pytest
import trio

from minicors.config import Config
from minicors.options import Limits, TlsOptions
from minicors.tls import LocalCA

from ..conftest import live_server, parse_responses


def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<p>secure</p>")
    return root


async def https_get(port: int, path: str = "/index.html") -> bytes:
    client = ssl.create_default_context(cafile=LocalCA.open().cert_path)
    tcp = await trio.open_tcp_stream("127.0.0.1", port)
    stream = trio.SSLStream(tcp, client, server_hostname="localhost", https_compatible=True)
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    await stream.send_all(request.encode())
    data = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some():
            data += chunk
    await stream.aclose()
    return data


def blocking_handshake(context: ssl.SSLContext, port: int) -> None:
    """A handshake over a blocking socket, which (unlike a memory-BIO client) sends its alert
    before it hangs up, as browsers do."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname="localhost")


async def read_until_closed(stream: trio.SocketStream, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    start = trio.current_time()
    data = b""
    with trio.fail_after(limit_s):
        while True:
            try:
                chunk = await stream.receive_some()
            except trio.BrokenResourceError:  # a reset counts as closed
                break
            if not chunk:
                break
            data += chunk
    return data, trio.current_time() - start


async def test_plain_http_gets_a_400_naming_the_https_url(tmp_path: Path) -> None:
    config = Config(root=str(site(tmp_path)), tls=TlsOptions())
    async with live_server(config) as live:
        url = live.address.url
        assert url.startswith("https://")
        stream = await trio.open_tcp_stream("127.0.0.1", live.address.port)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data, _ = await read_until_closed(stream, 5)
        await stream.aclose()
        [response] = parse_responses(data)
        assert response.status == 400
        assert url.encode() in response.body and b"HTTPS" in response.body
        # ... and the port still speaks HTTPS to the next client.
        [ok] = parse_responses(await https_get(live.address.port))
        assert ok.status == 200 and ok.body == b"<p>secure</p>"


@pytest.mark.parametrize("sends", [b"", b"\x16\x03\x01\x02\x00\x01"], ids=["nothing", "half"])
async def test_a_stalled_handshake_is_cut_by_the_head_deadline(
    tmp_path: Path, sends: bytes
) -> None:
    limits = Limits(head_timeout_s=0.5)
    config = Config(root=str(site(tmp_path)), tls=TlsOptions(), limits=limits)
    async with live_server(config) as live:
        stream = await trio.open_tcp_stream("127.0.0.1", live.address.port)
        if sends:
            await stream.send_all(sends)  # the start of a ClientHello, then silence
        data, waited = await read_until_closed(stream, 5)
        await stream.aclose()
        # No TLS record can be answered with an HTTP 408: the connection is just closed.
        assert b"HTTP/1.1" not in data
        assert 0.4 <= waited < 3


async def test_a_failed_handshake_is_logged_once_and_costs_the_others_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="minicors.server")
    config = Config(root=str(site(tmp_path)), tls=TlsOptions())
    async with live_server(config) as live:
        port = live.address.port
        # A client that does not trust the CA aborts the handshake (as a browser does before
        # the user ran `minicors tls trust`), and one sends a broken handshake record.
        untrusting = ssl.create_default_context(cafile=LocalCA.open(str(tmp_path / "x")).cert_path)
        await trio.to_thread.run_sync(blocking_handshake, untrusting, port)
        # Meanwhile and after, a good client is served.
        [ok] = parse_responses(await https_get(port))
        assert ok.status == 200
        with trio.fail_after(5):
            while not any("TLS with" in r.getMessage() for r in caplog.records):
                await trio.sleep(0.01)
        garbage = await trio.open_tcp_stream("127.0.0.1", port)
        await garbage.send_all(b"\x16\x03\x01\x00\x05hello")
        data, _ = await read_until_closed(garbage, 5)
        await garbage.aclose()
        assert b"HTTP/1.1" not in data
        with trio.fail_after(5):
            while sum("TLS with" in r.getMessage() for r in caplog.records) < 2:
                await trio.sleep(0.01)
        [ok] = parse_responses(await https_get(port))
        assert ok.status == 200
    failures = [r.getMessage() for r in caplog.records if "TLS with" in r.getMessage()]
    assert len(failures) == 2, failures  # once per failing client
    assert "UNKNOWN_CA" in failures[0].upper(), failures


async def test_the_server_key_never_reaches_a_client(tmp_path: Path) -> None:
    """The leaf's key file sits in the CA directory, outside ROOT: no path reaches it."""
    config = Config(root=str(site(tmp_path)), tls=TlsOptions())
    async with live_server(config) as live:
        ca = LocalCA.open()
        key_pem = Path(ca.key_path).read_bytes()
        for path in ("/../minicors-home/ca-key.pem", "/%2e%2e/minicors-home/ca-key.pem"):
            [answer] = parse_responses(await https_get(live.address.port, path))
            assert answer.status in (400, 404) and key_pem not in answer.body
