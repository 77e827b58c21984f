"""Where the middleware's policy comes from: Starlette's keyword arguments read with Starlette's
meanings, a `CorsPolicy`/`CorsRouter` given as is, or the `[cors]` table of a TOML file read by
the same loader as `minicors serve --config`.

Starlette's keywords are translated once, at start-up, into the engine's settings; nothing here
decides a request.  Where Starlette and the engine name the same thing differently (no origin
at all, `allow_headers=["*"]`, the headers every preflight may ask for), the translation keeps
Starlette's meaning, so replacing the import changes what is answered only where the README
says so.
"""

from __future__ import annotations

from collections.abc import Collection

from ..config import build_config, read_toml
from ..cors import CorsPolicy, CorsRouter, Provenance
from ..errors import ConfigError

# Starlette adds these to every allowed-header list (its SAFELISTED_HEADERS): a page may send
# `Content-Type: application/json` without listing it.
STARLETTE_SAFELISTED = ("accept", "accept-language", "content-language", "content-type")
# Starlette with neither allow_origins nor allow_origin_regex allows no origin at all, where
# the engine's empty list means its development default (loopback).  A regex that can match
# nothing keeps Starlette's meaning with the engine's own refusals.
NO_ORIGIN_REGEX = r"(?!)"
# A refused preflight's fix is then worded as the keyword to change, not as a flag.
IN_CODE = Provenance(keywords=True)
NO_ORIGIN_WARNING = (
    "no allowed origins: every cross-origin request is refused; give "
    "allow_origins=['https://app.example.com'] (or a pattern such as 'https://*.example.com')"
)


def _listed(keyword: str, value: Collection[str]) -> tuple[str, ...]:
    # Starlette would read one string letter by letter; refuse it instead.
    if isinstance(value, str):
        raise ConfigError(f"{keyword} must be a list, not one string: write {keyword}=[{value!r}]")
    return tuple(value)


def starlette_policy(
    *,
    allow_origins: Collection[str],
    allow_methods: Collection[str],
    allow_headers: Collection[str],
    allow_credentials: bool,
    allow_origin_regex: str | None,
    allow_private_network: bool,
    expose_headers: Collection[str],
    max_age: int,
) -> tuple[CorsPolicy, tuple[str, ...]]:
    """The engine's policy for Starlette's keywords, and warnings of our own to log."""
    origins = _listed("allow_origins", allow_origins)
    methods = _listed("allow_methods", allow_methods)
    headers = _listed("allow_headers", allow_headers)
    expose = _listed("expose_headers", expose_headers)
    warnings: list[str] = []
    regex = allow_origin_regex
    if not origins and regex is None:
        regex = NO_ORIGIN_REGEX
        warnings.append(NO_ORIGIN_WARNING)
    # Starlette's `*` echoes whatever a preflight asks for (Authorization included), which is
    # the engine's "no list" (None); the engine's own `*` would leave Authorization out (Fetch
    # §"CORS non-wildcard request-header name") and break pages that Starlette served.
    allowed: tuple[str, ...] | None = None
    if "*" not in headers:
        listed = {h.strip().lower() for h in headers}
        allowed = (*headers, *(h for h in STARLETTE_SAFELISTED if h not in listed))
    policy = CorsPolicy(
        allow_origins=origins,
        allow_origin_regex=regex,
        allow_methods=methods,
        allow_headers=allowed,
        expose_headers=expose,
        allow_credentials=allow_credentials,
        max_age_s=max_age,
        allow_private_network=allow_private_network,
        provenance=IN_CODE,
    )
    return policy, tuple(warnings)


def worded_for_code(policy: CorsPolicy | CorsRouter) -> CorsPolicy | CorsRouter:
    """`policy` (built in code) with its fixes worded as keyword arguments; a policy read from
    a file keeps its wording (the file's keys)."""
    if isinstance(policy, CorsRouter):
        routes = [(pattern.source, _in_code(p)) for pattern, p in policy.routes]
        return CorsRouter(_in_code(policy.default), routes)
    return _in_code(policy)


def _in_code(policy: CorsPolicy) -> CorsPolicy:
    if policy.provenance.file is not None or policy.provenance.keywords:
        return policy
    return CorsPolicy.from_settings(policy.settings, IN_CODE)


def policy_from_file(path: str) -> CorsPolicy | CorsRouter:
    """The `[cors]` table (and its `[[cors.route]]` routes) of `path`, read and checked exactly
    as `minicors serve --config` reads them; the file's other tables are not used here."""
    settings = read_toml(path)
    cors = {key: value for key, value in settings.items() if key.startswith("cors.")}
    if not cors:
        raise ConfigError(
            f"config file {path} has no [cors] settings; add them, e.g. [cors] "
            'allow_origins = ["https://app.example.com"]'
        )
    return build_config(cors, file=path).cors
