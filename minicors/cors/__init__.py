"""The CORS policy engine: pure values in, decisions with reasons out.

`CorsPolicy` decides one request (and answers preflights), `CorsRouter` picks a policy per
path, `explain` plays the browser for `minicors check`.  Nothing here knows sockets or bytes on
the wire; the server asks, the app applies the answer.
"""

from __future__ import annotations

from .advice import Provenance
from .check import CheckQuery, CheckResult, explain, summary, unexposed_fix
from .decision import CorsDecision, CorsKind
from .export import export_policy
from .policy import CorsPolicy
from .routes import CorsRouter
from .settings import DEFAULT_EXPOSE, DEFAULT_METHODS, CorsSettings

__all__ = [
    "DEFAULT_EXPOSE",
    "DEFAULT_METHODS",
    "CheckQuery",
    "CheckResult",
    "CorsDecision",
    "CorsKind",
    "CorsPolicy",
    "CorsRouter",
    "CorsSettings",
    "Provenance",
    "explain",
    "export_policy",
    "summary",
    "unexposed_fix",
]
