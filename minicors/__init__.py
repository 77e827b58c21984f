"""minicors: an HTTP/1.1 server on h11 and trio that gets CORS exactly right."""

from __future__ import annotations

__version__ = "0.1.0"
