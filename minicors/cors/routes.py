"""Per-route CORS policies (`CorsRouter`): a small glob over path segments, first match wins.

Syntax: a pattern starts with `/`; a segment `*` is exactly one non-empty segment, `**` is any
number of segments (zero included, so `/api/**` covers `/api`, `/api/` and `/api/a/b`); every
other segment is literal and case-sensitive.  Patterns are matched against the request's
parsed target (`Target.canonical`: the segments the handlers read, percent-decoded and spelled
again one way, empty segments dropped), so `/API/x`, `/api/%61dmin`, `//` and `+`-as-space
tricks cannot select another policy than the one for the resource the handler serves
(flask-cors CVE-2024-6866, CVE-2024-6844).  An encoded `/` stays inside its segment, as it
does for the handlers; `.`/`..` segments are not resolved (static files refuse such a path).
The glob itself lives in `minicors/pathglob.py`, shared with the `[headers]` paths.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..messages import Target
from ..pathglob import PathGlob, compile_glob
from ..pathglob import literal_segment as _literal
from .policy import CorsPolicy

RoutePattern = PathGlob  # the glob is shared with `[headers]` (minicors/pathglob.py)


def compile_route(source: str) -> RoutePattern:
    """Compile `source` (see the module docstring) or raise ConfigError naming the fix."""
    return compile_glob(source, "CORS route")


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
