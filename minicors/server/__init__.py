"""The only place with trio and sockets: listening, accepting, the connection limit, one task
per connection that owns its deadlines, graceful stop, workers, and the transports that move
a connection's bytes (plain TCP, or any trio Stream).  It knows the app only as a callable.
"""

from __future__ import annotations

from .connection import App, ConnectionTask
from .listen import BACKLOG, BoundAddress, Server, bind_error, run, serve
from .main import run_until_signal, serve_until_signal
from .transport import Deadline, SocketTransport, StreamTransport, Transport

__all__ = [
    "BACKLOG",
    "App",
    "BoundAddress",
    "ConnectionTask",
    "Deadline",
    "Server",
    "SocketTransport",
    "StreamTransport",
    "Transport",
    "bind_error",
    "run",
    "run_until_signal",
    "serve",
    "serve_until_signal",
]
