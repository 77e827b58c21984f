"""Hostile requests from a grammar, fed to the protocol object whole and in pieces, then live.

Inputs are pipelines of request heads built from a grammar and then mutated (control bytes,
bare CR/LF line ends, obs-fold lines, doubled and conflicting Content-Length and
Transfer-Encoding, empty lines in front, chunked bodies with odd sizes, extensions, trailers
and broken CRLFs), and arbitrary byte strings.  Sans-IO, every input must be refused only with
`ProtocolError` and a status minicors answers with, read the same whole and split, never be
read further than a bare h11 server reads it (the model of `test_differential`), and every
answer rendered for it (`response_head` and the body, `error_answer`) must be exactly one valid
HTTP/1.1 response to an h11 client that sent that request's method: a refusal of a request
whose request line reads `HEAD` carries no body either (RFC 9110 §9.3.2).  A few dozen inputs
then go to a live server on 127.0.0.1, each on its own connection, which must answer as the
sans-IO reading predicts, validly, and keep serving.  Everything is bounded: fixed example
counts, no deadline, derandomized, loops bounded by their input's length, a timeout per
connection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

import h11
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from minicors.errors import ProtocolError
from minicors.messages import Response
from minicors.options import Limits
from minicors.protocol import HeadCache, HttpConnection, Need

from ..conftest import Parsed, echo_app, live_server, socket_exchange
from .test_differential import (
    LIMITS,
    Outcome,
    assert_not_looser,
    h11_model,
    minicors_run,
    steps,
    strip_empty_lines,
)

STATUSES = {400, 408, 413, 431, 501, 505}  # what a ProtocolError may answer with
ENDS = {"refused", "need-data", "closed", "no-keep-alive"}
# Small limits as well as the table's, so 413 and 431 are reachable by short inputs.
SMALL = Limits(max_head_bytes=200, max_body_bytes=24, max_body_chunks=3)
ANY_LIMITS = st.sampled_from([LIMITS, SMALL])
HEADS = HeadCache(b"minicors/fuzz")

# derandomize: the same examples on every run (CI is repeatable); no example database, so
# nothing is written and nothing from an earlier run changes what runs.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the grammar -------------------------------------------------------------------------------
# Each request is drawn clean except for a few parts (`FAULTS`) drawn from hostile alphabets, so
# inputs get past the first check often enough to reach the later ones (framing, bodies,
# pipelining); `mutated` and arbitrary bytes add the faults no grammar thought of.

TCHAR = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CONTROL = bytes([*range(0x00, 0x20), 0x7F])  # NUL, HTAB, LF, CR and the other CTLs, DEL
HIGH = bytes(range(0x80, 0x100))
DELIMITERS = b' \t"(),/:;<=>?@[\\]{}'
FAULTS = ["empty", "line", "space", "field", "end", "framing", "size", "ext", "trailer", "crlf"]


def _bytes(*alphabets: bytes, max_size: int) -> st.SearchStrategy[bytes]:
    return st.lists(st.one_of(*(st.sampled_from(a) for a in alphabets)), max_size=max_size).map(
        bytes
    )


def _pick(clean: list[bytes], hostile: list[bytes], faulty: bool) -> st.SearchStrategy[bytes]:
    return st.sampled_from(clean + hostile) if faulty else st.sampled_from(clean)


HOSTILE = _bytes(TCHAR, CONTROL, HIGH, DELIMITERS, max_size=12)
BAD_ENDS = [b"\n", b"\r", b"\r\r\n", b"\n\r", b" \r\n"]
METHODS = [b"GET", b"HEAD", b"POST", b"PUT", b"OPTIONS", b"DELETE", b"QUERY", b"get"]
BAD_METHODS = [b"CONNECT", b"G(T", b"", b"GE\x00T", b"\xc3\x89T", b"GET\x7f"]
TARGETS = [b"/", b"/a/b?c=d", b"http://t/p", b"/%2e%2e/x", b"/boom"]
BAD_TARGETS = [b"*", b"t:443", b"//x", b"/a#b", b"ftp://t/", b"/a\x00", b"/\xff", b""]
VERSIONS = [b"HTTP/1.1"] * 4 + [b"HTTP/1.0"]
BAD_VERSIONS = [b"HTTP/1.2", b"HTTP/2.0", b"HTTP/0.9", b"http/1.1", b"HTTP/11", b""]
BAD_VERSIONS += [b"HTTP/1.1 ", b"HTTP/1.1\x00", b"HTTP/\xb9.1"]
BAD_SPACES = [b"  ", b"\t", b" \t", b"\x0b", b""]
SEPARATORS = [b": ", b":", b":\t", b": \t "]
BAD_SEPARATORS = [b" : ", b" :", b"\t:", b"", b":\r"]
CL_VALUES = [b"0", b"1", b"5", b"005", b" 5 ", b"5, 5", b"5,6", b"-1", b"+5", b"0x5", b""]
CL_VALUES += [b"99999999999999999999", b"5\x00", b"\xb5", b"1_0"]
CHUNKED = [b"chunked", b"Chunked", b"chunked "]
TE_VALUES = [b"gzip, chunked", b"chunked, gzip", b"identity", b"chunked;q=1", b"chunked\x0b"]
TE_VALUES += [b"xchunked", b"chunked, chunked", b"", b"chunked,", b",chunked", b"\x00chunked"]
HOSTS = [b"t", b"t:80", b"[::1]", b"", b"a.b-c.example:8080"]
BAD_HOSTS = [b"a b", b"t\x00", b"[zz]", b"a@b", b"t:8x", b"a/b", b"[::1"]
FIELDS = [
    b"Accept: */*",
    b"Connection: keep-alive",
    b"Connection: close",
    b"Expect: 100-continue",
    b"X-Long: " + b"v" * 60,
    b"Upgrade: websocket",
    b"Trailer: T",
]
SIZE_FAULTS = [b"ffffffffffffffff", b"10000000000000000", b"fffffffffffffffffffff", b"", b"-1"]
EXTENSIONS = [b"", b"", b";a=b", b";a", b';q="x y"', b"; a = b", b";a;b=c"]
BAD_EXTENSIONS = [b";", b" ;x", b";a=\x01", b";a\rb", b'";"', b";a=", b"\t;a"]
TRAILERS = [b"T: v\r\n", b"Expires: 0\r\n"]
BAD_TRAILERS = [b"T: v\n", b" T: v\r\n", b"X y: z\r\n", b"T:\x00\r\n", b"T v\r\n", b"T: v\r"]


@st.composite
def field_line(draw: st.DrawFn, faults: frozenset[str]) -> bytes:
    """One header field line: a plain one, or (as a fault) a framing, Host or hostile one,
    perhaps folded."""
    end = draw(_pick([b"\r\n"], BAD_ENDS, "end" in faults))
    if "field" not in faults:
        return draw(st.sampled_from(FIELDS)) + end
    kind = draw(st.sampled_from(["cl", "te", "host", "hostile"]))
    if kind == "cl":
        name = draw(st.sampled_from([b"Content-Length", b"content-length", b"Content-Length "]))
        value = draw(st.sampled_from(CL_VALUES))
    elif kind == "te":
        name = draw(st.sampled_from([b"Transfer-Encoding", b"TRANSFER-ENCODING"]))
        value = draw(st.sampled_from(CHUNKED + TE_VALUES))
    elif kind == "host":
        name, value = b"Host", draw(st.sampled_from(HOSTS + BAD_HOSTS))
    else:
        name = draw(st.one_of(st.sampled_from([b"X-Y", b"", b"X Y"]), HOSTILE))
        value = draw(HOSTILE)
    line = name + draw(_pick(SEPARATORS, BAD_SEPARATORS, True)) + value + end
    if draw(st.booleans()):  # obs-fold (RFC 9112 §5.2)
        line += draw(st.sampled_from([b" ", b"\t", b"  \t"])) + draw(HOSTILE) + b"\r\n"
    return line


@st.composite
def chunked_body(draw: st.DrawFn, faults: frozenset[str]) -> bytes:
    """A chunked body (RFC 9112 §7.1); its faults: sizes, extensions, trailers, line ends."""
    crlf = _pick([b"\r\n"], BAD_ENDS, "crlf" in faults)
    out = b""
    for data in draw(st.lists(st.binary(max_size=12), max_size=4)):
        exact = [b"%x" % len(data), b"%X" % len(data), b"000%x" % len(data)]
        wrong = [b"%x" % (len(data) + 1), b" %x" % len(data), b"%x " % len(data), b"+1"]
        size = draw(_pick(exact, wrong + SIZE_FAULTS, "size" in faults))
        ext = draw(_pick(EXTENSIONS, BAD_EXTENSIONS, "ext" in faults))
        out += size + ext + draw(crlf) + data + draw(crlf)
    last = draw(_pick([b"0", b"00", b"0;x=y"], [b"0 ", b"", b"0" * 17], "size" in faults))
    out += last + draw(_pick(EXTENSIONS, BAD_EXTENSIONS, "ext" in faults)) + draw(crlf)
    for _ in range(draw(st.integers(0, 2))):
        out += draw(_pick(TRAILERS, BAD_TRAILERS, "trailer" in faults))
    return out + draw(crlf)


@st.composite
def request(draw: st.DrawFn) -> bytes:
    """One request attempt: empty lines, request line, fields, framing, body."""
    faults = draw(
        st.one_of(st.just(frozenset[str]()), st.frozensets(st.sampled_from(FAULTS), max_size=2))
    )
    bad_line = "line" in faults
    space = _pick([b" "], BAD_SPACES, "space" in faults)
    line = draw(
        st.one_of(_pick(METHODS, BAD_METHODS, bad_line), HOSTILE)
        if bad_line
        else st.sampled_from(METHODS)
    )
    line += draw(space) + draw(_pick(TARGETS, BAD_TARGETS, bad_line))
    line += draw(space) + draw(_pick(VERSIONS, BAD_VERSIONS, bad_line))
    end = _pick([b"\r\n"], BAD_ENDS, "end" in faults)
    fields = [b"Host: t" + draw(end)] if draw(st.integers(0, 7)) else []
    fields += [draw(field_line(faults)) for _ in range(draw(st.integers(0, 3)))]
    framing = draw(st.sampled_from(["none", "length", "chunked"]))
    body = b""
    if framing == "length" or ("framing" in faults and draw(st.booleans())):
        body = draw(st.binary(max_size=30))
        off = draw(_pick([b"0"], [b"-1", b"1", b"1000"], "framing" in faults))
        fields.append(b"Content-Length: %d" % (len(body) + int(off)) + draw(end))
    if framing == "chunked" or ("framing" in faults and draw(st.booleans())):
        coding = draw(_pick(CHUNKED, TE_VALUES, "framing" in faults))
        fields.append(b"Transfer-Encoding: " + coding + draw(end))
        body = draw(chunked_body(faults))
    empty = draw(st.lists(_pick([b"\r\n"], [*BAD_ENDS, b"\t\r\n"], "empty" in faults), max_size=2))
    head = line + draw(end) + b"".join(draw(st.permutations(fields))) + draw(end)
    return b"".join(empty) + head + body


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """`base` with a few bytes inserted, replaced or deleted at drawn places."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        byte = draw(st.sampled_from(CONTROL + b" :;\xff"))
        how = draw(st.sampled_from(["insert", "replace", "delete"]))
        if how == "insert" or at == len(data):
            data.insert(at, byte)
        elif how == "replace":
            data[at] = byte
        else:
            del data[at]
    return bytes(data)


PIPELINE = st.lists(request(), min_size=1, max_size=3).map(b"".join)
INPUTS = st.one_of(
    PIPELINE,
    mutated(PIPELINE),
    st.tuples(PIPELINE, st.binary(max_size=40)).map(b"".join),
    st.binary(max_size=200),
)
CUTS = st.lists(st.integers(0, 1 << 16), max_size=6)


def pieces_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`data` cut at the drawn points (taken modulo its length), as non-empty pieces."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in pairwise(points) if b > a]


# --- answers, checked with an h11 client -------------------------------------------------------

# One answer per request, by its place in the pipeline (the same whole and split): a body,
# an empty 204 and 304, a streamed body (chunked, or close-delimited for HTTP/1.0), a server
# error (which closes), and a shared head from the cache.
ANSWERS: list[tuple[Response, bool]] = [
    (Response(status=200, headers=((b"content-type", b"text/plain"),), body=b"hello"), False),
    (Response(status=204), False),
    (Response(status=304, headers=((b"etag", b'"x"'),)), False),
    (Response(status=200, body=b"streamed body"), True),
    (Response(status=404, body=b"missing", shared=True), False),
    (Response(status=500, body=b"oops"), False),
]


def client_reads(method: bytes, wire: bytes, closes: bool) -> tuple[Parsed, h11.Connection]:
    """`wire` read by an h11 client that sent `method`: exactly one response, nothing after
    it (then EOF if the server closes)."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method=method, target="/", headers=[(b"host", b"t")]))
    client.send(h11.EndOfMessage())
    client.receive_data(wire)
    if closes:
        client.receive_data(b"")
    parsed: Parsed | None = None
    for _ in steps(wire):
        event = client.next_event()  # raises RemoteProtocolError for an invalid answer
        if isinstance(event, h11.Response):
            assert parsed is None
            parsed = Parsed(event.status_code, list(event.headers))
        elif isinstance(event, h11.Data):
            assert parsed is not None
            parsed.body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        else:
            raise AssertionError(f"no complete response in {wire[:300]!r}: {event!r}")
    else:
        raise AssertionError(f"h11 made no progress on {wire[:300]!r}")
    assert parsed is not None
    assert client.trailing_data[0] == b"", ("bytes after the response", wire[:300])
    return parsed, client


def refused_method(data: bytes, start: int) -> bytes:
    """The method a client sent for the request that starts at `start` and was refused:
    HEAD when its request line is a whole, valid HEAD request line (minicors has read it),
    else GET (a client that sent anything else reads the answer as to GET)."""
    rest = strip_empty_lines(data[start:])
    end = rest.find(b"\r\n")
    if end >= 0 and re.fullmatch(rb"HEAD [\x21-\x7e]+ HTTP/[0-9]\.[0-9]", rest[:end]):
        return b"HEAD"
    return b"GET"


def drive_and_answer(pieces: Sequence[bytes], limits: Limits, eof: bool) -> Outcome:
    """Feed `pieces`, answer each request with `ANSWERS[i]` and each refusal with
    `error_answer`, and check every answer with an h11 client."""
    conn = HttpConnection(limits, HEADS)
    data = b"".join(pieces)
    fed = start = 0
    seen: list[tuple[bytes, bytes, bytes]] = []
    # b"" is EOF to receive_data: sent only at the end, when asked for.
    feed = [p for p in pieces if p] + ([b""] if eof else [])
    result: object = Need.DATA
    for piece in feed:
        conn.receive_data(piece)
        fed += len(piece)
        for _ in steps(piece):
            try:
                result = conn.next_request()
            except ProtocolError as exc:
                assert exc.status in STATUSES, exc
                wire, body_len = conn.error_answer(exc)
                parsed, _ = client_reads(refused_method(data, start), wire, closes=True)
                assert parsed.status == exc.status
                assert parsed.header(b"connection") == b"close"
                assert len(parsed.body) == body_len
                return Outcome(tuple(seen), "refused", exc.status)
            if isinstance(result, Need):
                break
            method = result.method.encode("latin-1")
            seen.append((method, result.target.encode("latin-1"), result.body))
            response, streamed = ANSWERS[(len(seen) - 1) % len(ANSWERS)]
            body = response.body
            assert isinstance(body, bytes)
            if streamed:
                wire = conn.response_head(response, None)
                if conn.sends_body(response):
                    wire += conn.frame(body) + conn.end_of_body()
            else:
                wire = conn.response_head(response, len(body))
                if conn.sends_body(response):
                    wire += body
            keep = conn.response_done()
            parsed, client = client_reads(method, wire, closes=not keep)
            assert parsed.status == response.status
            expected = body if method != b"HEAD" and response.status not in (204, 304) else b""
            assert parsed.body == expected
            assert (parsed.header(b"connection") == b"close") == (not keep)
            assert (client.their_state is h11.DONE) == keep, (keep, wire[:300])
            if not keep:
                return Outcome(tuple(seen), "no-keep-alive")
            start = fed - conn.buffered
        else:
            raise AssertionError(f"minicors made no progress on {piece[:200]!r}")
        if result is Need.CLOSED:
            break
    return Outcome(tuple(seen), "closed" if result is Need.CLOSED else "need-data")


# --- the properties, sans-IO -----------------------------------------------------------------


@FUZZ
@given(data=INPUTS, cuts=CUTS, limits=ANY_LIMITS, eof=st.booleans())
def test_same_verdict_whole_and_split(
    data: bytes, cuts: list[int], limits: Limits, eof: bool
) -> None:
    """Only ProtocolError, only with a status minicors answers with, whatever the pieces."""
    whole = minicors_run([data], eof=eof, limits=limits)
    assert whole.end in ENDS
    assert (whole.status in STATUSES) == (whole.end == "refused"), whole
    split = minicors_run(pieces_at(data, cuts), eof=eof, limits=limits)
    assert split == whole, (data, cuts)


@FUZZ
@given(data=INPUTS, limits=ANY_LIMITS, eof=st.booleans())
def test_never_looser_than_h11(data: bytes, limits: Limits, eof: bool) -> None:
    assert_not_looser(minicors_run([data], eof=eof, limits=limits), h11_model(data, eof=eof), data)


@FUZZ
@given(data=INPUTS, cuts=CUTS, limits=ANY_LIMITS, eof=st.booleans())
def test_every_answer_is_one_valid_response(
    data: bytes, cuts: list[int], limits: Limits, eof: bool
) -> None:
    whole = drive_and_answer([data], limits, eof)
    assert drive_and_answer(pieces_at(data, cuts), limits, eof) == whole
    # The answers chosen do not change where requests end (some close the connection).
    plain = minicors_run([data], eof=eof, limits=limits)
    assert whole.requests == plain.requests[: len(whole.requests)]


def test_the_checks_can_fail() -> None:
    """What the properties lean on works: the grammar reaches pipelined requests with bodies
    (`find` fails if it cannot), the small limits make every refusal status reachable, and
    the answer checker refuses a HEAD answer that carries a body."""

    def two_bodies(data: bytes) -> bool:
        return sum(bool(body) for _, _, body in minicors_run([data]).requests) >= 2

    quick = settings(database=None, derandomize=True, phases=[Phase.generate])
    pipelined = find(PIPELINE, two_bodies, settings=quick)
    assert len(minicors_run([pipelined]).requests) >= 2
    statuses = {
        minicors_run([raw], limits=SMALL).status
        for raw in (
            b"GET / HTTP/1.1\nHost: t\r\n\r\n",
            b"GET / HTTP/2.0\r\nHost: t\r\n\r\n",
            b"GET /" + b"a" * 300 + b" HTTP/1.1\r\n",
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 25\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        )
    }
    assert statuses == {400, 505, 431, 413, 501}
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    assert client_reads(b"GET", answer, closes=False)[0].status == 200
    with pytest.raises(AssertionError, match="bytes after the response"):
        client_reads(b"HEAD", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi", closes=True)


# --- live: a real socket, one connection per input ---------------------------------------------

LIVE_LIMITS = Limits(max_head_bytes=4096, max_body_bytes=4096, max_body_chunks=50)
VALID_GET = b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n"
LIVE_BATCH = 8  # inputs per server, one connection each
LIVE_TIMEOUT_S = 10.0  # per connection: a server that stops answering fails the test


def expected_answers(data: bytes) -> tuple[list[int], list[bytes]]:
    """The final statuses the echo app's server sends for `data` then EOF, read off the
    sans-IO outcome (200 per request, 500 for /boom, which closes; then the refusal), and
    the method each answers."""
    outcome = minicors_run([data], eof=True, limits=LIVE_LIMITS)
    statuses: list[int] = []
    methods: list[bytes] = []
    for method, target, _ in outcome.requests:
        methods.append(method)
        if target == b"/boom":  # echo_app raises: a 500 that closes the connection
            statuses.append(500)
            return statuses, methods
        statuses.append(200)
    if outcome.status is not None:
        statuses.append(outcome.status)
        methods.append(refused_method(data, outcome.start))
    return statuses, methods


def read_exactly(data: bytes, methods: Sequence[bytes]) -> list[int]:
    """The final statuses in `data`, one response per method (interim 1xx skipped), read with
    an h11 client; the bytes must be exactly those responses, nothing left over."""
    statuses: list[int] = []
    rest = data
    for number, method in enumerate(methods):
        client = h11.Connection(h11.CLIENT)
        client.send(h11.Request(method=method, target="/", headers=[(b"host", b"t")]))
        client.send(h11.EndOfMessage())
        client.receive_data(rest)
        if number == len(methods) - 1:  # the server closes after its last answer
            client.receive_data(b"")
        for _ in steps(rest):
            event = client.next_event()
            if isinstance(event, h11.Response):
                statuses.append(event.status_code)
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                assert isinstance(event, h11.InformationalResponse | h11.Data), (event, data[:300])
        else:
            raise AssertionError(f"no complete response in {rest[:300]!r}")
        rest = client.trailing_data[0]
    assert rest == b"", ("bytes after the last response", data[:300])
    return statuses


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # No shrinking: each try starts a server; the sans-IO properties above give minimal inputs.
    phases=[Phase.explicit, Phase.generate],
)
@given(inputs=st.lists(INPUTS, min_size=LIVE_BATCH, max_size=LIVE_BATCH))
async def test_live_server_answers_and_keeps_serving(inputs: list[bytes]) -> None:
    """Each input on its own connection to one server (127.0.0.1): the answers are the ones
    the sans-IO reading predicts, valid HTTP/1.1 to the byte, and a valid GET on a fresh
    connection afterwards is served."""
    async with live_server(app=echo_app, limits=LIVE_LIMITS) as live:
        for data in inputs:
            statuses, methods = expected_answers(data)
            got = await socket_exchange(
                live.address, [data], methods=methods, timeout=LIVE_TIMEOUT_S
            )
            finals = [r.status for r in got.responses if r.status >= 200]  # parse_responses
            assert finals == statuses, (data[:300], got.data[:300])
            assert read_exactly(got.data, methods) == statuses
            after = await socket_exchange(live.address, [VALID_GET], timeout=LIVE_TIMEOUT_S)
            assert [r.status for r in after.responses] == [200], (data[:300], after.data[:300])
            assert after.responses[0].body.startswith(b"GET /after 0\n")
