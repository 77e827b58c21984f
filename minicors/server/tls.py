"""HTTPS for a connection: a transport that looks at the first byte before it speaks TLS.

A TLS client starts with a handshake record (byte 0x16); a client that sends a request line
instead (plain HTTP to a `--tls` port, a common slip) gets a plain-text 400 naming the https
URL, rather than a reset it cannot explain.  The handshake itself happens on the first read, so
the connection's head deadline covers a handshake that stalls; a client that fails it (a TLS
alert such as a browser's "unknown CA", or bytes that are not TLS) is logged once, and costs
nothing more.  A client that hangs up mid-handshake without an alert (a port probe, a health
check) is not logged: there is nothing it could be told.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl

import trio

from ..errors import PeerGone
from .transport import Deadline, StreamTransport

log = logging.getLogger("minicors.server")

_HANDSHAKE = 0x16  # TLS record type of a ClientHello (RFC 8446 §5.1)


def plain_http_answer(url: str) -> bytes:
    """What a plain-HTTP client gets on an HTTPS port: one 400 that says where to go."""
    body = (
        f"400 Bad Request: this port speaks HTTPS; open {url} instead "
        "(the request was sent as plain HTTP).\n"
    ).encode()
    head = (
        b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    )
    return head + body


class TlsTransport:
    """A `StreamTransport` over `trio.SSLStream`, once the first byte says TLS."""

    def __init__(
        self,
        sock: trio.socket.SocketType,
        context: ssl.SSLContext,
        deadline: Deadline,
        send_timeout_s: float,
        *,
        url: str,
        peer: str,
    ) -> None:
        self._sock = sock
        self._context = context
        self._deadline = deadline
        self._send_timeout_s = send_timeout_s
        self._url = url
        self._peer = peer
        self._inner: StreamTransport | None = None
        self._sent_file_bytes = 0

    @property
    def sent_file_bytes(self) -> int:
        return self._inner.sent_file_bytes if self._inner is not None else self._sent_file_bytes

    @sent_file_bytes.setter
    def sent_file_bytes(self, value: int) -> None:
        if self._inner is not None:
            self._inner.sent_file_bytes = value
        self._sent_file_bytes = value

    async def _open(self) -> StreamTransport:
        sock = self._sock
        try:
            first = await sock.recv(1, socket.MSG_PEEK)  # waits until the client says something
        except OSError as exc:
            raise PeerGone from exc
        if first and first[0] != _HANDSHAKE:
            if first.isalpha():  # a request line: plain HTTP
                with contextlib.suppress(OSError):
                    await sock.send(plain_http_answer(self._url))
                    sock.shutdown(socket.SHUT_WR)
                    # Read what it sent: closing on unread bytes would reset the answer away.
                    with trio.move_on_after(1):
                        for _ in range(16):  # at most 1 MiB
                            if not await sock.recv(65536):
                                break
                log.info("minicors: %s sent plain HTTP to the HTTPS port", self._peer)
            raise PeerGone
        stream = trio.SSLStream(
            trio.SocketStream(sock), self._context, server_side=True, https_compatible=True
        )
        self._inner = StreamTransport(stream, self._deadline, self._send_timeout_s)
        return self._inner

    async def receive(self) -> bytes:
        inner = self._inner or await self._open()
        try:
            return await inner.receive()
        except PeerGone as exc:
            if isinstance(exc.__cause__, trio.BrokenResourceError) and isinstance(
                exc.__cause__.__cause__, ssl.SSLError
            ):
                reason = exc.__cause__.__cause__.reason or str(exc.__cause__.__cause__)
                log.info("minicors: TLS with %s failed: %s", self._peer, reason)
            raise

    async def send(self, data: bytes) -> None:
        if self._inner is None:
            raise PeerGone  # nothing can be sent before the client said hello
        await self._inner.send(data)

    async def send_file(self, fd: int, offset: int, length: int) -> None:
        if self._inner is None:
            raise PeerGone
        await self._inner.send_file(fd, offset, length)

    async def close(self, *, drain: bool) -> None:
        if self._inner is not None:
            await self._inner.close(drain=drain)
        else:
            self._sock.close()
