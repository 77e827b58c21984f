"""The protocol rules of one connection, over in-memory streams with a small echo app.

Each rule has a test that fails without it; timeouts run on trio's autojump clock, so a 10 s
deadline takes no real time.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import h11
import pytest
import trio

from minicors.errors import UnsafeResponse
from minicors.messages import FileBody, Request, Response, StreamBody, combine_headers
from minicors.options import Limits
from minicors.protocol import HeadCache, HttpConnection, render_head
from minicors.server.answers import SMALL_BODY

from ..conftest import Exchange, echo_app, run_exchange

GET = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"


def sends(ex: Exchange) -> int:
    assert ex.stream is not None  # a memory-stream exchange counts the server's writes
    return ex.stream.sends


async def test_simple_get_has_date_server_and_length() -> None:
    ex = await run_exchange([GET])
    (resp,) = ex.responses
    assert resp.status == 200
    assert resp.body == b"GET /a 0\n"
    assert resp.header(b"server") == b"minicors/test"
    date = resp.header(b"date")
    assert date is not None and date.endswith(b" GMT")
    assert resp.header(b"content-length") == b"9"
    assert '"GET /a HTTP/1.1" 200 9B' in ex.log


async def test_small_response_is_one_send_all() -> None:
    ex = await run_exchange([GET])
    assert len(ex.responses) == 1
    assert sends(ex) == 1


async def test_keep_alive_serves_sequential_requests() -> None:
    ex = await run_exchange([GET, 0.01, b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n"])
    assert [r.body for r in ex.responses] == [b"GET /a 0\n", b"GET /b 0\n"]


async def test_pipelined_requests_answered_in_order() -> None:
    burst = b"".join(f"GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for i in range(5))
    ex = await run_exchange([burst])
    assert [r.body for r in ex.responses] == [f"GET /{i} 0\n".encode() for i in range(5)]


async def test_pipelined_answers_leave_in_one_write() -> None:
    burst = b"".join(f"GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for i in range(16))
    ex = await run_exchange([burst])
    assert len(ex.responses) == 16
    assert sends(ex) == 1  # sixteen answers, one send_all


async def test_pipelined_batch_is_flushed_before_a_protocol_error() -> None:
    ex = await run_exchange([GET + GET + b"BROKEN\r\n\r\n"])
    assert [r.status for r in ex.responses] == [200, 200, 400]


async def test_head_keeps_headers_and_sends_no_body() -> None:
    ex = await run_exchange(
        [b"HEAD /a HTTP/1.1\r\nHost: t\r\n\r\n", GET], methods=[b"HEAD", b"GET"]
    )
    head, get = ex.responses
    assert head.status == 200 and head.body == b""
    assert head.header(b"content-length") == b"10"  # "HEAD /a 0\n" would have been sent
    assert get.body == b"GET /a 0\n"  # framing intact: the next response parses


async def test_expect_100_continue_then_body() -> None:
    head = b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    ex = await run_exchange([head, 0.05, b"hello"])
    statuses = [r.status for r in ex.responses]
    assert statuses == [100, 200]
    assert ex.responses[1].body == b"POST /p 5\nhello"


async def test_expect_100_with_too_large_body_gets_413_without_100() -> None:
    head = b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n"
    ex = await run_exchange([head], limits=Limits(max_body_bytes=1000))
    assert [r.status for r in ex.responses] == [413]
    assert ex.responses[0].header(b"connection") == b"close"


async def test_chunked_request_body_is_reassembled() -> None:
    ex = await run_exchange(
        [
            b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n",
            b"6\r\n world\r\n0\r\n\r\n",
        ]
    )
    assert ex.responses[0].body == b"POST /c 11\nhello world"


async def test_http10_client_gets_answer_and_close(autojump_clock: trio.abc.Clock) -> None:
    ex = await run_exchange([b"GET /old HTTP/1.0\r\n\r\n"], close_after=False)
    (resp,) = ex.responses
    assert resp.status == 200 and resp.body == b"GET /old 0\n"
    assert resp.header(b"connection") == b"close"


async def test_connection_close_is_honoured_and_later_bytes_ignored(
    autojump_clock: trio.abc.Clock,
) -> None:
    # uvicorn #2238: bytes after a "Connection: close" request must not get a 400.
    ex = await run_exchange(
        [b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + GET], close_after=False
    )
    assert [r.status for r in ex.responses] == [200]
    assert ex.responses[0].header(b"connection") == b"close"


async def test_head_larger_than_limit_gets_431() -> None:
    big = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    ex = await run_exchange([big])
    assert [r.status for r in ex.responses] == [431]
    assert ex.responses[0].header(b"connection") == b"close"


async def test_head_limit_is_configurable() -> None:
    head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n"
    assert (await run_exchange([head])).responses[0].status == 200
    ex = await run_exchange([head], limits=Limits(max_head_bytes=2048))
    assert ex.responses[0].status == 431


async def test_body_over_limit_by_content_length_gets_413() -> None:
    ex = await run_exchange(
        [b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"],
        limits=Limits(max_body_bytes=10),
    )
    assert [r.status for r in ex.responses] == [413]


async def test_chunked_body_over_limit_gets_413() -> None:
    ex = await run_exchange(
        [
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"8\r\n12345678\r\n",
            b"8\r\n12345678\r\n0\r\n\r\n",
        ],
        limits=Limits(max_body_bytes=10),
    )
    assert [r.status for r in ex.responses] == [413]


@pytest.mark.parametrize(
    ("raw", "status", "why"),
    [
        (b"GET /\r\n\r\n", 400, "no HTTP version"),
        (b"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "line 2 is not a 'name: value' header"),
        (b"GET / HTTP/1.1\r\n\r\n", 400, "Host"),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            400,
            "conflicting Content-Length values",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
            "both Content-Length and Transfer-Encoding",
        ),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n  c\r\n\r\n", 400, "line 4 is folded"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n\tc\r\n\r\n", 400, "line 4 is folded"),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
            "Transfer-Encoding",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
            "chunk",
        ),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, "HTTP/2.0 is not supported"),
        (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, "whitespace before the colon"),
    ],
)
async def test_protocol_errors_get_one_precise_response_and_close(
    raw: bytes, status: int, why: str
) -> None:
    ex = await run_exchange([raw, GET])
    assert [r.status for r in ex.responses] == [status]
    resp = ex.responses[0]
    assert resp.header(b"connection") == b"close"
    assert why in resp.body.decode()
    assert b"Traceback" not in ex.data
    assert f" {status} " in ex.log


async def test_obs_fold_split_across_reads_is_still_refused() -> None:
    ex = await run_exchange([b"GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n", 0.01, b" c\r\n\r\n"])
    assert [r.status for r in ex.responses] == [400]


async def test_handler_exception_becomes_500_with_close(caplog: pytest.LogCaptureFixture) -> None:
    ex = await run_exchange([b"GET /boom HTTP/1.1\r\nHost: t\r\n\r\n", GET])
    assert [r.status for r in ex.responses] == [500]
    assert ex.responses[0].header(b"connection") == b"close"
    assert b"handler failure" not in ex.data  # nothing private reaches the client
    assert "handler failure" in caplog.text  # ... but the log has the traceback
    assert "Traceback" in caplog.text


async def test_trickling_head_is_cut_at_head_timeout(autojump_clock: trio.abc.Clock) -> None:
    # One byte a second: without a deadline on the whole head this would go on for minutes.
    trickle: list[bytes | float] = []
    for byte in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100:
        trickle += [bytes([byte]), 1.0]
    ex = await run_exchange(trickle, limits=Limits(head_timeout_s=10))
    assert [r.status for r in ex.responses] == [408]
    assert 9.0 <= ex.elapsed_s <= 12.0


async def test_silent_new_connection_gets_408(autojump_clock: trio.abc.Clock) -> None:
    ex = await run_exchange([30.0], limits=Limits(head_timeout_s=10))
    assert [r.status for r in ex.responses] == [408]
    assert 9.0 <= ex.elapsed_s <= 12.0


async def test_idle_keepalive_connection_closes_quietly(autojump_clock: trio.abc.Clock) -> None:
    ex = await run_exchange([GET, 60.0], limits=Limits(keepalive_timeout_s=5))
    assert [r.status for r in ex.responses] == [200]  # no 408 for an idle kept-alive client
    assert 4.5 <= ex.elapsed_s <= 6.5


async def test_slow_app_is_not_cut_by_head_timeout(autojump_clock: trio.abc.Clock) -> None:
    async def slow(request: Request) -> Response:
        await trio.sleep(30)
        return await echo_app(request)

    ex = await run_exchange([GET], app=slow, limits=Limits(head_timeout_s=10))
    assert [r.status for r in ex.responses] == [200]


async def test_head_of_a_file_reads_nothing() -> None:
    # The path does not exist: answering HEAD must not even open it (Content-Length is known).
    async def file_app(request: Request) -> Response:
        return Response(status=200, body=FileBody(path="/nonexistent/f.bin", offset=0, length=10))

    ex = await run_exchange(
        [b"HEAD /f HTTP/1.1\r\nHost: t\r\n\r\n"], app=file_app, methods=[b"HEAD"]
    )
    (resp,) = ex.responses
    assert resp.status == 200 and resp.body == b""
    assert resp.header(b"content-length") == b"10"


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [("Accept", "*/*")],
        [("X-A", "1"), ("x-a", "2"), ("X-B", "3")],  # repeated names are combined
        [(f"X-H{i}", str(i)) for i in range(100)],
        [("Cookie", "a=1"), ("Cookie", "b=2")],
    ],
)
def test_request_headers_match_h11s_public_headers(lines: list[tuple[str, str]]) -> None:
    raw = "".join(f"{n}: {v}\r\n" for n, v in lines)
    data = f"GET / HTTP/1.1\r\nHost: t\r\n{raw}\r\n".encode()
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    event = conn.next_event()
    assert isinstance(event, h11.Request)
    ours = HttpConnection(Limits(), HeadCache(b"t"))
    ours.receive_data(data)
    request = ours.next_request()
    assert isinstance(request, Request)
    assert request.headers == combine_headers(tuple(event.headers))


async def test_a_shared_answer_renders_connection_close_when_asked() -> None:
    shared = Response(status=200, headers=((b"content-type", b"text/plain"),), body=b"hi\n")
    shared = dataclasses.replace(shared, shared=True)

    async def app(request: Request) -> Response:
        return shared  # one object for every request: its head is rendered once per second

    close = b"GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    ex = await run_exchange([GET, GET, close], app=app)
    assert [r.body for r in ex.responses] == [b"hi\n"] * 3
    assert [r.header(b"connection") for r in ex.responses] == [None, None, b"close"]
    assert [r.header(b"content-length") for r in ex.responses] == [b"3"] * 3


async def test_answers_serialised_by_h11_keep_the_connection_alive(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"b" * (SMALL_BODY + 1))  # too large for the rendered path

    async def app(request: Request) -> Response:
        if request.target == "/file":
            fd = os.open(big, os.O_RDONLY)
            return Response(
                status=200, body=FileBody(path=str(big), offset=0, length=SMALL_BODY + 1, fd=fd)
            )
        if request.target == "/stream":
            return Response(status=200, body=StreamBody(chunks=iter([b"ab", b"cd"])))
        return await echo_app(request)

    gets = [f"GET {t} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for t in ("/file", "/stream", "/a")]
    ex = await run_exchange([gets[0], 0.01, gets[1], 0.01, gets[2]], app=app)
    assert [r.status for r in ex.responses] == [200, 200, 200]
    assert ex.responses[0].body == b"b" * (SMALL_BODY + 1)
    assert ex.responses[1].body == b"abcd"
    assert ex.responses[2].body == b"GET /a 0\n"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        (b"text/plain", True),
        (b"a, b; q=0.5", True),
        (b"x\r\nSet-Cookie: evil=1", False),
        (b"x\nInjected: 1", False),
        (b"x\rmore", False),
        (b"nul\x00byte", False),
    ],
)
def test_rendered_head_refuses_header_injection(value: bytes, safe: bool) -> None:
    response = Response(status=200, headers=((b"content-type", value),), body=b"hi")
    date = b"Thu, 01 Jan 2026 00:00:00 GMT"
    if not safe:
        with pytest.raises(UnsafeResponse):
            render_head(response, 2, keep=True, date=date, server=b"minicors")
        return
    head = render_head(response, 2, keep=True, date=date, server=b"minicors")
    assert head.endswith(b"content-length: 2\r\n\r\n")


@pytest.mark.parametrize("shared", [False, True])
async def test_a_header_with_a_line_break_becomes_a_500_on_the_wire(shared: bool) -> None:
    bad = Response(
        status=200, headers=((b"x-evil", b"a\r\nSet-Cookie: s=1"),), body=b"no", shared=shared
    )

    async def app(request: Request) -> Response:
        return bad

    ex = await run_exchange([GET, GET], app=app)
    assert [r.status for r in ex.responses] == [500]  # and the connection closes
    assert ex.responses[0].header(b"set-cookie") is None
    assert "bad header" in ex.log


async def test_shared_answers_with_one_headers_tuple_keep_their_own_length() -> None:
    headers = ((b"content-type", b"text/plain"),)
    short = Response(status=200, headers=headers, body=b"a\n", shared=True)
    longer = Response(status=200, headers=headers, body=b"abcdef\n", shared=True)
    missing = Response(status=404, headers=headers, body=b"a\n", shared=True)

    async def app(request: Request) -> Response:
        return {"/short": short, "/long": longer}.get(request.target, missing)

    gets = [f"GET {t} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for t in ("/short", "/long", "/x")]
    ex = await run_exchange([*gets, *gets], app=app)
    assert [r.body for r in ex.responses] == [b"a\n", b"abcdef\n", b"a\n"] * 2
    assert [r.status for r in ex.responses] == [200, 200, 404] * 2
    assert [r.header(b"content-length") for r in ex.responses] == [b"2", b"7", b"2"] * 2
