"""The browser's side of CORS, written from the Fetch standard, for `minicors check`.

These functions decide what a browser would send (is a preflight needed, which names go into
`Access-Control-Request-Headers`) and whether it accepts what came back (the CORS check and the
preflight checks).  They read only response headers, never the engine's internals, so `check`
is an independent second opinion on the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..messages import HeaderList
from .headers import is_token, split_list

SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})  # Fetch §"CORS-safelisted method"
FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})  # Fetch §"forbidden method"
NORMALISED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
# Fetch §"forbidden request-header": scripts cannot set these (the browser does).
FORBIDDEN_HEADERS = frozenset(
    {
        "accept-charset", "accept-encoding", "access-control-request-headers",
        "access-control-request-method", "connection", "content-length", "cookie", "cookie2",
        "date", "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te",
        "trailer", "transfer-encoding", "upgrade", "via",
    }
)  # fmt: skip
# Fetch §"CORS-safelisted response-header name": readable without Access-Control-Expose-Headers.
SAFELISTED_RESPONSE_HEADERS = (
    "Cache-Control",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Last-Modified",
    "Pragma",
)
_SAFE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
_LANGUAGE_BYTES = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;=")
_HTTP_WHITESPACE = " \t\r\n"


def normalise_method(method: str) -> str:
    """Fetch §"normalize a method": only the six standard methods are upper-cased."""
    return method.upper() if method.upper() in NORMALISED_METHODS else method


def is_forbidden_header(name: str) -> bool:
    lower = name.lower()
    return lower in FORBIDDEN_HEADERS or lower.startswith(("proxy-", "sec-"))


def _has_unsafe_byte(value: str) -> bool:
    """Fetch §"CORS-unsafe request-header byte"."""
    return any((ord(c) < 0x20 and c != "\t") or c in '"():<>?@[\\]{}\x7f' for c in value)


def mime_essence(value: str) -> str | None:
    """The essence (`type/subtype`, lower-cased) of Fetch's strict "parse a MIME type", or None."""
    text = value.strip(_HTTP_WHITESPACE)
    kind, slash, rest = text.partition("/")
    if not slash or not is_token(kind):
        return None
    subtype = rest.partition(";")[0].rstrip(_HTTP_WHITESPACE)
    if not is_token(subtype):
        return None
    return f"{kind}/{subtype}".lower()


def _safe_range(value: str) -> bool:
    """Fetch: `bytes=N-` or `bytes=N-M` (N <= M), no whitespace, start required, one range."""
    unit, eq, spec = value.partition("=")
    if unit != "bytes" or not eq:  # "starts with `bytes`": case-sensitive
        return False
    start, dash, end = spec.partition("-")
    if not dash or not start.isdigit() or not start.isascii():
        return False
    if not end:
        return True
    return end.isdigit() and end.isascii() and int(start) <= int(end)


def is_safelisted_header(name: str, value: str) -> bool:
    """Fetch §"CORS-safelisted request-header" for one (name, value)."""
    if len(value) > 128:  # header values are byte strings: one character is one byte
        return False
    lower = name.lower()
    if lower == "accept":
        return not _has_unsafe_byte(value)
    if lower in ("accept-language", "content-language"):
        return all(c in _LANGUAGE_BYTES for c in value)
    if lower == "content-type":
        return not _has_unsafe_byte(value) and mime_essence(value) in _SAFE_CONTENT_TYPES
    if lower == "range":
        return _safe_range(value)
    return False


def unsafe_header_names(headers: Sequence[tuple[str, str]]) -> list[str]:
    """Fetch §"CORS-unsafe request-header names": sorted, lower-cased, unique.

    Safelisted headers become unsafe too when their values add up to more than 1024 bytes.
    """
    unsafe: set[str] = set()
    safelisted: list[str] = []
    total = 0
    for name, value in headers:
        if is_safelisted_header(name, value):
            safelisted.append(name.lower())
            total += len(value)
        else:
            unsafe.add(name.lower())
    if total > 1024:
        unsafe.update(safelisted)
    return sorted(unsafe)


def _get(headers: HeaderList, name: bytes) -> str | None:
    """Fetch "get" on a header list: all values of `name`, combined with ", "."""
    values = [v.decode("latin-1") for n, v in headers if n == name]
    return ", ".join(values) if values else None


def cors_check(headers: HeaderList, origin: str, credentials: bool) -> tuple[str, str] | None:
    """Fetch §"CORS check": None when it passes, else (what failed, why).

    "what" is "origin", "star-credentials" (ACAO `*` on a credentialed request) or "credentials".
    """
    acao = _get(headers, b"access-control-allow-origin")
    if acao is None:
        return "origin", "the response has no Access-Control-Allow-Origin header"
    if not credentials and acao == "*":
        return None
    if acao != origin:
        if acao == "*":
            why = "Access-Control-Allow-Origin is '*', which never works with credentials"
            return "star-credentials", why
        return "origin", f"Access-Control-Allow-Origin {acao!r} is not the origin {origin!r}"
    if not credentials:
        return None
    if _get(headers, b"access-control-allow-credentials") != "true":
        why = "credentials need Access-Control-Allow-Credentials: true, which is missing"
        return "credentials", why
    return None


def _parse_list(headers: HeaderList, name: bytes) -> list[str] | None:
    """Fetch "extract header list values" for a `#token` header: None on a parse failure."""
    value = _get(headers, name)
    items = split_list(value) if value is not None else []
    return items if all(is_token(i) for i in items) else None


def preflight_check(
    status: int,
    headers: HeaderList,
    *,
    origin: str,
    method: str,
    unsafe_names: Sequence[str],
    credentials: bool,
) -> tuple[str, str] | None:
    """Fetch §"CORS-preflight fetch" steps after the response: None, or (what failed, why).

    "what" is one of: origin, star-credentials, credentials, status, method, header.
    """
    failure = cors_check(headers, origin, credentials)
    if failure is not None:
        return failure
    if not 200 <= status <= 299:
        return "status", f"the preflight response status {status} is not ok (200-299)"
    methods = _parse_list(headers, b"access-control-allow-methods")
    names = _parse_list(headers, b"access-control-allow-headers")
    if methods is None or names is None:
        return "status", "Access-Control-Allow-Methods/-Headers cannot be parsed"
    wildcard = not credentials
    if not (method in methods or method in SAFELISTED_METHODS or (wildcard and "*" in methods)):
        return "method", f"method {method} is not in Access-Control-Allow-Methods"
    listed = {n.lower() for n in names}
    # Fetch §"CORS non-wildcard request-header name": `*` never covers Authorization.
    if "authorization" in unsafe_names and "authorization" not in listed:
        return "header", "authorization is not listed in Access-Control-Allow-Headers"
    for name in unsafe_names:
        if name not in listed and not (wildcard and "*" in listed):
            return "header", f"header {name} is not in Access-Control-Allow-Headers"
    return None


def readable_headers(headers: HeaderList, credentials: bool) -> list[str]:
    """Response header names a script may read (Fetch §"Main fetch", CORS-exposed names)."""
    exposed = split_list(_get(headers, b"access-control-expose-headers") or "")
    if "*" in exposed and not credentials:
        return ["all (Access-Control-Expose-Headers: *)"]
    extra = [n for n in exposed if n.lower() not in ("set-cookie", "set-cookie2") and n != "*"]
    return [*SAFELISTED_RESPONSE_HEADERS, *extra]
