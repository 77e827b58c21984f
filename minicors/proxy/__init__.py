"""The proxy's pure parts: which prefixes go to which upstream, and what the headers of a
proxied request and its answer become on the way.  The I/O (httpcore, the WebSocket pipe) lives
in `minicors.proxyclient`, loaded only when `--proxy` is given."""

from __future__ import annotations

from .flags import add_check_flag, add_proxy_flags
from .headers import (
    client_address,
    is_websocket,
    named_by_connection,
    request_headers,
    response_headers,
    rewrite_location,
    without_domain,
)
from .routes import (
    ProxyOptions,
    ProxyRoute,
    check_tables,
    describe,
    options_from,
    route,
    table_of,
    upstream_url,
    warnings,
)
from .websocket import accept_for, accepted, handshake_problem, without_credentials

__all__ = [
    "ProxyOptions",
    "ProxyRoute",
    "accept_for",
    "accepted",
    "add_check_flag",
    "add_proxy_flags",
    "check_tables",
    "client_address",
    "describe",
    "handshake_problem",
    "is_websocket",
    "named_by_connection",
    "options_from",
    "request_headers",
    "response_headers",
    "rewrite_location",
    "route",
    "table_of",
    "upstream_url",
    "warnings",
    "without_credentials",
    "without_domain",
]
