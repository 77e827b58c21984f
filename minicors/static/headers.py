"""The user's headers on static answers (`--header`, `[headers]`), chosen per URL path.

The rules are compiled once; the headers for one path are chosen once and memoised by the
path's canonical spelling (the spelling the `[[cors.route]]` globs match too), so an answer
then costs one dict lookup and one tuple join.  A rule's header replaces the answer's own
header of that name (`Cache-Control`, say): the user asked for that value on that path.
"""

from __future__ import annotations

import dataclasses

from ..extraheaders import HeaderRule, compile_rules
from ..messages import HeaderList, Response
from .opener import MEMO_MAX


class ExtraHeaders:
    """Adds the matching rules' headers to a response; a later rule wins over an earlier one
    for the same name (so a `[headers."/wasm/**"]` value replaces the `[headers]` one)."""

    def __init__(self, rules: tuple[HeaderRule, ...]) -> None:
        self._rules = compile_rules(rules)  # ConfigError for a bad rule, with the fix
        # canonical path -> (the names set, the headers in order)
        self._memo: dict[str, tuple[frozenset[bytes], HeaderList]] = {}

    def for_path(self, canonical: str) -> tuple[frozenset[bytes], HeaderList]:
        """The names and headers the rules give the path `canonical` (`Target.canonical`)."""
        known = self._memo.get(canonical)
        if known is not None:
            return known
        chosen: dict[bytes, bytes] = {}
        for glob, name, value in self._rules:
            if glob.matches(canonical):
                chosen[name] = value
        known = (frozenset(chosen), tuple(chosen.items()))
        if len(self._memo) >= MEMO_MAX:
            self._memo.clear()
        self._memo[canonical] = known
        return known

    def apply(self, canonical: str, response: Response) -> Response:
        """`response` with the headers for `canonical`, replacing its own of the same names."""
        names, extra = self.for_path(canonical)
        if not extra:
            return response
        own = tuple(field for field in response.headers if field[0] not in names)
        return dataclasses.replace(response, headers=own + extra)
