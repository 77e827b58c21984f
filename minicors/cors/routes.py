"""Per-route CORS policies (`CorsRouter`): a small glob over path segments, first match wins.

Syntax: a pattern starts with `/`; a segment `*` is exactly one non-empty segment, `**` is any
number of segments (zero included, so `/api/**` covers `/api`, `/api/` and `/api/a/b`); every
other segment is literal and case-sensitive.  Patterns are matched against `canonical_path(path)`
(percent-decoded, `//` collapsed, dot-segments removed), so `/API/x`, `/api%2fx`, `/a/../api`
tricks and `+`-as-space decoding cannot select another policy than the one the handler sees
(flask-cors CVE-2024-6866, CVE-2024-6844).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from ..errors import ConfigError
from ..messages import origin_form
from .policy import CorsPolicy


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 on an absolute path: `.` dropped, `..` removes the previous segment."""
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")[1:]
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/" + "/".join(out)


# RFC 9112 §3.2.2: the absolute form `http://host/path` names the same resource as `/path`.
_SLASHES = re.compile(r"//+")


def canonical_path(raw_path: str) -> str:
    """The path a route pattern is matched against, resolved the way the handlers resolve it.

    The absolute form's scheme and authority are dropped; the path is percent-decoded (UTF-8;
    `+` stays `+`, a space only in form bodies); runs of `/` collapse (static files ignore
    empty segments); dot-segments are removed.  `%2F` decodes to `/` before that, so an encoded
    separator cannot hide a segment from the match.
    """
    raw_path = origin_form(raw_path)
    if not raw_path.startswith("/"):
        return raw_path  # `*` (OPTIONS *): no route matches it
    return remove_dot_segments(_SLASHES.sub("/", unquote(raw_path, errors="replace")))


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutePattern:
    """A compiled route glob; `source` is the pattern as configured."""

    source: str
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """`path` must already be canonical (see `canonical_path`)."""
        return self.regex.fullmatch(path) is not None


def compile_route(source: str) -> RoutePattern:
    """Compile `source` (see the module docstring) or raise ConfigError naming the fix."""
    if not source.startswith("/"):
        raise ConfigError(f"CORS route {source!r} must start with '/': e.g. '/api/**'")
    if any(c in source for c in "?#"):
        raise ConfigError(
            f"CORS route {source!r} has '?' or '#': routes match the path only; drop the query"
        )
    parts: list[str] = []
    for seg in source[1:].split("/"):
        if seg == "**":
            parts.append(r"(?:/[^/]*)*")
        elif seg == "*":
            parts.append(r"/[^/]+")
        elif "*" in seg:
            raise ConfigError(
                f"CORS route {source!r}: '*' must be a whole segment ('*' = one segment, "
                "'**' = any depth), e.g. '/api/*/items'"
            )
        else:
            parts.append("/" + re.escape(unquote(seg, errors="replace")))
    return RoutePattern(source=source, regex=re.compile("".join(parts)))


def _sample_paths(pattern: str) -> list[str]:
    """A few concrete paths a glob matches (used to spot routes that can never win)."""
    samples = [""]
    for seg in pattern[1:].split("/"):
        if seg == "**":
            samples = [s + tail for s in samples for tail in ("", "/\x00", "/\x00/\x00")]
        else:
            literal = "\x00" if seg == "*" else unquote(seg, errors="replace")
            samples = [s + "/" + literal for s in samples]
    return [s or "/" for s in samples]


def shadowed(earlier: RoutePattern, later: RoutePattern) -> bool:
    """True when `earlier` matches every sample path of `later`: the later route never wins."""
    return all(earlier.matches(p) for p in _sample_paths(later.source))


class CorsRouter:
    """Per-route policies: the first route whose glob matches the path wins; else the default.

    Globs (see the module docstring) match the percent-decoded, dot-segment-free path,
    case-sensitively.
    """

    def __init__(self, default: CorsPolicy, routes: Sequence[tuple[str, CorsPolicy]] = ()) -> None:
        self.default = default
        self.routes: tuple[tuple[RoutePattern, CorsPolicy], ...] = tuple(
            (compile_route(pattern), policy) for pattern, policy in routes
        )
        warnings = list(default.warnings)
        for i, (pattern, policy) in enumerate(self.routes):
            warnings.extend(f"CORS route {pattern.source}: {w}" for w in policy.warnings)
            for earlier, _ in self.routes[:i]:
                if shadowed(earlier, pattern):
                    warnings.append(
                        f"CORS route {pattern.source} is never used: the earlier route "
                        f"{earlier.source} matches first; list the more specific route first"
                    )
                    break
        self.warnings: tuple[str, ...] = tuple(warnings)

    def route_for(self, path: str) -> tuple[str | None, CorsPolicy]:
        """(the matching route's pattern or None for the default, its policy)."""
        if self.routes:
            canonical = canonical_path(path)
            for pattern, policy in self.routes:
                if pattern.matches(canonical):
                    return pattern.source, policy
        return None, self.default

    def policy_for(self, path: str) -> CorsPolicy:
        """`path` is the raw URL path (percent-encoded, no query)."""
        if not self.routes:
            return self.default
        return self.route_for(path)[1]
