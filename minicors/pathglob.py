"""Path globs over a request's parsed segments, shared by `[[cors.route]]` and `[headers]`.

Syntax: a pattern starts with `/`; a segment `*` is exactly one non-empty segment, `**` is any
number of segments (zero included, so `/api/**` covers `/api`, `/api/` and `/api/a/b`); every
other segment is literal and case-sensitive.  Patterns are matched against the request's
parsed target (`Target.canonical`: the segments the handlers read, percent-decoded and spelled
again one way, empty segments dropped), so `/API/x`, `/api/%61dmin`, `//` and `+`-as-space
tricks cannot select another rule than the one for the resource the handler serves
(flask-cors CVE-2024-6866, CVE-2024-6844).  An encoded `/` stays inside its segment, as it
does for the handlers; `.`/`..` segments are not resolved (static files refuse such a path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import ConfigError
from .messages import quote_segment


@dataclass(frozen=True, slots=True, kw_only=True)
class PathGlob:
    """A compiled path glob; `source` is the pattern as configured."""

    source: str
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """`path` must be a `Target.canonical`."""
        return self.regex.fullmatch(path) is not None


def compile_glob(source: str, what: str) -> PathGlob:
    """Compile `source` (see the module docstring) or raise ConfigError naming the fix;
    `what` names the setting in that message ("CORS route", "header path")."""
    if not source.startswith("/"):
        raise ConfigError(f"{what} {source!r} must start with '/': e.g. '/api/**'")
    if any(c in source for c in "?#"):
        raise ConfigError(
            f"{what} {source!r} has '?' or '#': paths match the path only; drop the query"
        )
    parts: list[str] = []
    for seg in source[1:].split("/"):
        if seg == "**":
            parts.append(r"(?:/[^/]*)*")
        elif seg == "*":
            parts.append(r"/[^/]+")
        elif "*" in seg:
            raise ConfigError(
                f"{what} {source!r}: '*' must be a whole segment ('*' = one segment, "
                "'**' = any depth), e.g. '/api/*/items'"
            )
        else:
            parts.append("/" + re.escape(literal_segment(seg)))
    return PathGlob(source=source, regex=re.compile("".join(parts)))


def literal_segment(segment: str) -> str:
    """A literal pattern segment spelled as `Target.canonical` spells it (`a%20b`, `a b`)."""
    return quote_segment(unquote(segment, errors="surrogateescape"))
