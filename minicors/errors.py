"""The errors minicors raises, in one tree.

    MinicorsError                base of everything below
    ├── ConfigError              bad flag, value or config file: one line, exit status 2
    ├── HttpError                a request answered with `status` (4xx/5xx) and a reason
    │   └── ProtocolError        bytes that are not an acceptable HTTP/1.1 request; `status` is
    │                            the hint (as h11's `error_status_hint`); answered, then closed
    ├── PeerGone                 the client closed or reset the connection: nothing more can be
    │                            sent to it
    ├── UnsafeResponse           a response minicors refuses to send (CR, LF or NUL in a field)
    ├── JsonSyntaxError          text that is not strict JSON (RFC 8259); says line and column
    └── DocumentUnreadable       the API file is missing, unreadable or not a JSON object;
                                 `hint` says how to fix it

`ConfigError` messages are single lines that name the problem and the fix; `cli.py` prints
them and exits 2.  An `HttpError` carries its HTTP meaning, so the one place that turns errors
into responses (`messages.error_response`) needs no table of its own: JSON under the API,
plain text everywhere else.
"""

from __future__ import annotations


class MinicorsError(Exception):
    """Base class of every error minicors raises on purpose."""


class ConfigError(MinicorsError):
    """A bad flag, value or configuration file (one-line message, exit status 2)."""


class HttpError(MinicorsError):
    """A request that must be answered with `status` and a short plain-text reason."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class ProtocolError(HttpError):
    """Bytes that do not form an HTTP/1.1 request minicors accepts.

    `status` is the answer (400 for malformed syntax, 408, 413, 431, 501, 505); the message says
    in words what was wrong.  After the answer the connection closes: where a malformed message
    ends cannot be known, so nothing after it may be read as a request.
    """


class PeerGone(MinicorsError):
    """The peer closed or reset the connection; nothing more can be sent."""


class UnsafeResponse(MinicorsError):
    """A response head that would carry a CR, LF or NUL inside a field (header injection)."""


class JsonSyntaxError(MinicorsError, ValueError):
    """Text that is not JSON (RFC 8259); the message names the position (line, column)."""


class DocumentUnreadable(MinicorsError):
    """The API file is missing, unreadable, not JSON, or not an object; the message says which.

    The message starts with the file's name; `hint` says how to fix it (for ConfigError).
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint
