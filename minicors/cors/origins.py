"""Origins: the strict grammar of a request's `Origin`, configured origins and patterns, matching.

A request origin is trusted only if it is byte-for-byte what a browser serialises (Fetch §"`Origin`
header": lower-case scheme and host, no path, no default port); anything else matches nothing.
Configured origins are normalised once to that same form, so matching is a set lookup plus one
pre-compiled regex for the patterns (`https://*.example.com`, `http://localhost:*`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError

# URL Standard §"default port": a browser omits these from the serialised origin.
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

# One RFC 1123 host label: letters/digits, inner hyphens.  Browsers would also pass `_` and edge
# hyphens, but no public DNS host name has them and they are the raw material of validator
# bypasses (CORS.md §4b), so minicors never matches them.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_LABEL_RE = re.compile(_LABEL)
# What the URL Standard's "ends in a number" checker treats as IPv4 (then re-serialised).
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_REQUEST_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<host>\[[0-9a-f:]+\]|[a-z0-9.\-]+)(?::(?P<port>[0-9]+))?"
)  # then checked: host labels, canonical IP forms, port range (`int()` only on <= 5 digits)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# Names reserved for testing and local use (RFC 6761): `*.test` is not "every site".
_DEV_TLDS = frozenset({"localhost", "test", "example", "invalid"})
# DNS names stop at 253 characters (RFC 1035 §2.3.4); with scheme and port, 1024 is generous.
MAX_ORIGIN_CHARS = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedOrigin:
    """A valid serialised origin split into its parts (`port` is "" when absent)."""

    scheme: str
    host: str
    port: str


def zero_run(zero: Sequence[bool]) -> tuple[int, int]:
    """(start, length) of the first longest run of zero pieces, when it is at least 2 long
    (the run an IPv6 serialiser writes as `::`); (-1, 1) when there is none."""
    best_start, best_len, i = -1, 1, 0
    while i < len(zero):
        if zero[i]:
            j = i
            while j < len(zero) and zero[j]:
                j += 1
            if j - i > best_len:
                best_start, best_len = i, j - i
            i = j
        else:
            i += 1
    return best_start, best_len


def _ipv6_text(addr: ipaddress.IPv6Address) -> str:
    """The URL Standard's IPv6 serialiser: lower-case hex, longest run (>= 2) of zeros as `::`."""
    packed = addr.packed
    pieces = [packed[i] << 8 | packed[i + 1] for i in range(0, 16, 2)]
    best_start, best_len = zero_run([p == 0 for p in pieces])
    if best_start < 0:
        return ":".join(f"{p:x}" for p in pieces)
    left = ":".join(f"{p:x}" for p in pieces[:best_start])
    right = ":".join(f"{p:x}" for p in pieces[best_start + best_len :])
    return f"{left}::{right}"


def host_problem(host: str) -> str | None:
    """Why `host` (lower-case, ASCII) is not a host a browser would serialise, or None.

    A trailing dot is kept: `a.example.com.` is a distinct origin a browser can send, matched
    only by an entry that has the dot too.
    """
    if host.startswith("["):
        inner = host[1:-1] if host.endswith("]") else ""
        try:
            addr = ipaddress.IPv6Address(inner)
        except ValueError:
            return "not a valid IPv6 address"
        canonical = _ipv6_text(addr)
        return None if inner == canonical else f"IPv6 is serialised as [{canonical}]"
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # URL Standard §"IPv4 parser": such hosts are re-serialised as a dotted quad.
        # `ipaddress` accepts only the canonical dotted quad (no leading zeros, no short forms).
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return "a numeric host must be a dotted-quad IPv4 address"
        return None
    for label in labels:
        if not label:
            return "empty label in host"
        if not _LABEL_RE.fullmatch(label):
            return f"host label {label!r} is not letters, digits and inner '-'"
    return None


def parse_request_origin(value: str) -> ParsedOrigin | str:
    """The parts of a request's `Origin`, or a short reason why it is not a serialised origin.

    Byte-exact (Fetch §"`Origin` header" ABNF): upper case, a path or trailing slash, userinfo,
    whitespace, a default port or a list of origins all fail, because no browser sends them.
    """
    if len(value) > MAX_ORIGIN_CHARS:
        return "longer than any real origin"
    m = _REQUEST_ORIGIN.fullmatch(value)
    if m is None:
        return "not a serialised origin: lower-case scheme://host[:port]"
    scheme, host, port = m.group("scheme", "host", "port")
    problem = host_problem(host)
    if problem is not None:
        return problem
    if port is None:
        port = ""
    elif len(port) > 5 or (port.startswith("0") and port != "0") or int(port) > 65535:
        return "port is not a decimal number up to 65535 without leading zeros"
    elif DEFAULT_PORTS.get(scheme) == port:
        return f"browsers omit the default port :{port}"
    return ParsedOrigin(scheme=scheme, host=host, port=port)


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginRule:
    """One configured origin or pattern, normalised.

    `host` is the whole host, or the suffix after `*.` when `subdomains`; `port` is "" for the
    scheme's default port, "*" for any port (including the default), else digits.
    """

    source: str
    scheme: str
    host: str
    subdomains: bool = False
    port: str = ""

    @property
    def is_exact(self) -> bool:
        return not self.subdomains and self.port != "*"

    @property
    def text(self) -> str:
        host = f"*.{self.host}" if self.subdomains else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port else "")

    def regex(self) -> str:
        """A regex fragment that full-matches exactly the serialised origins this rule allows.

        `*.` becomes one or more whole DNS labels followed by a literal dot (never `.*`, which
        would cross `.`/`:`/`@` boundaries: Starlette PR #3165), so `https://*.example.com`
        cannot match `https://evilexample.com`, `https://example.com.evil.test` or the apex.
        """
        host = re.escape(self.host)
        if self.subdomains:
            host = rf"(?:{_LABEL}\.)+{host}"
        port = {"": "", "*": r"(?::[0-9]{1,5})?"}.get(self.port, re.escape(f":{self.port}"))
        return f"{re.escape(self.scheme)}://{host}{port}"


def _fail(source: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"allowed origin {source!r} {problem}; {fix}")


def parse_origin_rule(source: str) -> OriginRule:
    """Normalise one configured origin or pattern (not `*`/`null`), or raise ConfigError.

    Scheme and host are lower-cased, a default port dropped and an IDN host converted to
    punycode, so the rule compares equal to what a browser sends.
    """
    text = source.strip()
    m = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.\-]*)://(.*)", text, flags=re.DOTALL)
    if m is None:
        hint = f"https://{text}" if text and "/" not in text else "https://app.example.com"
        raise _fail(source, "is not an origin", f"write scheme://host[:port], e.g. {hint}")
    scheme, rest = m.group(1).lower(), m.group(2)
    for bad, what in (("@", "user info"), ("?", "a query"), ("#", "a fragment"), ("/", "a path")):
        if bad in rest:
            clean = re.split(r"[/?#]", rest.rsplit("@", 1)[-1])[0]
            problem = "has a trailing slash" if rest == clean + "/" else f"has {what}"
            fix = f"write {scheme}://{clean} (an origin is only scheme://host[:port])"
            raise _fail(source, problem, fix)
    if rest.startswith("["):
        host, _, port_part = rest.partition("]")
        host += "]"
        if port_part and not port_part.startswith(":"):
            raise _fail(source, "has junk after the IPv6 address", "write scheme://[addr]:port")
        port = port_part[1:] if port_part else None
    else:
        host, colon, port_text = rest.rpartition(":") if ":" in rest else (rest, "", "")
        port = port_text if colon else None
    if port is not None and port != "*":
        if not (port.isdecimal() and port.isascii() and len(port) <= 5 and int(port) <= 65535):
            raise _fail(source, f"has an invalid port {port!r}", "use a number 0-65535 or '*'")
        port = str(int(port))
        if DEFAULT_PORTS.get(scheme) == port:
            port = None  # `https://a.test:443` is the origin `https://a.test`
    subdomains = host.startswith("*.")
    if subdomains:
        host = host[2:]
    if "*" in host:
        raise _fail(
            source, "has a '*' that is not a leading '*.' label", "e.g. https://*.example.com"
        )
    if not host:
        raise _fail(source, "has no host", "e.g. https://app.example.com")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise _fail(source, "has a host that is not a valid IDN", "write it in punycode") from None
    host = host.lower()
    if host.startswith("[") and host.endswith("]") and "%" not in host:
        with contextlib.suppress(ValueError):  # if invalid, reported just below
            # the form a browser serialises: `[0:0::1]` is `[::1]`
            host = f"[{_ipv6_text(ipaddress.IPv6Address(host[1:-1]))}]"
    host_issue = host_problem(host)
    if host_issue is not None:
        raise _fail(source, f"has an invalid host ({host_issue})", "fix the host name")
    if subdomains and (host.startswith("[") or _NUMERIC_LABEL.fullmatch(host.split(".")[-1])):
        raise _fail(source, "puts '*.' before an IP address", "list the exact origin instead")
    return OriginRule(
        source=source, scheme=scheme, host=host, subdomains=subdomains, port=port or ""
    )


def is_loopback_host(host: str) -> bool:
    return (
        host in ("localhost", "[::1]")
        or host.endswith(".localhost")
        or re.fullmatch(r"127(?:\.[0-9]+){3}", host) is not None
    )


def _unescaped_dot(regex: str) -> bool:
    """True when `regex` has a `.` outside a character class and not escaped (matches anything)."""
    i, in_class = 0, False
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 1
            if regex[i : i + 1] == "^":  # `[^]...]` and `[]...]`: the first `]` is literal
                i += 1
            if regex[i : i + 1] == "]":
                i += 1
            continue
        elif c == ".":
            return True
        i += 1
    return False


class OriginMatcher:
    """The set of allowed origins, compiled once: exact set, one pattern regex, optional regex."""

    def __init__(self, allow_origins: Sequence[str], allow_origin_regex: str | None) -> None:
        entries = [o.strip() for o in allow_origins]
        self.any_origin = "*" in entries
        self.allow_null = "null" in entries or self.any_origin
        self.default_loopback = not entries and allow_origin_regex is None
        # "loopback" names the default set, so it can be kept next to other origins.
        self.loopback = self.default_loopback or any(e.lower() == "loopback" for e in entries)
        warnings: list[str] = []
        rules: list[OriginRule] = []
        for entry in entries:
            if entry in ("*", "null") or entry.lower() == "loopback":
                continue
            if entry.lower() == "null":
                raise _fail(entry, "is not 'null'", "the opaque origin is spelled 'null'")
            rules.append(parse_origin_rule(entry))
        if self.loopback:
            rules += [
                OriginRule(source=f"{s}://{h}:*", scheme=s, host=h, port="*")
                for s in ("http", "https")
                for h in LOOPBACK_HOSTS
            ]
        self.rules = tuple(rules)
        self.exact = frozenset(r.text for r in rules if r.is_exact)
        patterns = [f"(?:{r.regex()})" for r in rules if not r.is_exact]
        self._patterns = re.compile("|".join(patterns)) if patterns else None
        self.regex: re.Pattern[str] | None = None
        if allow_origin_regex is not None:
            try:
                self.regex = re.compile(allow_origin_regex)
            except re.error as exc:
                raise ConfigError(
                    f"allowed origin regex {allow_origin_regex!r} does not compile ({exc}): "
                    "fix the regular expression"
                ) from None
            if _unescaped_dot(allow_origin_regex):
                warnings.append(
                    f"allowed origin regex {allow_origin_regex!r} has an unescaped '.', which "
                    r"matches any character (e.g. 'https://aexample.com'): write '\.'"
                )
        if "null" in entries:
            warnings.append(
                "'null' is an allowed origin: every sandboxed iframe, file: page and "
                "cross-origin redirect on any site sends Origin: null, so all of them are trusted"
            )
        if self.any_origin and (len(entries) > 1 or self.regex is not None):
            warnings.append("'*' allows every origin: the other allowed origins are redundant")
        for rule in rules:
            if rule.subdomains and "." not in rule.host.rstrip(".") and rule.host not in _DEV_TLDS:
                warnings.append(
                    f"allowed origin {rule.source.strip()!r} trusts every site under the "
                    f"top-level domain .{rule.host}: name your own domain, e.g. "
                    f"{rule.scheme}://*.example.{rule.host}"
                )
        warnings.extend(self._scheme_warnings())
        self.warnings = tuple(warnings)

    def _scheme_warnings(self) -> list[str]:
        """CORS.md §4a "scheme downgrade": trusting http:// next to https:// for one host lets
        a network attacker on plain HTTP read what the https:// page may read."""
        schemes: dict[tuple[str, bool], set[str]] = {}
        for rule in self.rules:
            schemes.setdefault((rule.host, rule.subdomains), set()).add(rule.scheme)
        out = []
        for (host, subdomains), found in schemes.items():
            if {"http", "https"} <= found and not is_loopback_host(host):
                shown = f"*.{host}" if subdomains else host
                out.append(
                    f"both http://{shown} and https://{shown} are allowed: a network attacker "
                    f"can pose as http://{shown}; drop the http:// entry unless it is needed"
                )
        return out

    def explain(self, value: str) -> str | None:
        """None when `value` (a request's Origin) is allowed, else why not (a short phrase)."""
        if value == "null":
            return None if self.allow_null else "'null' is allowed only when listed explicitly"
        if self.any_origin:
            return None
        parsed = parse_request_origin(value)
        if isinstance(parsed, str):
            return parsed
        if value in self.exact:
            return None
        if self._patterns is not None and self._patterns.fullmatch(value):
            return None
        if self.regex is not None and self.regex.fullmatch(value):
            return None
        return ""
