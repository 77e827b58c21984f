"""Small, pure helpers for the CORS engine: token grammar, header lists, Vary merging, log text.

Everything here is a function of its arguments only, so the policy can call it at start-up (to
pre-render constant headers) and per request (to validate what a preflight asks for).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# RFC 9110 §5.6.2: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
# "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.  Field names and methods are tokens.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# RFC 9110 §5.6.3: OWS = *( SP / HTAB ).
_OWS = " \t"


def is_token(value: str) -> bool:
    """True when `value` is an RFC 9110 token (a method or a field name)."""
    return _TOKEN.fullmatch(value) is not None


def split_list(value: str) -> list[str]:
    """Split an RFC 9110 §5.6.1 list: elements trimmed of OWS, empty elements dropped.

    Repeated header lines arrive already joined with ", " (RFC 9110 §5.3), so one split handles
    a list that a proxy spread over several lines (rs/cors #184).
    """
    return [item for item in (part.strip(_OWS) for part in value.split(",")) if item]


def parse_header_names(value: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Parse `Access-Control-Request-Headers`: (valid names lower-cased and de-duplicated, invalid).

    Field names compare case-insensitively (RFC 9110 §5.1), so lower-case is the canonical form
    and the form browsers send (Fetch §"CORS-unsafe request-header names").
    """
    names: dict[str, None] = {}
    invalid: list[str] = []
    for item in split_list(value):
        if is_token(item):
            names[item.lower()] = None
        else:
            invalid.append(item)
    return tuple(names), tuple(invalid)


def merge_vary(existing: Iterable[bytes], ours: bytes) -> bytes:
    """One `Vary` value: the existing field values followed by our tokens, none repeated.

    Vary is a list of field names compared case-insensitively (RFC 9110 §12.5.5); `*` already
    says "varies on everything", so nothing is added to it.
    """
    tokens: list[str] = []
    seen: set[str] = set()
    for value in (*existing, ours):
        for token in split_list(value.decode("latin-1")):
            key = token.lower()
            if key == "*":
                return b"*"
            if key not in seen:
                seen.add(key)
                tokens.append(token)
    return ", ".join(tokens).encode("latin-1")


_MAX_SHOWN = 200


def show(value: str) -> str:
    """`value` made safe for one log line and a text/plain body.

    Request-derived text may carry CR/LF or other control characters that would forge log lines
    (CVE-2024-1681); they, the backslash, and anything outside printable ASCII become `\\xNN`
    escapes.  Empty values, and values with spaces or quotes, are shown in double quotes so the
    reader sees where they start and end.  Long values are cut.
    """
    out: list[str] = []
    for ch in value[:_MAX_SHOWN]:
        code = ord(ch)
        if 0x20 <= code < 0x7F and ch not in '\\"':
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    text = "".join(out)
    if len(value) > _MAX_SHOWN:
        text += "..."
    if not value or any(c in value for c in ' ",'):
        return f'"{text}"'
    return text
