"""Which requests are proxied, and where to: the prefix table, built once at start-up.

A prefix is matched on whole path segments of the request's one parsed target
(`messages.Target`: decoded segments, empty ones dropped), longest prefix first, so `/api/../x`,
`%2e%2e`, `//` and `%2f` cannot pick another route: the rest of the path is re-spelt from its
decoded segments and a `.` or `..` segment (also `..;x`), or one holding an encoded `/` or `\\`,
is refused, so nothing escapes the target's path either (RFC 3986 §5.2.4 would resolve it there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, HttpError
from ..messages import Target, parse_target, quote_segment

DEFAULT_TIMEOUT_S = 30.0  # --proxy-timeout: the upstream's answer, per read
# Connections to one upstream, busy or kept alive, at most.  Small on purpose: httpcore's pool
# scans its connections on every request, so a larger pool costs more than it gains.
POOL_CONNECTIONS = 16
EXAMPLE = "e.g. --proxy /api=https://staging.example.com/v1"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyRoute:
    """One `--proxy PREFIX=URL`: `segments` of the prefix, and the target split once."""

    prefix: str  # canonical spelling, no trailing slash ("/" for everything)
    target: str  # as given
    insecure: bool = False  # --proxy-insecure: the upstream's certificate is not verified
    segments: tuple[str, ...] = ()
    scheme: str = "http"
    netloc: str = ""  # host[:port] as in the target
    host: str = ""  # the host alone, lower-case (for Set-Cookie Domain=)
    base_path: str = ""  # the target's path without a trailing slash ("" for the root)

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.netloc}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyOptions:
    """Every proxied prefix and how upstreams are talked to (see README "Proxy")."""

    routes: tuple[ProxyRoute, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    keep_host: bool = False  # send the client's Host upstream instead of the target's
    pool_connections: int = POOL_CONNECTIONS
    _by_length: tuple[ProxyRoute, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.routes, key=lambda r: len(r.segments), reverse=True))
        object.__setattr__(self, "_by_length", ordered)

    def match(self, url: Target) -> ProxyRoute | None:
        """The route of the longest prefix that `url`'s segments start with, or None."""
        segments = url.segments
        for route in self._by_length:
            n = len(route.segments)
            if segments[:n] == route.segments:
                return route
        return None


def route(prefix: str, target: str, *, insecure: bool = False) -> ProxyRoute:
    """A route from a prefix and a target URL, or `ConfigError` saying what to fix."""
    shown = f"--proxy {prefix}={target}"
    if not prefix.startswith("/"):
        raise ConfigError(f"{shown}: the prefix must start with '/', {EXAMPLE}")
    parsed = parse_target(prefix) if "?" not in prefix and "#" not in prefix else None
    if parsed is None or any(s in (".", "..") for s in parsed.segments):
        raise ConfigError(f"{shown}: the prefix must be a plain path, {EXAMPLE}")
    try:
        url = urlsplit(target)
        host = url.hostname or ""
        url.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"{shown}: the target is not a URL, {EXAMPLE}") from None
    if url.scheme not in ("http", "https") or not host or url.netloc.endswith(":"):
        raise ConfigError(f"{shown}: the target must be an http:// or https:// URL, {EXAMPLE}")
    if url.query or url.fragment or url.username is not None or url.password is not None:
        raise ConfigError(
            f"{shown}: the target may not carry a query, fragment or user:password; "
            "give scheme, host and path only"
        )
    return ProxyRoute(
        prefix=parsed.canonical.rstrip("/") or "/",
        target=target,
        insecure=insecure,
        segments=parsed.segments,
        scheme=url.scheme,
        netloc=url.netloc,
        host=host.lower(),
        base_path=url.path.rstrip("/"),
    )


def upstream_url(route: ProxyRoute, url: Target) -> str:
    """The target's URL for `url`: the rest of the path after the prefix appended to the
    target's path, the query kept as received.  A `.` or `..` segment is refused (400), and so
    is one that an upstream could read as one or as two: with an encoded `/` or `\\` inside
    (nginx and IIS decode them), or `..;x` (Tomcat drops the `;` parameters, RFC 3986 §3.3)."""
    rest = url.segments[len(route.segments) :]
    for segment in rest:
        if segment.partition(";")[0] in (".", ".."):
            raise HttpError(400, "a '.' or '..' path segment is not proxied")
        if "/" in segment or "\\" in segment:
            raise HttpError(400, "a path segment with an encoded '/' or '\\' is not proxied")
    path = route.base_path + "".join("/" + quote_segment(s) for s in rest)
    if url.trailing_slash or not path:
        path += "/"
    query = f"?{url.query}" if url.query or "?" in url.raw else ""
    return f"{route.origin}{path}{query}"


# --- settings (flags and TOML) ----------------------------------------------------------------

# Flat settings keys (`config.py` keeps top-level keys flat): the routes, the prefixes whose
# upstream is not verified, the per-read timeout, whether the client's Host is kept.
ROUTES, INSECURE = "proxy", "proxy_insecure"
EVERY_PREFIX = "*"  # `--proxy-insecure` without a prefix: every upstream
TIMEOUT, KEEP_HOST = "proxy_timeout_s", "proxy_keep_host"


def check_tables(path: str, value: Any) -> tuple[tuple[str, str, bool], ...]:
    """`[[proxy]]` tables of a config file as (prefix, target, insecure)."""
    fix = 'write [[proxy]] prefix = "/api" target = "https://staging.example.com/v1"'
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(f"config file {path}: proxy must be an array of tables; {fix}")
    out = []
    for i, table in enumerate(value, 1):
        unknown = sorted(set(table) - {"prefix", "target", "insecure"})
        if unknown:
            raise ConfigError(
                f"config file {path}: unknown key {unknown[0]!r} in [[proxy]] #{i}; "
                "valid keys: prefix, target, insecure"
            )
        prefix, target = table.get("prefix"), table.get("target")
        insecure = table.get("insecure", False)
        if not isinstance(prefix, str) or not isinstance(target, str):
            raise ConfigError(f"config file {path}: [[proxy]] #{i} needs prefix and target; {fix}")
        if not isinstance(insecure, bool):
            raise ConfigError(f"config file {path}: [[proxy]] #{i} insecure must be true or false")
        out.append((prefix, target, insecure))
    return tuple(out)


def options_from(top: dict[str, Any]) -> ProxyOptions | None:
    """Take the proxy settings out of the flat top-level settings (flags give `PREFIX=URL`
    strings, a file gives tables) and build the options; None when nothing is proxied."""
    given: Sequence[Any] = top.pop(ROUTES, ())
    insecure = set(top.pop(INSECURE, ()))
    timeout_s = top.pop(TIMEOUT, DEFAULT_TIMEOUT_S)
    keep_host = top.pop(KEEP_HOST, False)
    routes = []
    for item in given:
        if isinstance(item, str):
            prefix, eq, target = item.partition("=")
            if not eq:
                raise ConfigError(f"--proxy {item}: write PREFIX=URL, {EXAMPLE}")
            routes.append(route(prefix, target))
        else:
            prefix, target, flagged = item
            routes.append(route(prefix, target, insecure=flagged))
    if not routes:
        if insecure:
            raise ConfigError("--proxy-insecure names a prefix but no --proxy was given")
        return None
    seen: set[tuple[str, ...]] = set()
    for r in routes:
        if r.segments in seen:
            raise ConfigError(f"--proxy {r.prefix} is given twice; keep one target per prefix")
        seen.add(r.segments)
    known = {r.prefix: r for r in routes}
    if EVERY_PREFIX in insecure:
        insecure = set(known)
    for prefix in insecure:
        canonical = ""
        if prefix.startswith("/"):
            canonical = parse_target(prefix.partition("?")[0]).canonical.rstrip("/") or "/"
        if canonical not in known:
            raise ConfigError(
                f"--proxy-insecure {prefix}: no --proxy has that prefix; "
                f"name one of {', '.join(sorted(known))}, or none for every upstream"
            )
        known[canonical] = _insecure(known[canonical])
    return ProxyOptions(routes=tuple(known.values()), timeout_s=timeout_s, keep_host=keep_host)


def _insecure(r: ProxyRoute) -> ProxyRoute:
    return route(r.prefix, r.target, insecure=True)


def warnings(options: ProxyOptions, api_prefix: str | None) -> list[str]:
    """Start-up warnings: a prefix that shadows the API or another prefix, an unverified
    upstream."""
    out = []
    if api_prefix is not None:
        api = parse_target(api_prefix).segments
        for r in options.routes:
            if api[: len(r.segments)] == r.segments:
                out.append(
                    f"--proxy {r.prefix} shadows the API at {api_prefix}: proxied prefixes "
                    "come first, so those requests go to the upstream"
                )
    for r in options.routes:
        for other in options.routes:
            n = len(r.segments)
            if other is not r and len(other.segments) > n and other.segments[:n] == r.segments:
                out.append(
                    f"--proxy {other.prefix} shadows part of --proxy {r.prefix}: requests "
                    f"under {other.prefix} go to {other.target}"
                )
        if r.insecure:
            out.append(
                f"--proxy-insecure {r.prefix}: the certificate of {r.origin} is not verified; "
                "anyone on the path can read and change that traffic"
            )
    return out


def describe(options: ProxyOptions | None, url: Target) -> str:
    """One line for `minicors check`: where a proxied path goes, or "" when it is not."""
    r = options.match(url) if options is not None else None
    if r is None:
        return ""
    try:
        where = upstream_url(r, url)
    except HttpError as exc:
        where = f"nowhere ({exc.message})"
    return (
        f"proxied: {url.canonical} goes to {where} (--proxy {r.prefix}={r.target}); "
        "minicors's policy above decides CORS, the upstream's Access-Control-* are removed"
    )


def table_of(routes: Mapping[str, str]) -> ProxyOptions:
    """Options from {prefix: target} (for library users and tests)."""
    return ProxyOptions(routes=tuple(route(p, t) for p, t in routes.items()))
