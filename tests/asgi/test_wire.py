"""The shared wire table (tests/cors/wire_table.py) answered by the middleware around a small
app under real ASGI servers on real sockets: for every case, the CORS view (preflight status,
every `Access-Control-*` header, the `Vary` tokens) equals `minicors serve`'s own.  Then what
only a server shows: an exception's readable 500 (and the server's own log of it), and the
WebSocket handshake refused with 403 or let through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from minicors.config import Config
from minicors.cors import CorsPolicy
from minicors.server import BoundAddress

from ..conftest import live_server, request
from ..cors.wire_table import APP, CASES, EVIL, CaseView, WireCase, cors_view
from .carriers import COMMANDS, Carrier, running

_SERVE_VIEWS: dict[str, CaseView] = {}


def _text(pairs: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]


@pytest.fixture(scope="module", params=list(COMMANDS))
def carrier(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Carrier]:
    log = tmp_path_factory.mktemp("asgi") / f"{request.param}.log"
    with running(request.param, log) as started:
        yield started


async def serve_view(case: WireCase, root: Path) -> CaseView:
    """`minicors serve`'s answer to `case` (computed once per case)."""
    if case.name not in _SERVE_VIEWS:
        (root / "data.json").write_text('{"a": 1}\n')
        config = Config(root=str(root), cors=CorsPolicy(**case.policy))
        async with live_server(config) as live:
            r = await request(live.address, case.method, case.path, case.headers, host="api.test")
        _SERVE_VIEWS[case.name] = cors_view(case, r.status, _text(r.headers))
    return _SERVE_VIEWS[case.name]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_middleware_answers_as_minicors_serve(
    carrier: Carrier, case: WireCase, tmp_path: Path
) -> None:
    address = BoundAddress(host="127.0.0.1", port=carrier.port)
    target = f"{case.path}?case={case.name}"
    with trio.fail_after(20):
        r = await request(address, case.method, target, case.headers, host="api.test")
        expected = await serve_view(case, tmp_path)
    if not case.is_preflight:
        assert r.status == 200, r.body
    assert cors_view(case, r.status, _text(r.headers)) == expected


async def test_exception_is_a_readable_500_and_the_server_logs_it(carrier: Carrier) -> None:
    address = BoundAddress(host="127.0.0.1", port=carrier.port)
    with trio.fail_after(20):
        r = await request(address, "GET", "/boom?case=simple-allowed", [("Origin", APP)])
    assert r.status == 500
    assert r.header(b"access-control-allow-origin") == APP.encode()
    assert r.header(b"vary") == b"Origin"
    assert r.body == b"internal server error\n"
    # Re-raised: the server logged the traceback as it does for any failing app.
    with trio.fail_after(10):
        while "wire_app failure" not in carrier.output():
            await trio.sleep(0.05)


def _handshake(origin: str | None, query: str = "") -> bytes:
    lines = [
        f"GET /ws?case=simple-allowed{query} HTTP/1.1",
        "Host: api.test",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


MAX_HEAD_BYTES = 16 * 1024


async def _handshake_answer(address: BoundAddress, raw: bytes) -> bytes:
    """The response head to a handshake, read without half-closing (a server may take an
    early EOF for a client that left)."""
    data = b""
    with trio.fail_after(20):
        stream = await trio.open_tcp_stream(address.host, address.port)
        async with stream:
            await stream.send_all(raw)
            while b"\r\n\r\n" not in data and len(data) < MAX_HEAD_BYTES:
                chunk = await stream.receive_some(4096)
                if not chunk:
                    break
                data += chunk
    return data


@pytest.mark.parametrize(
    ("origin", "status"), [(APP, b"101"), (None, b"101"), (EVIL, b"403")], ids=str
)
async def test_websocket_handshake(carrier: Carrier, origin: str | None, status: bytes) -> None:
    address = BoundAddress(host="127.0.0.1", port=carrier.port)
    data = await _handshake_answer(address, _handshake(origin))
    assert data.split(b"\r\n", 1)[0].split(b" ")[1] == status, data[:300]


async def test_websocket_refused_by_close_when_the_server_lacks_the_extension(
    carrier: Carrier,
) -> None:
    """`websocket.close` before `websocket.accept`: the server itself answers 403."""
    address = BoundAddress(host="127.0.0.1", port=carrier.port)
    data = await _handshake_answer(address, _handshake(EVIL, "&no-extension=1"))
    assert data.split(b"\r\n", 1)[0].split(b" ")[1] == b"403", data[:300]
    ok = await _handshake_answer(address, _handshake(APP, "&no-extension=1"))
    assert ok.split(b"\r\n", 1)[0].split(b" ")[1] == b"101", ok[:300]
