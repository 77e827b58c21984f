"""One request body, read with h11 from exactly the bytes its framing allows.

For a Content-Length body that is the next `length` bytes; for a chunked body, the bytes the
strict chunk screen (`chunks.py`) has accepted so far.  h11 decodes them, and must see the
message end exactly where the framing does: where the two readings disagree the request is
refused.  The decoded bytes accumulate in one buffer, so memory is the body's size whatever
the chunking (one small object per 1-byte chunk used to pile up in a list).
"""

from __future__ import annotations

import h11

from ..errors import ProtocolError
from ..options import Limits
from .chunks import ChunkedScreen

AMBIGUOUS = "the body's framing is ambiguous: two strict readings of it disagree"


class BodyReader:
    """Reads one body from the connection's buffer (see the module docstring)."""

    __slots__ = ("_body", "_chunks", "_conn", "_left", "done", "received")

    def __init__(self, conn: h11.Connection, *, chunked: bool, length: int, limits: Limits):
        self._conn = conn  # the h11 connection that parsed this request's head
        self._chunks = (
            ChunkedScreen(
                max_body_bytes=limits.max_body_bytes,
                max_chunks=limits.max_body_chunks,
                max_line_bytes=limits.max_head_bytes,
            )
            if chunked
            else None
        )
        self._left = length  # Content-Length bytes still to come
        self._body = bytearray()
        self.done = False
        self.received = 0  # bytes of the message (framing included) taken so far

    def take(self, buf: bytes, pos: int) -> int:
        """Take what belongs to the body from `buf[pos:]`; the position after it."""
        chunks = self._chunks
        if chunks is not None:
            stop = chunks.advance(buf, pos)
            finished = chunks.done
        else:
            stop = min(len(buf), pos + self._left)
            self._left -= stop - pos
            finished = not self._left
        ended = False
        if stop > pos:
            self.received += stop - pos
            conn = self._conn
            conn.receive_data(buf[pos:stop])
            body = self._body
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:
                    # The screen accepted what h11 refuses: the readings disagree.
                    raise ProtocolError(400, AMBIGUOUS) from None
                if isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    ended = True
                    break
                else:
                    break
        if ended != finished:
            raise ProtocolError(400, AMBIGUOUS)
        self.done = finished
        return stop

    def body(self) -> bytes:
        return bytes(self._body)

    def pop(self) -> bytes:
        """The bytes decoded since the last call: a streamed body is handed on piece by
        piece, so what it holds is one read's worth, whatever the body's size."""
        piece = bytes(self._body)
        self._body.clear()
        return piece
