"""A strict reading of chunked framing (RFC 9112 §7.1), run over the bytes before h11 gets them.

h11 decodes the chunks; this screen decides which bytes belong to the message and refuses what
h11 lets through: whitespace after a chunk size without an extension, control bytes or a bare
CR in an extension, a bare LF in the trailer section or as its last line (`0\\r\\n\\n` would
end the message for h11 and not for a CRLF-strict front end).  h11 is then fed exactly the
bytes this screen accepted, and must see the message end exactly where the screen does;
where the two readings disagree the request is refused, so minicors is never looser than h11.

It also bounds what a chunked body costs: the decoded size (`max_body_bytes`, checked at each
chunk-size line, before its data arrives), the number of chunks (`max_body_chunks`: each costs
CPU however small it is) and the length of a chunk-size or trailer line.
"""

from __future__ import annotations

import re
from enum import Enum

from ..errors import ProtocolError

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
# chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ),
# except whitespace before the first ";", which h11 refuses (and browsers never send).
_EXTENSION = _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?"
_SIZE_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})(?:;[ \t]*"
    + _EXTENSION
    + rb"(?:[ \t]*;[ \t]*"
    + _EXTENSION
    + rb")*)?\r\n"
)
_TRAILER_LINE = re.compile(_TOKEN + rb":[\t \x21-\x7e\x80-\xff]*\r\n")


class _State(Enum):
    SIZE = "size line"
    DATA = "data"
    DATA_END = "CRLF after data"
    TRAILER = "trailer section"
    DONE = "done"


class ChunkedScreen:
    """Follows one chunked body; `advance` says how far the bytes so far are valid framing."""

    __slots__ = (
        "_data_left",
        "_max_body",
        "_max_chunks",
        "_max_line",
        "_state",
        "_trailer_bytes",
        "body_bytes",
        "chunks",
    )

    def __init__(self, *, max_body_bytes: int, max_chunks: int, max_line_bytes: int) -> None:
        self._max_body = max_body_bytes
        self._max_chunks = max_chunks
        self._max_line = max_line_bytes
        self._state = _State.SIZE
        self._data_left = 0
        self._trailer_bytes = 0
        self.body_bytes = 0  # decoded data announced so far
        self.chunks = 0

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    def advance(self, buf: bytes, pos: int) -> int:
        """Check `buf[pos:]`; return the end of the bytes that are valid framing of this body
        (a chunk's data may stop anywhere; a line is taken only whole).  Raises
        `ProtocolError` for the first fault."""
        end = len(buf)
        while pos < end:
            state = self._state
            if state is _State.DATA:
                take = min(self._data_left, end - pos)
                pos += take
                self._data_left -= take
                if self._data_left:
                    return pos
                self._state = _State.DATA_END
            elif state is _State.DATA_END:
                have = buf[pos : pos + 2]
                if have != b"\r\n"[: len(have)]:
                    raise ProtocolError(400, "chunk data is not followed by CRLF (RFC 9112 §7.1)")
                if len(have) < 2:
                    return pos
                pos += 2
                self._state = _State.SIZE
            elif state is _State.SIZE:
                nl = buf.find(b"\n", pos, pos + self._max_line)
                if nl < 0:
                    self._check_partial_line(buf, pos, end, "chunk-size line")
                    return pos
                pos = self._size_line(buf, pos, nl + 1)
            elif state is _State.TRAILER:
                nl = buf.find(b"\n", pos, pos + self._max_line)
                if nl < 0:
                    self._check_partial_line(buf, pos, end, "trailer line")
                    return pos
                pos = self._trailer_line(buf, pos, nl + 1)
                if self._state is _State.DONE:
                    return pos
            else:
                return pos
        return pos

    def _size_line(self, buf: bytes, start: int, stop: int) -> int:
        m = _SIZE_LINE.fullmatch(buf, start, stop)
        if m is None:
            raise ProtocolError(400, _size_line_fault(buf[start:stop]))
        size = int(m.group(1), 16)
        if size == 0:
            self._state = _State.TRAILER
            return stop
        self.chunks += 1
        if self.chunks > self._max_chunks:
            raise ProtocolError(
                413,
                f"request body sent in more than {self._max_chunks} chunks "
                "(limit --max-body-chunks); send larger chunks",
            )
        self.body_bytes += size
        if self.body_bytes > self._max_body:
            raise ProtocolError(413, f"request body larger than {self._max_body} bytes")
        self._data_left = size
        self._state = _State.DATA
        return stop

    def _trailer_line(self, buf: bytes, start: int, stop: int) -> int:
        self._trailer_bytes += stop - start
        if self._trailer_bytes > self._max_line:
            raise ProtocolError(431, "the trailer section of the request is too large")
        if stop - start == 2 and buf[start] == 0x0D:
            self._state = _State.DONE
            return stop
        line = buf[start:stop]
        if _TRAILER_LINE.fullmatch(line):
            return stop
        if not line.endswith(b"\r\n"):
            raise ProtocolError(
                400, "a line of the trailer section ends with a bare LF (RFC 9112 §2.2)"
            )
        if line[:1] in (b" ", b"\t"):
            raise ProtocolError(400, "obs-fold in the trailer section (RFC 9112 §5.2)")
        raise ProtocolError(400, "a trailer line is not a 'name: value' field (RFC 9112 §7.1.2)")

    def _check_partial_line(self, buf: bytes, start: int, end: int, what: str) -> None:
        if end - start >= self._max_line:
            status = 431 if what == "trailer line" else 400
            raise ProtocolError(status, f"a {what} of the request body is too long")
        cr = buf.find(b"\r", start, end)
        if 0 <= cr < end - 1:  # a CR with something other than LF after it
            raise ProtocolError(400, f"a CR inside a {what} is not followed by LF (RFC 9112 §2.2)")


def _size_line_fault(line: bytes) -> str:
    if not line.endswith(b"\r\n"):
        return "a chunk-size line ends with a bare LF (RFC 9112 §2.2)"
    size = re.match(rb"[0-9A-Fa-f]*", line)
    digits = size.group(0) if size is not None else b""
    if not digits:
        return "a chunk-size line does not start with a hexadecimal size (RFC 9112 §7.1)"
    if len(digits) > 16:
        return "a chunk size has more than 16 hexadecimal digits"
    return "a chunk-size line has text after the size that is not an extension (RFC 9112 §7.1.1)"
