"""`minicors export`: one CORS policy written as another server's configuration.

Pure functions: a `CorsPolicy` (plus where it came from) in, the text of an nginx.conf or a
Caddyfile out, or a ConfigError naming the setting the target cannot express exactly.
"""

from __future__ import annotations

from ...errors import ConfigError
from ..policy import CorsPolicy
from .caddy import caddyfile
from .nginx import nginx_conf
from .plan import make_plan
from .regex import PCRE, RE2

TARGETS = ("nginx", "caddy")


def export_policy(
    target: str, policy: CorsPolicy, *, upstream: str, listen: str, version: str, source: str
) -> str:
    """The configuration of `policy` for `target` ("nginx" or "caddy")."""
    if target not in TARGETS:
        raise ConfigError(f"unknown export target {target!r}: use one of {', '.join(TARGETS)}")
    tool = "nginx" if target == "nginx" else "Caddy"
    comment = "\n".join(
        f"# {line}".rstrip()
        for line in (
            f"{tool} configuration exported by minicors {version} (`minicors export {target}`).",
            f"CORS policy from: {source}.",
            "It answers every CORS request as `minicors serve` does with this policy: the same",
            "status for preflights, the same Access-Control-* headers and Vary.  Regenerate it",
            "when the policy changes rather than editing it.",
            f"Requests other than preflights go to {upstream}.",
            "Access-Control-Request-Headers is echoed as sent (one listed name is lower-cased);",
            "browsers send it lower-cased, sorted and without repeats (Fetch).",
        )
    )
    if target == "nginx":
        return nginx_conf(make_plan(policy, PCRE), upstream=upstream, listen=listen, header=comment)
    return caddyfile(make_plan(policy, RE2), upstream=upstream, listen=listen, header=comment)


__all__ = ["TARGETS", "export_policy"]
