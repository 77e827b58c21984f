"""A CORS policy's settings, checked once: what is unsafe or invalid stops start-up with the fix,
and what is legal but likely wrong becomes a warning printed at start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from .headers import is_token
from .origins import OriginMatcher

DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_EXPOSE = ("ETag", "Link", "Location", "X-Total-Count")

# Fetch §"normalize a method": browsers upper-case these (and only these) before sending.
NORMALISED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
CHROMIUM_MAX_AGE_S = 7200  # Chromium >= 76 caps Access-Control-Max-Age here (CORS.md §1k)


@dataclass(frozen=True, slots=True, kw_only=True)
class CorsSettings:
    """The arguments a `CorsPolicy` was built from (used to derive a changed policy)."""

    allow_origins: tuple[str, ...] = ()
    allow_origin_regex: str | None = None
    allow_methods: tuple[str, ...] = DEFAULT_METHODS
    allow_headers: tuple[str, ...] | None = None
    expose_headers: tuple[str, ...] = DEFAULT_EXPOSE
    allow_credentials: bool = False
    max_age_s: int = 600
    allow_private_network: bool = False


# A list setting whose values include one starting with "+" keeps its default and adds every
# value to it ("+X" = "the defaults and X"), so adding one origin, method or exposed header
# never silently drops the rest.  "loopback" names the default origins in any list.
PLUS = "+"
LOOPBACK = "loopback"


def plus_mode(values: Sequence[str]) -> bool:
    """Whether `values` extend the default (some value starts with "+")."""
    return any(v.strip().startswith(PLUS) for v in values)


def with_defaults(values: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
    """`values` as the effective list: with a "+" value, the default plus every value."""
    if not plus_mode(values):
        return tuple(v.strip() for v in values)
    added = (v.strip().removeprefix(PLUS).strip() for v in values)
    return tuple(dict.fromkeys((*default, *added)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """Settings made ready for deciding: normalised tokens and the warnings to print."""

    origins: tuple[str, ...]  # the effective list ("loopback" for the default), for display
    matcher: OriginMatcher
    methods: tuple[str, ...]  # as browsers send them (Fetch §"normalize a method")
    headers: frozenset[str] | None  # lower-cased; None: whatever a preflight asks for
    expose: tuple[str, ...]
    warnings: tuple[str, ...]


def _tokens(kind: str, values: Sequence[str], example: str) -> tuple[str, ...]:
    out = tuple(v.strip() for v in values)
    for v in out:
        if v.startswith(PLUS):
            raise ConfigError(f"{kind} {v!r}: write '+' only at the start, e.g. +{example}")
        if v != "*" and not is_token(v):
            raise ConfigError(f"{kind} {v!r} is not a valid token; write a name like {example}")
    return out


def as_list(what: str, value: Sequence[str]) -> tuple[str, ...]:
    """A list setting as a tuple; one string is a mistake (it would be read letter by letter)."""
    if isinstance(value, str):
        raise ConfigError(f"{what} must be a list, not one string: write [{value!r}]")
    return tuple(value)


def check_settings(s: CorsSettings) -> Checked:
    """`s` checked, or ConfigError naming the problem and the fix."""
    warnings: list[str] = []
    origins = with_defaults(s.allow_origins, (LOOPBACK,))
    matcher = OriginMatcher(origins, s.allow_origin_regex)
    if not origins and s.allow_origin_regex is None:
        origins = (LOOPBACK,)
    warnings.extend(matcher.warnings)
    if matcher.any_origin and s.allow_credentials:
        raise ConfigError(
            "allowed origin '*' with credentials would let every website read your users' "
            "private data: list the origins (--allow-origin https://app.example.com) or use "
            "a pattern (--allow-origin 'https://*.example.com')"
        )
    if matcher.allow_null and s.allow_credentials:
        warnings.append("'null' is allowed with credentials: any sandboxed page can use cookies")
    methods = []
    listed = _tokens("allowed method", with_defaults(s.allow_methods, DEFAULT_METHODS), "PUT")
    for m in listed:
        if m.upper() in NORMALISED_METHODS:
            m = m.upper()  # Fetch §"normalize a method": `put` is sent as `PUT`
        elif m != m.upper() and m.upper() not in listed:
            warnings.append(
                f"allowed method {m!r} is compared case-sensitively (Fetch): a page sending "
                f"{m.upper()!r} is not allowed by it; write {m.upper()!r} (or list both)"
            )
        methods.append(m)
    # The default allows whatever a preflight asks for, so "+X" adds nothing to it.
    echo = s.allow_headers is None or plus_mode(s.allow_headers)
    headers = () if echo else _tokens("allowed header", s.allow_headers or (), "X-Token")
    expose = _tokens(
        "exposed header", with_defaults(s.expose_headers, DEFAULT_EXPOSE), "X-Total-Count"
    )
    if "*" in expose and s.allow_credentials:
        warnings.append(
            "exposed header '*' is a wildcard only for requests without credentials "
            '(Fetch §"HTTP new-header syntax"): list the headers credentialed requests read'
        )
    max_age = s.max_age_s
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ConfigError(f"max-age {max_age!r} is invalid: use whole seconds >= 0")
    if max_age > CHROMIUM_MAX_AGE_S:
        warnings.append(
            f"max-age {max_age} s is above Chromium's cap of {CHROMIUM_MAX_AGE_S} s "
            "(Firefox: 86400 s): browsers cache the preflight for less; the value is sent"
        )
    return Checked(
        origins=origins,
        matcher=matcher,
        methods=tuple(dict.fromkeys(methods)),
        headers=None if echo else frozenset(h.lower() for h in headers),
        expose=expose,
        warnings=tuple(warnings),
    )
