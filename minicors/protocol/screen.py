"""What minicors refuses in a request head before h11 parses it, checked on the raw bytes.

h11 is lenient where a strict server must not be (RFC 9112 lets a server choose, and parsers
that choose differently are a request-smuggling ingredient): it takes a bare LF as a line end,
unfolds obsolete line folding silently, and lets control bytes through in field values.  Every
head is screened here, whole, whatever TCP segmentation delivered it, before h11 sees it:

- lines end with CRLF (RFC 9112 §2.2): a bare LF or a CR not followed by LF is refused;
- no obsolete line folding (RFC 9112 §5.2);
- field values hold only HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5); the request line only
  VCHAR and single spaces.

A verdict never depends on segmentation: faults are found in stream order, so a head that
arrives byte by byte gets the same answer as the same head in one read.  The slow path (a
refusal) says in words which line is wrong and why.
"""

from __future__ import annotations

import ipaddress
import re

from ..errors import ProtocolError

# HTAB, SP, VCHAR, obs-text: the bytes a field line may hold besides its CRLF.
_ALLOWED = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
_FIELD_LINE = re.compile(_TOKEN + rb":[\t \x21-\x7e\x80-\xff]*")
_FIELD_NAME = re.compile(_TOKEN)


def check_request_line(line: bytes) -> None:
    """RFC 9112 §3: `method SP request-target SP HTTP-version`; 505 for a version other than
    1.0 and 1.1 (RFC 9110 §15.6.6), 400 for anything else that is not that shape."""
    m = _REQUEST_LINE.fullmatch(line)
    if m is None:
        raise ProtocolError(400, _request_line_fault(line))
    if (m.group(3), m.group(4)) not in ((b"1", b"1"), (b"1", b"0")):
        version = f"{m.group(3).decode()}.{m.group(4).decode()}"
        raise ProtocolError(505, f"HTTP/{version} is not supported; use HTTP/1.1 (or 1.0)")


def line_count(head: bytes) -> int:
    """The number of CRLF-ended lines of a complete head (request line through the blank
    line), or -1 when a byte breaks the rules: a bare LF, a CR not followed by LF, a control
    byte.  Two C-level passes: deleting every allowed byte leaves only the line endings.
    Folded lines are found by the caller, which knows how many fields h11 saw."""
    rest = head.translate(None, _ALLOWED)
    pairs = rest.count(b"\r\n")  # disjoint pairs covering all of `rest`: nothing else is left
    return pairs if pairs << 1 == len(rest) else -1


def check_partial(part: bytes) -> None:
    """Refuse an incomplete head as soon as its bytes so far are already wrong (a head of
    bare-LF lines never completes with CRLF CRLF: it must not wait for a timeout).  A CR at
    the very end may still be followed by its LF."""
    rest = part.translate(None, _ALLOWED)
    if part.endswith(b"\r"):
        rest = rest[:-1]
    if rest.replace(b"\r\n", b"") or b"\r\n " in part or b"\r\n\t" in part:
        raise ProtocolError(400, describe_fault(part))


def describe_fault(head: bytes) -> str:
    """Which line of `head` breaks which rule, in words ("" when none does)."""
    lines = head.split(b"\n")
    for number, line in enumerate(lines, 1):
        last = number == len(lines)
        if not last and not line.endswith(b"\r"):
            return f"line {number} ends with a bare LF; lines must end with CRLF (RFC 9112 §2.2)"
        text = line[:-1] if not last else line
        if b"\r" in text and not (last and text.index(b"\r") == len(text) - 1):
            return (
                f"line {number} holds a CR that is not followed by LF; "
                "lines must end with CRLF (RFC 9112 §2.2)"
            )
        if number > 1 and text[:1] in (b" ", b"\t"):
            return f"line {number} is folded onto the previous one (obs-fold, RFC 9112 §5.2)"
        bad = text.translate(None, _ALLOWED).replace(b"\r", b"")
        if bad:
            where = _where(number, text)
            return f"control byte 0x{bad[0]:02x} in {where} (RFC 9110 §5.5)"
    return ""


def describe_field_fault(head: bytes) -> str:
    """The first field line that is not `name: value`, in words ("" when all are)."""
    lines = head.split(b"\r\n")
    for number, line in enumerate(lines[1:], 2):
        if not line:
            break
        if not _FIELD_LINE.fullmatch(line):
            name, colon, _ = line.partition(b":")
            if not colon:
                return f"line {number} is not a 'name: value' header field (RFC 9112 §5)"
            if name[-1:] in (b" ", b"\t"):
                return f"line {number} has whitespace before the colon (RFC 9112 §5.1)"
            return f"line {number} has an invalid header name {_show(name)} (RFC 9110 §5.1)"
    return ""


def _where(number: int, text: bytes) -> str:
    if number == 1:
        return "the request line"
    name, colon, _ = text.partition(b":")
    if colon and _FIELD_NAME.fullmatch(name):
        return f"the value of header {_show(name)}"
    return f"line {number}"


def _request_line_fault(line: bytes) -> str:
    if line.translate(None, _ALLOWED):  # a CR, LF or control byte: say which and where
        return describe_fault(line + b"\r\n")
    parts = line.split(b" ")
    if len(parts) == 2 or (len(parts) == 1 and line):
        return "the request line has no HTTP version (HTTP/0.9 is not supported)"
    if len(parts) != 3 or not all(parts):
        return "the request line must be METHOD SP TARGET SP HTTP/1.1, single spaces (RFC 9112 §3)"
    method, target, version = parts
    if not _FIELD_NAME.fullmatch(method):
        return f"the method {_show(method)} is not a token (RFC 9110 §9.1)"
    if not re.fullmatch(rb"[\x21-\x7e]+", target):
        return "the request-target holds a byte that is not visible ASCII (RFC 9112 §3.2)"
    return f"the HTTP version {_show(version)} is not HTTP/<digit>.<digit> (RFC 9112 §2.3)"


def _show(data: bytes) -> str:
    text = data[:60].decode("latin-1")
    return repr(text + ("..." if len(data) > 60 else ""))


# --- fields h11 parsed, checked further --------------------------------------------------------

# RFC 3986 §3.2.2 host: IP-literal, IPv4 or reg-name; then an optional port (RFC 9112 §3.2).
_HOST = re.compile(
    rb"(?:\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]"
    rb"|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)"
    rb"(?::[0-9]*)?"
)


def valid_host(value: bytes) -> bool:
    """`Host` is `uri-host [":" port]` (RFC 9112 §3.2; the empty value is allowed)."""
    if _HOST.fullmatch(value) is None:
        return False
    if value[:2] == b"[v" or value[:1] != b"[":
        return True
    literal = value[1 : value.index(b"]")].decode("ascii")
    try:
        ipaddress.IPv6Address(literal)  # RFC 3986 §3.2.2 IPv6address
    except ValueError:
        return False
    return True


def has_token(value: bytes, token: bytes) -> bool:
    """Whether the comma-separated list `value` holds `token` (case-insensitive), as
    `Connection: close` is read (RFC 9110 §7.6.1): a token, never a substring."""
    return any(item.strip(b" \t").lower() == token for item in value.split(b","))
