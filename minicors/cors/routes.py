"""Per-route CORS policies (`CorsRouter`): a small glob over path segments, first match wins.

Syntax: a pattern starts with `/`; a segment `*` is exactly one non-empty segment, `**` is any
number of segments (zero included, so `/api/**` covers `/api`, `/api/` and `/api/a/b`); every
other segment is literal and case-sensitive.  Patterns are matched against the request's
parsed target (`Target.canonical`: the segments the handlers read, percent-decoded and spelled
again one way, empty segments dropped), so `/API/x`, `/api/%61dmin`, `//` and `+`-as-space
tricks cannot select another policy than the one for the resource the handler serves
(flask-cors CVE-2024-6866, CVE-2024-6844).  An encoded `/` stays inside its segment, as it
does for the handlers; `.`/`..` segments are not resolved (static files refuse such a path).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from ..errors import ConfigError
from ..messages import Target, quote_segment
from .policy import CorsPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutePattern:
    """A compiled route glob; `source` is the pattern as configured."""

    source: str
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """`path` must be a `Target.canonical`."""
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
            parts.append("/" + re.escape(_literal(seg)))
    return RoutePattern(source=source, regex=re.compile("".join(parts)))


def _literal(segment: str) -> str:
    """A literal pattern segment spelled as `Target.canonical` spells it (`a%20b`, `a b`)."""
    return quote_segment(unquote(segment, errors="surrogateescape"))


def _sample_paths(pattern: str) -> list[str]:
    """A few concrete paths a glob matches (used to spot routes that can never win)."""
    samples = [""]
    for seg in pattern[1:].split("/"):
        if seg == "**":
            samples = [s + tail for s in samples for tail in ("", "/\x00", "/\x00/\x00")]
        else:
            literal = "\x00" if seg == "*" else _literal(seg)
            samples = [s + "/" + literal for s in samples]
    return [s or "/" for s in samples]


def shadowed(earlier: RoutePattern, later: RoutePattern) -> bool:
    """True when `earlier` matches every sample path of `later`: the later route never wins."""
    return all(earlier.matches(p) for p in _sample_paths(later.source))


class CorsRouter:
    """Per-route policies: the first route whose glob matches the path wins; else the default.

    Globs (see the module docstring) match the parsed target's segments, case-sensitively.
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

    def route_for(self, url: Target) -> tuple[str | None, CorsPolicy]:
        """(the matching route's pattern or None for the default, its policy)."""
        if self.routes:
            canonical = url.canonical
            for pattern, policy in self.routes:
                if pattern.matches(canonical):
                    return pattern.source, policy
        return None, self.default

    def policy_for(self, url: Target) -> CorsPolicy:
        """The policy for the request's parsed target."""
        if not self.routes:
            return self.default
        return self.route_for(url)[1]
