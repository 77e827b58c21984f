"""Fixes for a refused cross-origin request, worded for where the policy was set.

A fix is a list of `Change`s to the policy's settings, rendered as the thing the user does:
flags (`add --allow-method +PATCH`) when the setting is the default or came from the command
line, an edit of the config file (`in cors.toml, set allow_methods = [...] under [cors]`) when
the policy lives there, the keyword argument to change (`add 'PATCH' to allow_methods`) when it
was built in code for the ASGI middleware.  `apply` is what following the text does, so
`minicors check` can verify each fix by simulating again, and the words and the simulation
cannot drift apart.

Following a fix never drops a default: a list setting still at its default is extended with a
`+` value (`--allow-method +PATCH` = the default methods and PATCH), never replaced.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .origins import parse_request_origin
from .settings import NORMALISED_METHODS, PLUS, CorsSettings

FLAGS = {
    "allow_origins": "--allow-origin",
    "allow_methods": "--allow-method",
    "allow_headers": "--allow-header",
    "expose_headers": "--expose-header",
    "allow_credentials": "--allow-credentials",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Where a policy's settings were given.  `file` None: flags and defaults only."""

    file: str | None = None
    table: str = "[cors]"  # or '[[cors.route]] path = "/api/**"'
    from_file: frozenset[str] = frozenset()  # CorsSettings field names set in that table
    from_flags: frozenset[str] = frozenset()  # field names set by flags ([cors] policy only)
    keywords: bool = False  # given as keyword arguments in code (the ASGI middleware)

    @property
    def is_route(self) -> bool:
        return self.table != "[cors]"

    def in_file(self, setting: str) -> bool:
        """Whether a fix of `setting` is an edit of the file (else: flags)."""
        if self.file is None:
            return False
        return self.is_route or setting not in self.from_flags

    def label(self) -> str:
        """The policy's name in `minicors check`'s report."""
        if self.keywords:
            return "from keyword arguments in code"
        if self.file is None:
            return "from the command line (defaults where no flag is given)"
        where = f"{self.table} in {self.file}"
        if self.from_flags and not self.is_route:
            flags = ", ".join(
                sorted(FLAGS.get(s, "--" + s.replace("_", "-")) for s in self.from_flags)
            )
            where += f", with {flags} from the command line"
        return where


COMMAND_LINE = Provenance()


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One setting changed: a list setting gets `add` appended (and `drop` removed), a
    boolean setting becomes `value`."""

    setting: str
    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    value: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Advice:
    """A fix: server-side `changes`, or a change to the page (`page_method`: the method the
    page should write), with the text that says it and an alternative when there is one."""

    text: str
    changes: tuple[Change, ...] = ()
    page_method: str | None = None
    alternative: Advice | None = None


_DEFAULTS = CorsSettings()


def _given(settings: CorsSettings, setting: str, provenance: Provenance) -> bool:
    """Whether `setting` holds values someone wrote (else it is at its default).  A policy
    built in code has no record of its flags: a value other than the default was given."""
    if provenance.keywords:
        return True  # keywords replace their defaults: nothing to extend with "+"
    if provenance.in_file(setting):
        return setting in provenance.from_file
    changed = getattr(settings, setting) != getattr(_DEFAULTS, setting)
    return setting in provenance.from_flags or changed


def apply(
    settings: CorsSettings, provenance: Provenance, changes: Sequence[Change]
) -> tuple[CorsSettings, Provenance]:
    """The settings after the user follows `render(changes)`, and where they now live."""
    for change in changes:
        name = change.setting
        value: Any
        if change.value is not None:
            value = change.value
        elif _given(settings, name, provenance):
            current: Sequence[str] = getattr(settings, name) or ()
            value = (*(v for v in current if v.strip() not in change.drop), *change.add)
        else:
            value = tuple(PLUS + a for a in change.add)
        settings = dataclasses.replace(settings, **{name: value})
        if provenance.in_file(name):
            provenance = dataclasses.replace(provenance, from_file=provenance.from_file | {name})
        else:
            provenance = dataclasses.replace(provenance, from_flags=provenance.from_flags | {name})
    return settings, provenance


def render(settings: CorsSettings, provenance: Provenance, changes: Sequence[Change]) -> str:
    """What the user does to make `changes`."""
    if provenance.keywords:
        return _keyword_text(changes)
    after, _ = apply(settings, provenance, changes)
    flag_parts: list[str] = []
    file_parts: list[str] = []
    for change in changes:
        name = change.setting
        if provenance.in_file(name):
            file_parts.append(f"{name} = {_toml(getattr(after, name))}")
            continue
        flag = FLAGS[name]
        if change.value is not None:
            flag_parts.append(f"add {flag}" if change.value else f"drop {flag}")
            continue
        prefix = "" if _given(settings, name, provenance) else PLUS
        added = " ".join(f"{flag} {shlex.quote(prefix + a)}" for a in change.add)
        if change.drop:
            dropped = " ".join(f"{flag} {shlex.quote(d)}" for d in change.drop)
            flag_parts.append(f"replace {dropped} with {added}")
        else:
            flag_parts.append(f"add {added}")
    parts = [_join_flags(flag_parts)] if flag_parts else []
    if file_parts:
        parts.append(
            f"in {provenance.file}, set {' and '.join(file_parts)} under {provenance.table}"
        )
    return "; and ".join(parts)


def _keyword_text(changes: Sequence[Change]) -> str:
    """`changes` as edits of the keyword arguments the policy was given in code."""
    parts: list[str] = []
    for change in changes:
        name = change.setting
        added = ", ".join(repr(a) for a in change.add)
        if change.value is not None:
            parts.append(f"pass {name}={change.value}")
        elif change.drop:
            dropped = ", ".join(repr(d) for d in change.drop)
            parts.append(f"replace {dropped} with {added} in {name}")
        else:
            parts.append(f"add {added} to {name}")
    return "; and ".join(parts)


def _join_flags(parts: list[str]) -> str:
    """`add --a x` + `add --b` -> `add --a x --b` (one command line to type)."""
    out = parts[0]
    for part in parts[1:]:
        out += " " + part.removeprefix("add ") if part.startswith("add ") else f", and {part}"
    return out


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def fix_for(
    refused: str,
    *,
    settings: CorsSettings,
    provenance: Provenance,
    any_origin: bool,
    methods: Sequence[str],
    origin: str,
    method: str,
    bad_headers: Sequence[str] = (),
    any_header: bool = False,
) -> Advice | str:
    """The first fix for a refusal of kind `refused` ("origin", "method", "header",
    "credentials", "star-credentials"), or a sentence saying why no setting can fix it."""

    def advice(*changes: Change, note: str = "") -> Advice:
        return Advice(text=render(settings, provenance, changes) + note, changes=changes)

    if refused in ("star-credentials", "credentials") and any_origin:
        return advice(
            Change(setting="allow_origins", add=(origin,), drop=("*",)),
            Change(setting="allow_credentials", value=True),
            note=" ('*' never works with credentials: list the origin)",
        )
    if refused == "credentials":
        return advice(Change(setting="allow_credentials", value=True))
    if refused == "origin":
        if origin != "null" and isinstance(parse_request_origin(origin), str):
            return ""  # not an origin a page can have: no setting could name it
        note = ""
        if origin == "null":
            note = " (this trusts every sandboxed iframe and file: page; prefer a real origin)"
        return advice(Change(setting="allow_origins", add=(origin,)), note=note)
    if refused == "method":
        server = advice(Change(setting="allow_methods", add=(method,)))
        upper = method.upper()
        if method != upper and upper in methods and upper not in NORMALISED_METHODS:
            # Fetch §"normalize a method": fetch() upper-cases only six methods; `patch` is
            # sent as it is, and a preflight compares methods byte for byte.
            page = (
                f"in the page, write the method as '{upper}': fetch() upper-cases only "
                f"DELETE, GET, HEAD, OPTIONS, POST and PUT, so '{method}' is sent as it is "
                "and methods compare case-sensitively"
            )
            return Advice(text=page, page_method=upper, alternative=server)
        return server
    if refused == "header" and bad_headers:
        note = (
            " ('*' never covers Authorization)"
            if "authorization" in bad_headers and any_header
            else ""
        )
        return advice(Change(setting="allow_headers", add=tuple(bad_headers)), note=note)
    return ""


def advice_lines(advice: Advice | str) -> str:
    """`advice` as the text lines a refusal ends with: "fix: ...", then "or: ..."."""
    if isinstance(advice, str):
        return ""
    text = f"fix: {advice.text}\n"
    if advice.alternative is not None:
        text += f"or: {advice.alternative.text}\n"
    return text
