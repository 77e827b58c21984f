"""CORS for ASGI apps from the same engine as `minicors serve`: `CORSMiddleware`, a drop-in for
Starlette's (same keywords, same meanings) that also takes a minicors policy or config file.

Plain ASGI 3: importing this package imports no framework and no server.
"""

from __future__ import annotations

from .middleware import ASGIApp, CORSMiddleware, Message, Receive, Scope, Send

__all__ = ["ASGIApp", "CORSMiddleware", "Message", "Receive", "Scope", "Send"]
