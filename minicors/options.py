"""The settings of each part of minicors, as frozen values with units in their names.

`config.py` builds these from flags and TOML; library users may build them directly.  They live
apart from `config.py` so that the core modules can import their own options without importing
the parsing machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from .extraheaders import compile_rules

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Connection and request limits (see README "Limits")."""

    max_head_bytes: int = 16 * KIB  # request line + headers; above it: 431
    max_body_bytes: int = 10 * MIB  # request body; above it: 413
    max_body_chunks: int = 100_000  # chunks in one chunked body; above it: 413 (CPU per chunk)
    max_connections: int = 1000  # past it, the longest-stalled connection makes room
    head_timeout_s: float = 10.0  # whole request head must arrive within this: else 408
    body_timeout_s: float = 10.0  # the body may take this long, plus 1 s per body_min_rate
    body_min_rate: int = 1024  # ... bytes received (a body trickled slower gets 408)
    send_timeout_s: float = 30.0  # a response write making no progress this long is dropped
    keepalive_timeout_s: float = 5.0  # idle time between requests on a kept-alive connection
    grace_period_s: float = 5.0  # on SIGINT/SIGTERM, how long in-flight responses may run

    def body_deadline(self, started: float, received: int) -> float:
        """When a body begun at `started` must have arrived, `received` bytes in: the base
        time plus one second per `body_min_rate` bytes (a slow but steady body may go on)."""
        return started + self.body_timeout_s + received / max(self.body_min_rate, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class StaticOptions:
    """How files under ROOT are served (see README "Static files")."""

    dotfiles: bool = False  # serve names starting with "." (hidden by default)
    listing: bool = True  # HTML/JSON listing for a directory without index.html
    spa: bool = False  # unknown page-like paths get index.html
    cache_control: str = "no-cache"  # a dev server must never serve stale code
    immutable_hashed: bool = False  # hashed names (app.3f9a1c2e.js) get a year + immutable
    precompressed: bool = True  # serve app.js.br / app.js.gz siblings when accepted
    gzip: bool = False  # compress text types on the fly
    gzip_min_bytes: int = 1024  # ... when at least this large
    mime_types: tuple[tuple[str, str], ...] = ()  # (".ext", "type/subtype") overrides
    # ("/path/glob", "Name", "value"): added to every static answer whose path matches (the
    # glob of `[[cors.route]]`; "/**" is every path); a later rule replaces an earlier one's
    # header of the same name, and a rule's header replaces the one minicors would send.
    headers: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        # A header that would break framing or CORS stops start-up with the fix (ConfigError),
        # before any worker starts, rather than garbling answers later.
        if self.headers:
            compile_rules(self.headers)


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsOptions:
    """HTTPS (see README "HTTPS"): a certificate from minicors's local CA, made and renewed as
    needed, or the user's own pair."""

    cert_file: str | None = None  # with key_file: serve this certificate (PEM) instead
    key_file: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiOptions:
    """The JSON REST API served from a file (see README "JSON API")."""

    file: str
    prefix: str = "/api"
    read_only: bool = False
    delay_ms: int = 0
    group_commit: bool = True  # writes arriving during an fsync share the next one
    id_field: str = "id"  # --id-field: the field that identifies items, in every collection
