"""Credentials the policy does not allow: an allowed cross-origin request that carries a
`Cookie` (or a browser-managed `Authorization`) under a policy without credentials, or under
`*`, is answered normally, and the browser then refuses the response (Fetch §"CORS check").
The server cannot change that, but its log can say so and name the fix, instead of showing a
clean 200 for a request the page never gets to read.
"""

from __future__ import annotations

import dataclasses

from .decision import CorsDecision
from .headers import show

NOTES_MAX = 1024  # noted decisions kept (per origin and kind); cleared when full
NOTE_MAX_ORIGIN_BYTES = 1024  # longer (hostile) origins are noted but not kept


class CredentialNotes:
    """Adds the log note to an allowed decision when the request carries credentials."""

    def __init__(self, *, star: bool) -> None:
        self._star = star  # the policy answers ACAO `*`
        self._kept: dict[tuple[bytes, str], CorsDecision] = {}

    def note(self, decision: CorsDecision, origin: bytes, h: dict[bytes, bytes]) -> CorsDecision:
        """`decision`, with the note when the browser will refuse the response.  Not for a
        same-origin request or a navigation, where no CORS check happens."""
        host = h.get(b"host")
        if host is not None and origin.partition(b"://")[2] == host.lower():
            return decision
        mode = h.get(b"sec-fetch-mode")
        if mode is not None and mode != b"cors":
            return decision
        if b"cookie" in h:
            what = "Cookie"
        else:
            # A script sets Authorization itself for a bearer token, which needs no credentials
            # mode; the browser adds it only for HTTP authentication (Basic, Digest, ...).
            scheme = h[b"authorization"].partition(b" ")[0].lower()
            if scheme == b"bearer":
                return decision
            what = "Authorization"
        key = (origin, what)
        noted = self._kept.get(key)
        if noted is None:
            reason = self._reason(origin, what)
            noted = dataclasses.replace(decision, reason=reason)
            if len(self._kept) >= NOTES_MAX:
                self._kept.clear()
            if len(origin) <= NOTE_MAX_ORIGIN_BYTES:
                self._kept[key] = noted
        return noted

    def _reason(self, origin: bytes, what: str) -> str:
        if self._star:
            # Fetch §"CORS check": ACAO `*` fails for a request whose credentials mode is
            # "include", whatever else the response says.
            return (
                f"cors: the request carries {what} (credentials: 'include'), which never works "
                "with Access-Control-Allow-Origin '*': the browser refuses the response; list "
                f"the origin: --allow-origin {show(origin.decode('latin-1'))} --allow-credentials"
            )
        if what == "Cookie":
            return (
                "cors: the request carries Cookie (credentials: 'include') and the policy sends "
                "no Access-Control-Allow-Credentials: the browser refuses the response; add "
                "--allow-credentials"
            )
        return (
            "cors: the request carries Authorization: if the browser added it (HTTP "
            "authentication, credentials: 'include'), it refuses the response without "
            "Access-Control-Allow-Credentials; add --allow-credentials"
        )
