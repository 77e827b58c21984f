"""The errors minicors raises, in one tree.

    MinicorsError              base of everything below
    ├── ConfigError            bad flag, value or config file: one line, exit status 2
    └── HttpError              a request that gets a precise 4xx/5xx; carries `status`
        (subclasses may be added per module; the edge turns them into responses)

`ConfigError` messages are single lines that name the problem and the fix; `cli.py` prints
them and exits 2.  `HttpError` carries its HTTP meaning so the layer that catches it needs no
table of its own.
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
