"""Regression tests for wire-level parsing defects of the connection layer before its rewrite.

Each test names the defect it pins down; every one of them failed on the old connection layer
(the observed old answer is in the docstring) and must keep passing.  They run over both
transports (a memory stream and a live socket), whole and split, because the old defects
depended on how the bytes were split into reads.
"""

from __future__ import annotations

import re

import pytest

from minicors.options import Limits

from ..conftest import TRANSPORTS, Exchange, Parsed, exchange, run_exchange
from .cases import CASES, MAX_BODY, MAX_CHUNKS, MAX_HEAD, Case

Sends = list[bytes | float]

GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
GLUED = b"GET /glued HTTP/1.1\r\nHost: t\r\n\r\n"
GAP = 0.05  # between pieces sent over a socket, so that they arrive in separate reads


def finals(ex: Exchange) -> list[Parsed]:
    """The final responses (an interim `100 Continue` depends on how the body arrived)."""
    return [r for r in ex.responses if r.status >= 200]


def statuses(ex: Exchange) -> list[int]:
    return [r.status for r in finals(ex)]


def pieces(transport: str, parts: list[bytes]) -> Sends:
    """`parts` as separate sends; over a socket with a short pause between them, so that
    the server really reads them apart (a memory stream delivers each send on its own)."""
    out: Sends = []
    for i, part in enumerate(parts):
        if i and transport == "socket":
            out.append(GAP)
        out.append(part)
    return out


def bytewise(raw: bytes) -> Sends:
    return [raw[i : i + 1] for i in range(len(raw))]


def assert_refused(ex: Exchange, status: int, *words: str) -> None:
    """One final answer, `status`, the connection closed, and the body names the fault."""
    assert statuses(ex) == [status], ex.data[:400]
    (answer,) = finals(ex)
    assert answer.header(b"connection") == b"close"
    text = answer.body.decode("utf-8", "replace").lower()
    for word in words:
        assert word.lower() in text, text


# --- 3. obs-fold in bytes that arrived while a body was being read ------------------------

FOLDED_TE = b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"
FOLD_AT = FOLDED_TE.index(b"\r\n chunked")

FIRST_REQUESTS: dict[str, tuple[bytes, bytes]] = {
    "content-length": (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", b"hello"),
    "chunked": (
        b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    "expect-100": (
        b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        b"hello",
    ),
}


def fold_splits(head: bytes, body: bytes) -> dict[str, list[bytes]]:
    """The request `head + body` with FOLDED_TE glued on, split at the places that matter:
    the body (and the glued request) in a later read than the head, the fold itself split."""
    rest = body + FOLDED_TE
    at_fold = len(body) + FOLD_AT
    return {
        "whole": [head + rest],
        "head|body+next": [head, rest],
        "head|part-body|rest": [head, rest[:2], rest[2:]],
        "head+body|next": [head + body, FOLDED_TE],
        "head|body|next": [head, body, FOLDED_TE],
        "before-fold-crlf": [head, rest[:at_fold], rest[at_fold:]],
        "between-crlf-and-fold": [head, rest[: at_fold + 2], rest[at_fold + 2 :]],
        "inside-fold-crlf": [head + rest[: at_fold + 1], rest[at_fold + 1 :]],
    }


FOLD_TABLE = [
    (name, split, parts)
    for name, (head, body) in FIRST_REQUESTS.items()
    for split, parts in fold_splits(head, body).items()
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("first", "split", "parts"), FOLD_TABLE, ids=[f"{n}-{s}" for n, s, _ in FOLD_TABLE]
)
async def test_obs_fold_after_a_body_is_refused_however_split(
    transport: str, first: str, split: str, parts: list[bytes]
) -> None:
    """Defect 3: bytes that arrived while a body was being read skipped the obs-fold check,
    so a folded `Transfer-Encoding` in a request glued after the body was honoured (old:
    405, 405 on a static root when the body came in a later read; 400 only in one send)."""
    ex = await exchange(transport, pieces(transport, parts))
    assert statuses(ex) == [200, 400], (first, split, ex.data[:600])
    assert finals(ex)[0].body == b"POST /a.txt 5\nhello"
    refusal = finals(ex)[1]
    assert refusal.header(b"connection") == b"close"
    assert b"folded" in refusal.body


# --- 4. line folding with bare-LF line endings ---------------------------------------------

LF_FOLDS = {
    "lf-head-folded-field": b"GET / HTTP/1.1\nHost: t\nX-A: b\n c\n\n",
    "lf-head-folded-te": (
        b"POST / HTTP/1.1\nHost: t\nTransfer-Encoding:\n chunked\n\n0\r\n\r\n" + GLUED
    ),
    "crlf-head-lf-folded-te": (
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\n chunked\r\n\r\n0\r\n\r\n" + GLUED
    ),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", list(LF_FOLDS))
@pytest.mark.parametrize("how", ["whole", "bytewise"])
async def test_bare_lf_line_folding_is_refused(transport: str, name: str, how: str) -> None:
    """Defect 4: `GET / HTTP/1.1\\nHost: t\\nX-A: b\\n c\\n\\n` got 200 and a bare-LF-folded
    Transfer-Encoding was honoured (old: 200; 405 on a static root for the POST)."""
    raw = LF_FOLDS[name]
    sends: Sends = [raw] if how == "whole" else bytewise(raw)
    ex = await exchange(transport, sends)
    assert_refused(ex, 400, "LF")


# --- 5. a bare LF inside a CRLF head -------------------------------------------------------

SMUGGLED = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"  # 28 bytes: a body, or a second request


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", ["whole", "bytewise"])
async def test_bare_lf_inside_a_crlf_head_is_refused(transport: str, how: str) -> None:
    """Defect 5: `Dummy: x\\nContent-Length: 28\\r\\n` was read as two fields, so 28 bytes
    that a CRLF-strict front end sees as a second request became this request's body (old:
    one answer to the POST, 405 on a static root)."""
    assert len(SMUGGLED) == 28
    raw = b"POST / HTTP/1.1\r\nHost: t\r\nDummy: x\nContent-Length: 28\r\n\r\n" + SMUGGLED
    sends: Sends = [raw] if how == "whole" else bytewise(raw)
    ex = await exchange(transport, sends)
    assert_refused(ex, 400, "bare LF")


# --- 6. control bytes in values, and Host values that are not host[:port] -------------------

BAD_VALUES = {
    "ctl-01": b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x01b\r\n\r\n",
    "ctl-07": b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x07b\r\n\r\n",
    "ctl-1b": b"GET / HTTP/1.1\r\nHost: t\r\nX-A: \x1b[31mred\r\n\r\n",
    "ctl-7f": b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x7fb\r\n\r\n",
    "host-space-slash-at": b"GET / HTTP/1.1\r\nHost: a b/c@d\r\n\r\n",
    "host-list": b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n",
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("name", list(BAD_VALUES))
async def test_control_bytes_and_bad_hosts_are_refused(transport: str, name: str) -> None:
    """Defect 6: control bytes in a value and `Host: a b/c@d`, `Host: a, b` got 200 (old)."""
    ex = await exchange(transport, [BAD_VALUES[name] + GLUED])
    word = "Host" if name.startswith("host") else "control byte"
    assert_refused(ex, 400, word)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_plain_value_and_host_are_still_accepted(transport: str) -> None:
    """The control for defect 6: the same requests without the bad bytes are served."""
    raw = b"GET / HTTP/1.1\r\nHost: a.example:8080\r\nX-A: a\tb ~\x80\r\n\r\n"
    ex = await exchange(transport, [raw + GLUED])
    assert statuses(ex) == [200, 200]


# --- 7. the head limit is on the bytes received, not on what is left after stripping ------


def padded_head(size: int) -> bytes:
    """A GET whose head is `size` bytes, nearly all of it whitespace around one value (which
    h11 strips: OWS, RFC 9112 §5.1)."""
    start = b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad:"
    end = b"b\r\n\r\n"
    pad = size - len(start) - len(end)
    return start + b" " * (pad // 2) + end[:1] + b"\t" * (pad - pad // 2) + end[1:]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", ["one-send", "trickled"])
async def test_head_limit_counts_whitespace_padding(transport: str, how: str) -> None:
    """Defect 7: `--max-head-bytes` was applied after whitespace stripping, so a 60,041-byte
    head made mostly of padding got 200 when it came in one send (old: 200; trickled 431)."""
    raw = padded_head(60_041)
    assert len(raw) == 60_041
    sends: Sends = (
        [raw] if how == "one-send" else [raw[i : i + 1000] for i in range(0, 60_041, 1000)]
    )
    ex = await exchange(transport, sends)
    assert_refused(ex, 431, "larger than 16384")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_padding_under_the_head_limit_is_accepted(transport: str) -> None:
    """The control for defect 7: the same shape under the limit is served."""
    ex = await exchange(transport, [padded_head(16_000) + GLUED])
    assert statuses(ex) == [200, 200]


# --- 8. empty lines before a request line --------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", ["whole", "bytewise"])
async def test_an_empty_line_before_the_request_line_is_ignored(transport: str, how: str) -> None:
    """Defect 8: RFC 9112 §2.2 says to ignore at least one empty line before a request line
    (old: 400 "no request line received")."""
    raw = b"\r\n" + GET
    sends: Sends = [raw] if how == "whole" else bytewise(raw)
    ex = await exchange(transport, sends)
    assert statuses(ex) == [200]
    assert finals(ex)[0].body == b"GET / 0\n"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_extra_crlf_after_a_body_is_ignored(transport: str) -> None:
    """Defect 8, its classic form: a client ends a POST body with an extra CRLF (RFC 9112
    §2.2 names exactly this) and sends its next request."""
    post = b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"
    ex = await exchange(transport, [post + b"\r\n" + GET])
    assert statuses(ex) == [200, 200]
    assert finals(ex)[1].body == b"GET / 0\n"


# --- 9. Connection is a list of tokens, not a string to search ------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (b"closed", True),
        (b"keep-alive, closed", True),
        (b"x-close-later", True),
        (b"close", False),
        (b"keep-alive , Close", False),
    ],
)
async def test_connection_close_is_a_token_match(transport: str, value: bytes, kept: bool) -> None:
    """Defect 9: `Connection: closed` closed the connection (a substring test); now a second
    request on it is answered (old: only the first answered).  `close` as a token still
    closes."""
    first = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: " + value + b"\r\n\r\n"
    ex = await exchange(transport, [first + GLUED])
    assert statuses(ex) == ([200, 200] if kept else [200])
    assert (finals(ex)[0].header(b"connection") == b"close") is not kept


# --- 14. refusal bodies say in words what was wrong -----------------------------------------

TABLE_LIMITS = Limits(max_head_bytes=MAX_HEAD, max_body_bytes=MAX_BODY, max_body_chunks=MAX_CHUNKS)
REFUSED = [case for case in CASES if case.status != 200]
# h11's internals as they leaked: `bytearray(b'GET /')`, or a bytes repr `b'...'` / `b"..."`.
INTERNALS = re.compile(rb"bytearray\(|(?<![A-Za-z0-9_])b['\"]")


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
async def test_refusal_bodies_say_what_was_wrong_in_words(case: Case) -> None:
    """Defect 14: 400 bodies showed h11's internal representation, e.g. `illegal request
    line: bytearray(b'GET /')` (old: 79 of the 208 refused cases of the table)."""
    ex = await run_exchange([case.raw], limits=TABLE_LIMITS)
    (answer,) = finals(ex)
    assert answer.status == case.status
    assert INTERNALS.search(answer.body) is None, answer.body
    words = re.findall(rb"[A-Za-z]{3,}", answer.body)
    assert len(words) >= 3, answer.body  # a sentence, not a bare status


def test_the_internals_pattern_finds_what_the_old_bodies_showed() -> None:
    """The check above can fail: it finds the old bodies and passes quoted names."""
    assert INTERNALS.search(b"illegal request line: bytearray(b'GET /')\n")
    assert INTERNALS.search(b"illegal header line: b'X: \\x01'\n")
    assert not INTERNALS.search(b"line 3 has an invalid header name 'X-Dumb' (RFC 9110)\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    ],
    ids=["different", "same", "http10"],
)
async def test_two_host_headers_are_refused_as_two_not_as_none(raw: bytes) -> None:
    """Defect 14's rule applied to repeated Host fields: the words must say what was wrong.
    (Found while writing these tests: the answer said "an HTTP/1.1 request needs a Host
    header", which a request with two Host fields did not lack.)"""
    ex = await run_exchange([raw])
    assert_refused(ex, 400, "Host")
    body = finals(ex)[0].body.lower()
    assert b"needs a host" not in body
    assert any(w in body for w in (b"more than one", b"multiple", b"twice", b"duplicate")), body
