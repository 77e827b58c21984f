"""HTTP/1.1 as bytes and values, with h11 and nothing else: no trio, no sockets, no clock waits.

`HttpConnection` takes the bytes of one connection and hands out `Request` values (or says what
it needs), and turns `Response` values into the bytes of their heads; `HeadCache` is the memo
of shared heads that every connection of a server uses.
"""

from __future__ import annotations

from .connection import HttpConnection, Need, Phase, body_piece, upgrade
from .heads import PHRASES, HeadCache, render_head

__all__ = [
    "PHRASES",
    "HeadCache",
    "HttpConnection",
    "Need",
    "Phase",
    "body_piece",
    "render_head",
    "upgrade",
]
