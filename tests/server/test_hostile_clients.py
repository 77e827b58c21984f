"""Regression tests for what hostile or held-up clients could do to the server before the
connection layer was rewritten: memory, deadlines, shedding at the connection limit, the log,
workers and shutdown.

Each test names the defect it pins down and the old behaviour it failed on.  Deadlines are
tested on trio's autojump clock where a memory stream is enough; the tests that need real
sockets keep their waits short and bounded.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio

from minicors.config import Config
from minicors.errors import ProtocolError
from minicors.messages import Request
from minicors.options import Limits
from minicors.protocol import HeadCache, HttpConnection, Need, Phase
from minicors.server import Server

from ..conftest import (
    TRANSPORTS,
    Exchange,
    Parsed,
    exchange,
    fetch,
    live_server,
    parse_responses,
    run_exchange,
)

MIB = 1024 * 1024
READ = 64 * 1024  # what one read of the socket transport hands the protocol at most


def finals(ex: Exchange) -> list[Parsed]:
    return [r for r in ex.responses if r.status >= 200]


def statuses(ex: Exchange) -> list[int]:
    return [r.status for r in finals(ex)]


Sends = list[bytes | float]


def in_reads(data: bytes) -> list[bytes]:
    return [data[i : i + READ] for i in range(0, len(data), READ)]


def every(period_s: float, data: bytes, times: int) -> Sends:
    """`data` sent `times` times, `period_s` apart."""
    out: Sends = []
    for _ in range(times):
        out += [data, period_s]
    return out


# --- 1. memory per connection is bounded whatever the chunking ------------------------------

CHUNKED_HEAD = b"POST /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"


def one_byte_chunks(count: int) -> bytes:
    return b"1\r\na\r\n" * count


def test_one_byte_chunks_cost_a_small_multiple_of_the_body() -> None:
    """Defect 1: a body in 1-byte chunks grew memory by ~160 bytes per chunk (old, measured as
    the server's peak RSS: +14.3 MiB for 90,000 chunks, about 160 times the body).  Now the
    traced peak of the protocol object is a small multiple of the body."""
    count = 90_000
    reads = in_reads(CHUNKED_HEAD + one_byte_chunks(count) + b"0\r\n\r\n")
    protocol = HttpConnection(Limits(), HeadCache(b"t"))
    results: list[Request | Need] = []
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for data in reads:
            protocol.receive_data(data)
            results.append(protocol.next_request())
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    *waiting, request = results
    assert all(r is Need.DATA for r in waiting)
    assert not isinstance(request, Need)
    assert request.body == b"a" * count
    assert peak < 5 * count, f"peak {peak} B for a {count} B body"


def test_more_chunks_than_the_limit_get_413_before_the_body_ends() -> None:
    """Defect 1: the number of chunks is bounded (`max_body_chunks`, default 100,000): one
    more is refused with 413 as soon as its size line arrives (old: no such limit)."""
    limits = Limits()
    assert limits.max_body_chunks == 100_000
    reads = in_reads(CHUNKED_HEAD + one_byte_chunks(100_001))
    protocol = HttpConnection(limits, HeadCache(b"t"))
    fed = 0
    with pytest.raises(ProtocolError) as refused:
        for data in reads:
            protocol.receive_data(data)
            fed += 1
            assert protocol.next_request() is Need.DATA
    assert refused.value.status == 413
    assert "chunks" in refused.value.message
    assert fed == len(reads)  # refused at the last size line, not at the end of the body


def test_exactly_the_chunk_limit_is_accepted() -> None:
    """The boundary of defect 1's limit: `max_body_chunks` chunks are still a body."""
    reads = in_reads(CHUNKED_HEAD + one_byte_chunks(100_000) + b"0\r\n\r\n")
    protocol = HttpConnection(Limits(), HeadCache(b"t"))
    result: Request | Need = Need.DATA
    for data in reads:
        protocol.receive_data(data)
        result = protocol.next_request()
    assert not isinstance(result, Need)
    assert len(result.body) == 100_000


async def test_too_many_chunks_are_answered_413_on_the_wire(autojump_clock: trio.abc.Clock) -> None:
    """Defect 1 over a connection: 413 arrives while the body is still open (the last chunk
    is never sent; a server that waited for it would answer 408 at the body deadline)."""
    ex = await run_exchange([CHUNKED_HEAD, *in_reads(one_byte_chunks(100_001))], close_after=False)
    assert statuses(ex) == [413]
    assert b"chunks" in finals(ex)[0].body


# --- 2a. a body must keep coming -------------------------------------------------------------

BIG_POST = b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"


async def test_a_trickled_body_gets_408_after_the_body_timeout(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Defect 2a: a `Content-Length: 1000000` body trickled a byte every 2 s held the
    connection forever (old: each read had its own head_timeout_s, which a byte every 2 s
    always met).  Now: 408 once body_timeout_s (10 s) + 1 s per 1024 bytes has passed."""
    ex = await run_exchange([BIG_POST, *every(2.0, b"x", 100)])  # 200 s of trickle at most
    assert statuses(ex) == [408]
    assert b"body" in finals(ex)[0].body
    # The answer comes at 10 s; closing then reads briefly (at most 2 s) before it ends.
    assert 10.0 <= ex.elapsed_s <= 13.0, ex.elapsed_s


async def test_the_body_deadline_grows_with_the_bytes_received(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Defect 2a, the rate: a body faster than body_min_rate may take longer than
    body_timeout_s; one slower is cut where body_timeout_s + received/body_min_rate runs out."""
    limits = Limits(body_timeout_s=10.25, body_min_rate=1024)
    head = b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 61440\r\n\r\n"
    fast = await run_exchange([head, *every(1.0, b"x" * 2048, 30)], limits=limits)  # 30 s
    assert statuses(fast) == [200]
    assert finals(fast)[0].body.startswith(b"POST /a 61440\n")
    # 512 B/s: after the send at t = n the deadline is 10.25 + (n + 1) / 2, first missed
    # at n = 20: 408 at t = 20.75 (then up to 2 s of reading before the close).
    slow = await run_exchange([head, *every(1.0, b"x" * 512, 120)], limits=limits)
    assert statuses(slow) == [408]
    assert 20.75 <= slow.elapsed_s <= 23.0, slow.elapsed_s


# --- 2b. a response write that makes no progress is dropped ---------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("hello\n")
    (tmp_path / "big.bin").write_bytes(bytes(32 * MIB))  # more than loopback buffers hold
    return tmp_path


GET_SMALL = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
GET_BIG = b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n"


async def test_a_download_that_is_never_read_is_dropped_after_send_timeout(site: Path) -> None:
    """Defect 2b: a download by a client that never reads held its connection forever (old:
    after 3 s without reading, the client could still read the whole 64 MiB file).  Now the
    connection ends once a write has made no progress for send_timeout_s."""
    limits = Limits(send_timeout_s=0.5)
    async with live_server(root=site, limits=limits) as live:
        stream = await trio.open_tcp_stream(live.address.host, live.address.port)
        async with stream:
            await stream.send_all(GET_BIG)
            with trio.fail_after(10):
                while not live.server.tasks:
                    await trio.sleep(0.01)
                while live.server.tasks:  # dropped: 0.5 s (+ 0.5 s slack) without progress
                    await trio.sleep(0.05)
            received = 0
            with trio.fail_after(10):
                try:
                    while chunk := await stream.receive_some(MIB):
                        received += len(chunk)
                except trio.BrokenResourceError:
                    pass
            assert received < 32 * MIB  # what was in flight, then the end
        (answer,) = parse_responses(await fetch(live.address, GET_SMALL))
        assert answer.status == 200


# --- 2c. held-up clients cannot starve a well-behaved one at the connection limit ----------

HeldUp = Callable[[trio.SocketStream], Awaitable[None]]


async def silent(stream: trio.SocketStream) -> None:
    await trio.sleep_forever()


async def _trickle(stream: trio.SocketStream, first: bytes, each: bytes) -> None:
    try:
        await stream.send_all(first)
        for _ in range(30):  # a byte every 2 s, 60 s at most
            await trio.sleep(2.0)
            await stream.send_all(each)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # shed: that is the point


async def trickled_head(stream: trio.SocketStream) -> None:
    await _trickle(stream, b"GET /a.txt HTTP/1.1\r\nX-Slow: ", b"x")


async def trickled_body(stream: trio.SocketStream) -> None:
    await _trickle(
        stream, b"POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n", b"x"
    )


async def never_reading_download(stream: trio.SocketStream) -> None:
    try:
        await stream.send_all(GET_BIG)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return
    await trio.sleep_forever()


# Where the server stands with each kind of held-up client once it has read what it sent.
PHASE_OF: dict[HeldUp, Phase] = {
    silent: Phase.IDLE,
    trickled_head: Phase.HEAD,
    trickled_body: Phase.BODY,
    never_reading_download: Phase.RESPONSE,
}
HELD_UP: dict[str, list[HeldUp]] = {
    "mix": [silent, trickled_head, trickled_body, never_reading_download] * 5,
    "silent": [silent] * 20,
    "trickled-heads": [trickled_head] * 20,
    "trickled-bodies": [trickled_body] * 20,
    "never-reading-downloads": [never_reading_download] * 20,
}


@pytest.mark.parametrize("crowd", list(HELD_UP))
async def test_held_up_clients_do_not_starve_a_good_one(site: Path, crowd: str) -> None:
    """Defect 2c: 20 held-up clients under max_connections=20 starved a well-behaved client
    (old: not served within 5 s, whichever the crowd; never-reading downloads were still
    never shed at commit 754d4c3, since a blocked write did not count as waiting).  Now the
    server sheds the connection that has waited longest on its peer.  Every timeout is set
    far away here, so only shedding can make room."""
    far = 60.0
    limits = Limits(max_connections=20, head_timeout_s=far, body_timeout_s=far, send_timeout_s=far)
    config = Config(root=str(site), access_log=False, limits=limits)
    async with live_server(config) as live, trio.open_nursery() as clients:
        streams: list[trio.SocketStream] = []
        try:
            for behave in HELD_UP[crowd]:
                stream = await trio.open_tcp_stream(live.address.host, live.address.port)
                streams.append(stream)
                clients.start_soon(behave, stream)
            expected = Counter(PHASE_OF[behave] for behave in HELD_UP[crowd])
            with trio.fail_after(10):  # every held-up client got where it holds its slot
                while Counter(task.protocol.phase for task in live.server.tasks) != expected:
                    await trio.sleep(0.01)
            await trio.sleep(1.2)  # every held-up client has stalled past a second by now
            answer = b""
            with trio.move_on_after(3) as waited:  # "within a couple of seconds"
                answer = await fetch(live.address, GET_SMALL, timeout=3)
            assert not waited.cancelled_caught, f"not served within 3 s behind 20 {crowd}"
            (response,) = parse_responses(answer)
            assert response.status == 200
            assert response.body == b"hello\n"
        finally:
            clients.cancel_scope.cancel()
            with trio.CancelScope(shield=True):  # close them all, cancelled or not
                for stream in streams:
                    await stream.aclose()


# --- 11. an error's log line counts from the bad request's first bytes -----------------------

ELAPSED = re.compile(r'" 400 \d+B (\d+\.\d)ms')


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refusal_on_a_kept_alive_connection_logs_its_own_elapsed_time(
    transport: str,
) -> None:
    """Defect 11: after idling on a kept-alive connection, a 400 was logged with the time
    since the previous request began (old: 1200.7 ms for a bad request that took 200 ms
    after 1 s of idle).  Real time: 1 s idle, then a bad head in two parts 0.2 s apart."""
    good = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
    bad: Sends = [b"GET /a.txt HTTP/1.1\r\nHost: t\r\nBad Header", 0.2, b": x\r\n\r\n"]
    ex = await exchange(transport, [good, 1.0, *bad])
    assert statuses(ex) == [200, 400]
    (line,) = [ln for ln in ex.log.splitlines() if '" 400 ' in ln]
    match = ELAPSED.search(line)
    assert match is not None, line
    elapsed_ms = float(match.group(1))
    assert 200.0 <= elapsed_ms < 900.0, line  # from the bad head's first bytes, not before


# --- 12. --workers: no URL unless every worker started -------------------------------------

WORKERS_SCRIPT = """
import os, sys
from minicors.config import Config
from minicors.server import workers

def exit_at_once(*args):
    os._exit(3)

workers._worker_main = exit_at_once
config = Config(root=sys.argv[1], host="127.0.0.1", port=0, workers=2)
sys.exit(workers.run_workers(config))
"""


def test_workers_that_die_at_start_get_no_url_and_exit_1(tmp_path: Path) -> None:
    """Defect 12: with `--workers`, the URL line was printed even when a worker died at
    start-up (old: it printed the URL, then restarted dying workers forever).  Now: no URL
    line, exit status 1, and a line on stderr that says why."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKERS_SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"still running after 20 s; stdout {out[:300]!r}, stderr {err[:300]!r}")
    assert "http://" not in out and "serving" not in out, out
    assert proc.returncode == 1, (out, err)
    assert "0 of 2 workers started" in err, err


# --- 13. cancelling serve closes every listener ----------------------------------------------


async def test_cancelling_serve_closes_every_listener(tmp_path: Path) -> None:
    """Defect 13: shutdown awaited `listener.aclose()` in a loop inside `finally`; under
    cancellation the first raised and the other listeners stayed open (old: the second
    listener's socket still open after the cancel)."""
    listeners = [
        *await trio.open_tcp_listeners(0, host="127.0.0.1"),
        *await trio.open_tcp_listeners(0, host="127.0.0.1"),
    ]
    assert len(listeners) == 2
    ports = [listener.socket.getsockname()[1] for listener in listeners]
    server = Server(Config(root=str(tmp_path), access_log=False))
    async with trio.open_nursery() as nursery:
        await nursery.start(functools.partial(server.serve, listeners=listeners))
        for port in ports:  # both serve
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.aclose()
        nursery.cancel_scope.cancel()
    assert [listener.socket.fileno() for listener in listeners] == [-1, -1]
    for port in ports:
        with pytest.raises(OSError):
            await trio.open_tcp_stream("127.0.0.1", port)
