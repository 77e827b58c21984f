"""Every input of the hostile-input table, fed three ways over both transports.

Each case is sent whole, byte by byte (inputs over 8 KiB: their first and last 4 KiB byte by
byte, the middle in 4 KiB pieces), and whole with a second request glued on.  The answer (the
final response's status and what the application saw) must be the same all three ways and on
both the memory-stream and the socket transport; a refusal closes the connection, so the
glued request is answered only after an accepted, kept-alive request.
"""

from __future__ import annotations

import pytest

from minicors.options import Limits

from ..conftest import TRANSPORTS, Exchange, Parsed, exchange
from .cases import CASES, GLUE, MAX_BODY, MAX_CHUNKS, MAX_HEAD, Case

LIMITS = Limits(max_head_bytes=MAX_HEAD, max_body_bytes=MAX_BODY, max_body_chunks=MAX_CHUNKS)
PIECE = 4096


def bytewise(raw: bytes) -> list[bytes | float]:
    if len(raw) <= 2 * PIECE:
        return [raw[i : i + 1] for i in range(len(raw))]
    head = [raw[i : i + 1] for i in range(PIECE)]
    middle = [raw[i : i + PIECE] for i in range(PIECE, len(raw) - PIECE, PIECE)]
    cut = PIECE + len(middle) * PIECE
    if middle and len(middle[-1]) < PIECE:
        cut = PIECE + (len(middle) - 1) * PIECE + len(middle[-1])
    tail = [raw[i : i + 1] for i in range(cut, len(raw))]
    return [*head, *middle, *tail]


def method_of(raw: bytes) -> bytes:
    """HEAD or GET: all that matters for reading the answer (a HEAD answer has no body)."""
    return b"HEAD" if raw.lstrip(b"\r\n").startswith(b"HEAD ") else b"GET"


def finals(ex: Exchange) -> list[Parsed]:
    """The final responses (an interim `100 Continue` depends on how the body arrived)."""
    return [r for r in ex.responses if r.status >= 200]


def seen_body(response: Parsed) -> bytes:
    """What the echo app saw: it answers `METHOD TARGET LENGTH\\n` + the body."""
    first, _, body = response.body.partition(b"\n")
    assert int(first.rsplit(b" ", 1)[1]) == len(body)
    return body


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_case(case: Case, transport: str) -> None:
    method = method_of(case.raw)
    methods = [method, b"GET"]
    whole = await exchange(transport, [case.raw], limits=LIMITS, methods=methods)
    split = await exchange(transport, bytewise(case.raw), limits=LIMITS, methods=methods)
    glued = await exchange(transport, [case.raw + GLUE], limits=LIMITS, methods=methods)

    for ex in (whole, split):
        assert [r.status for r in finals(ex)] == [case.status], (case.why, ex.data[:300])
    first = finals(whole)[0]
    assert finals(split)[0].status == first.status
    if case.status != 200:
        assert first.header(b"connection") == b"close"
    elif method != b"HEAD":
        assert seen_body(first) == case.body
        assert seen_body(finals(split)[0]) == case.body
        assert finals(glued)[0].body == first.body

    answered = [r.status for r in finals(glued)]
    if case.status == 200 and case.keep_alive:
        assert answered == [200, 200]
        assert finals(glued)[1].body.startswith(b"GET /glued 0\n")
    else:
        assert answered == [case.status]
