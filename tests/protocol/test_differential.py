"""minicors is never looser than a bare h11 server about where each message ends.

Every input of the hostile-input table (alone, and with a second request glued on) is read by
two parsers: a bare `h11.Connection(h11.SERVER)` walked through a minimal response to each
request, and minicors's `HttpConnection`.  Each gives the list of (method, target, body) it
read; minicors's list must be a prefix of h11's, and where it is shorter minicors must have
refused the rest (a `ProtocolError`), never stopped silently, and where h11 refuses what
follows the last request, minicors never takes it for a clean close.  Framing cases are also fed to
minicors in two pieces at every split point (and byte by byte): the outcome must not change.

One deliberate deviation is modelled: minicors ignores empty lines (CRLF) before a request line
(RFC 9112 §2.2: a server SHOULD ignore at least one), h11 refuses them, so the h11 model drops
the CRLFs in front of each request before h11 reads it (`strip_empty_lines`), and where all
that is left is a CR that may yet become one more empty line, it waits for more bytes as
minicors does (h11 would refuse the CR at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import h11
import pytest

from minicors.errors import ProtocolError
from minicors.messages import Request, Response
from minicors.options import Limits
from minicors.protocol import HeadCache, HttpConnection, Need

from .cases import CASES, GLUE, MAX_BODY, MAX_CHUNKS, MAX_HEAD, Case

LIMITS = Limits(max_head_bytes=MAX_HEAD, max_body_bytes=MAX_BODY, max_body_chunks=MAX_CHUNKS)
HEADS = HeadCache(b"minicors/test")
TINY = Response(status=200)

Triple = tuple[bytes, bytes, bytes]  # (method, target, decoded body)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one parser made of the bytes: the requests it read, then how it stopped."""

    requests: tuple[Triple, ...]
    end: str  # "refused", "need-data", "closed" (clean EOF), "no-keep-alive", or an h11 state
    status: int | None = None  # the refusal's status (h11's error_status_hint for h11)
    # minicors only: where the request attempt after the last one read begins (not compared)
    start: int = field(default=0, compare=False)


def steps(data: bytes) -> range:
    """A bound on the turns of a parsing loop: every turn but the last consumes a byte."""
    return range(len(data) + 4)


def strip_empty_lines(data: bytes) -> bytes:
    """`data` without the empty lines (CRLF) in front of it (RFC 9112 §2.2)."""
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    return data[start:]


def _fresh_h11(data: bytes, closed: bool) -> h11.Connection:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    data = strip_empty_lines(data)
    if data:  # b"" would mean EOF to h11
        conn.receive_data(data)
    if closed:
        conn.receive_data(b"")
    return conn


def _may_be_empty_line(data: bytes, closed: bool) -> bool:
    """Empty lines and then a lone CR: the start of one more empty line, which minicors waits
    for (h11 refuses the CR at once, as it refuses any empty line there)."""
    return not closed and strip_empty_lines(data) == b"\r"


def h11_model(data: bytes, *, eof: bool = False) -> Outcome:
    """A bare h11 server reading `data` (then EOF if `eof`): each request is answered with an
    empty 404 through h11 (not a 2xx, which would accept a CONNECT tunnel), and the next cycle
    starts only when h11 allows both sides to go on.  The CRLFs in front of each request are
    dropped, and a lone CR after them is waited on (see the module docstring)."""
    requests: list[Triple] = []
    if _may_be_empty_line(data, eof):
        return Outcome((), "need-data")
    conn = _fresh_h11(data, eof)
    method = target = b""
    body = bytearray()
    for _ in steps(data):
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            return Outcome(tuple(requests), "refused", exc.error_status_hint)
        if isinstance(event, h11.Request):
            method, target, body = bytes(event.method), bytes(event.target), bytearray()
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            requests.append((method, target, bytes(body)))
            conn.send(h11.Response(status_code=404, headers=[(b"content-length", b"0")]))
            conn.send(h11.EndOfMessage())
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return Outcome(tuple(requests), "no-keep-alive")
            conn.start_next_cycle()
            rest, closed = conn.trailing_data
            if _may_be_empty_line(rest, closed):
                return Outcome(tuple(requests), "need-data")
            if rest.startswith(b"\r\n"):
                conn = _fresh_h11(rest, closed)
        elif event is h11.NEED_DATA:
            return Outcome(tuple(requests), "need-data")
        elif isinstance(event, h11.ConnectionClosed):
            return Outcome(tuple(requests), "closed")
        else:  # PAUSED, or an event a server never sees
            return Outcome(tuple(requests), f"h11 {event!r}")
    raise AssertionError(f"h11 made no progress on {data[:200]!r}")


def triple(request: Request) -> Triple:
    """The (method, target, body) of a minicors `Request`."""
    return (request.method.encode("latin-1"), request.target.encode("latin-1"), request.body)


def minicors_run(pieces: Sequence[bytes], *, eof: bool = False, limits: Limits = LIMITS) -> Outcome:
    """minicors's `HttpConnection` fed `pieces` one by one (then EOF if `eof`), handing out
    every request it can after each piece; each request is answered with an empty 200."""
    conn = HttpConnection(limits, HEADS)
    requests: list[Triple] = []
    # b"" is EOF to receive_data: sent only at the end, when asked for.
    feed = [p for p in pieces if p] + ([b""] if eof else [])
    fed = start = 0
    result: Request | Need = Need.DATA
    for piece in feed:
        conn.receive_data(piece)
        fed += len(piece)
        for _ in steps(piece):
            try:
                result = conn.next_request()
            except ProtocolError as exc:
                return Outcome(tuple(requests), "refused", exc.status, start)
            if isinstance(result, Need):
                break
            requests.append(triple(result))
            conn.response_head(TINY, 0)
            if not conn.response_done():
                return Outcome(tuple(requests), "no-keep-alive", None, fed - conn.buffered)
            start = fed - conn.buffered
        else:
            raise AssertionError(f"minicors made no progress on {piece[:200]!r}")
        if result is Need.CLOSED:
            break
    return Outcome(tuple(requests), "closed" if result is Need.CLOSED else "need-data", None, start)


def assert_not_looser(ours: Outcome, theirs: Outcome, raw: bytes) -> None:
    """minicors read a prefix of what h11 read, and refused where it read less."""
    shown = raw[:200]
    assert ours.requests == theirs.requests[: len(ours.requests)], (shown, ours, theirs)
    if len(ours.requests) < len(theirs.requests):
        assert ours.end == "refused", ("stopped silently", shown, ours, theirs)
    if theirs.end == "refused" and len(ours.requests) == len(theirs.requests):
        # h11 refused the bytes after the last request: minicors may refuse them too or wait
        # for more, but never take them for a clean end of the connection.
        assert ours.end != "closed", ("closed cleanly where h11 refused", shown, ours, theirs)


INPUTS = [(c, glued) for c in CASES for glued in (False, True)]


def _raw(case: Case, glued: bool) -> bytes:
    return case.raw + GLUE if glued else case.raw


@pytest.mark.parametrize("eof", [False, True], ids=["open", "eof"])
@pytest.mark.parametrize(
    ("case", "glued"), INPUTS, ids=[c.name + ("+glue" if g else "") for c, g in INPUTS]
)
def test_never_looser_than_h11(case: Case, glued: bool, eof: bool) -> None:
    raw = _raw(case, glued)
    ours = minicors_run([raw], eof=eof)
    theirs = h11_model(raw, eof=eof)
    assert_not_looser(ours, theirs, raw)
    # The table's verdict holds here too, and at once: the first request is read as listed
    # (then the glued one, on a kept-alive connection), or refused with the listed status as
    # soon as its bytes are wrong, without waiting for more (or for the EOF).
    if case.status == 200:
        assert ours.requests[:1] and ours.requests[0][2] == case.body, ours
        if glued and case.keep_alive:
            assert ours.requests[1:] == ((b"GET", b"/glued", b""),), ours
    else:
        assert not ours.requests and ours.status == case.status, (case.why, ours)


FRAMING_KINDS = {"content-length", "cl-te", "trailer", "bare-lf", "bare-cr", "obs-fold"}
FRAMING = [
    (c, glued)
    for c in CASES
    if c.kind in FRAMING_KINDS or c.kind.startswith(("te", "chunk"))
    for glued in (False, True)
]
EVERY_POINT_MAX = 1024  # inputs up to this long are split at every point, longer at a few


def split_points(raw: bytes) -> list[int]:
    """Every point of a short input; around the head's end and the tail of a long one."""
    if len(raw) <= EVERY_POINT_MAX:
        return list(range(1, len(raw)))
    head_end = raw.find(b"\r\n\r\n") + 4
    near = [1, 2, head_end - 2, head_end - 1, head_end, head_end + 1, head_end + 2]
    near += [len(raw) // 2, len(raw) - len(GLUE), len(raw) - 5, len(raw) - 2, len(raw) - 1]
    return sorted({p for p in near if 0 < p < len(raw)})


@pytest.mark.parametrize(
    ("case", "glued"), FRAMING, ids=[c.name + ("+glue" if g else "") for c, g in FRAMING]
)
def test_split_reads_the_same(case: Case, glued: bool) -> None:
    raw = _raw(case, glued)
    for eof in (False, True):
        whole = minicors_run([raw], eof=eof)
        for point in split_points(raw):
            split = minicors_run([raw[:point], raw[point:]], eof=eof)
            assert split == whole, (case.name, point, eof, split, whole)
        if len(raw) <= EVERY_POINT_MAX:
            bytewise = minicors_run([raw[i : i + 1] for i in range(len(raw))], eof=eof)
            assert bytewise == whole, (case.name, eof, bytewise, whole)


def test_model_reads_pipelined_requests() -> None:
    """The h11 model itself: it reads a pipeline through to the end, drops empty lines in
    front of each request, and stops where h11 says the connection must close."""
    raw = (
        b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi\r\n"
        b"\r\nGET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /c HTTP/1.1\r\n"
    )
    theirs = h11_model(raw)
    assert theirs == Outcome(((b"POST", b"/a", b"hi"), (b"GET", b"/b", b"")), "no-keep-alive")
    assert minicors_run([raw]) == theirs
    assert h11_model(b"GET / HTTP/1.1\r\n\r\n").end == "refused"  # no Host: h11 refuses
    assert h11_model(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", eof=True).end == "closed"
    # The comparison fails where minicors reads more, or other bytes, or stops silently.
    one = ((b"GET", b"/", b""),)
    for ours, theirs in (
        (Outcome(one, "need-data"), Outcome((), "refused", 400)),
        (Outcome(((b"GET", b"/", b"x"),), "need-data"), Outcome(one, "need-data")),
        (Outcome((), "need-data"), Outcome(one, "need-data")),
        (Outcome((), "closed"), Outcome((), "refused", 400)),
    ):
        with pytest.raises(AssertionError):
            assert_not_looser(ours, theirs, b"")
