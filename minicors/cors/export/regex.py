"""Python regular expressions re-spelt for nginx (PCRE2) and Caddy (Go's RE2), or refused.

The engine matches origins with Python's `re`; an export must accept exactly the same origins.
Copying the pattern text would not do that: `{,3}` is a literal in PCRE2 before 10.43 and a
repeat in Python, `(?P<n>...)` and `\\Z` differ between the three.  So the pattern is parsed
with Python's own parser and written again from the tree, in a subset that PCRE, RE2 and Python
read the same way: every literal that is not a letter or digit as `\\xHH`, groups re-numbered in
the same order, case-insensitivity as scoped `(?i:...)`.  What a target lacks (RE2 has no
backreferences, lookaround, possessive or atomic groups, nor repeats above 1000) is refused with
the reason, never approximated.

The exported expressions only ever see what passed the origin grammar (`origin_grammar`): the
characters `a-z 0-9 + . - : / [ ]`.  On that alphabet Python's Unicode classes (`\\d`, `\\w`,
`\\s`), `.` and `$` agree with PCRE's and RE2's ASCII ones, which is why they can be re-spelt.
"""

from __future__ import annotations

import re._constants as C  # type: ignore[import-not-found]  # the parser's words
import re._parser as sre_parse  # type: ignore[import-not-found]  # re's own parser
import warnings
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError

RE2_MAX_REPEAT = 1000  # Go regexp/syntax: a counted repeat above 1000 does not compile


@dataclass(frozen=True, slots=True)
class Flavour:
    """What the target's regex engine can do."""

    name: str  # "nginx" or "Caddy"
    lookaround: bool  # lookahead/lookbehind, backreferences, conditionals
    possessive: bool  # possessive repeats and atomic groups
    max_repeat: int | None


PCRE = Flavour("nginx", lookaround=True, possessive=True, max_repeat=None)
RE2 = Flavour("Caddy", lookaround=False, possessive=False, max_repeat=RE2_MAX_REPEAT)

END = r"\z"  # end of subject, in both PCRE and RE2 (`$` would also match before a final "\n")


SAFE = frozenset(":/_-,=%@!~<>;&")  # literal as themselves in PCRE, RE2 and Python


def char(code: int, what: str, *, in_class: bool = False) -> str:
    """One literal character: letters, digits and SAFE as themselves (SAFE not in a class,
    where `-` means a range), `.` as `\\.`, the rest as `\\xHH`."""
    if code > 0x7F:
        raise ConfigError(
            f"{what} has the non-ASCII character {chr(code)!r}, which Python's re folds "
            "case differently from nginx/Caddy (no origin a browser sends has one): remove it"
        )
    c = chr(code)
    if c.isalnum() or (c in SAFE and not in_class):
        return c
    return "\\." if c == "." and not in_class else f"\\x{code:02x}"


_CATEGORY = {
    # Python's str classes restricted to ASCII (the only characters an origin can hold).
    C.CATEGORY_DIGIT: "0-9",
    C.CATEGORY_WORD: "0-9A-Za-z_",
    C.CATEGORY_SPACE: r"\x09-\x0d\x1c-\x20",
}
_NOT_CATEGORY = {
    C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT,
    C.CATEGORY_NOT_WORD: C.CATEGORY_WORD,
    C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE,
}


class _Writer:
    def __init__(self, flavour: Flavour, what: str) -> None:
        self.flavour = flavour
        self.what = what

    def refuse(self, feature: str) -> ConfigError:
        return ConfigError(
            f"{self.what} uses {feature}, which {self.flavour.name}'s regular expressions do "
            f"not have: rewrite it without {feature} to export to {self.flavour.name}"
        )

    def seq(self, items: Any) -> str:
        return "".join(self.node(op, av) for op, av in items)

    def klass(self, items: Any) -> str:
        negate = False
        parts: list[str] = []
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                parts.append(char(av, self.what, in_class=True))
            elif op is C.RANGE:
                low, high = (char(c, self.what, in_class=True) for c in av)
                parts.append(f"{low}-{high}")
            elif op is C.CATEGORY and av in _CATEGORY:
                parts.append(_CATEGORY[av])
            elif op is C.CATEGORY and av in _NOT_CATEGORY and len(items) == 1:
                return f"[^{_CATEGORY[_NOT_CATEGORY[av]]}]"
            else:
                raise self.refuse(f"the character class item {op}")
        return ("[^" if negate else "[") + "".join(parts) + "]"

    def repeat(self, op: Any, av: Any) -> str:
        low, high, items = av
        top = self.flavour.max_repeat
        if top is not None and (low > top or (high != C.MAXREPEAT and high > top)):
            raise self.refuse(f"a repeat count above {top}")
        if high == C.MAXREPEAT:
            count = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
        elif low == high:
            count = f"{{{low},{low}}}"  # never `{n}`: Caddy would read it as a placeholder
        elif (low, high) == (0, 1):
            count = "?"
        else:
            count = f"{{{low},{high}}}"
        if op is C.MIN_REPEAT:
            count += "?"
        elif op is not C.MAX_REPEAT:  # POSSESSIVE_REPEAT (Python 3.11)
            if not self.flavour.possessive:
                raise self.refuse("a possessive repeat")
            count += "+"
        return f"(?:{self.seq(items)}){count}"

    def node(self, op: Any, av: Any) -> str:  # one case per node kind
        if op is C.LITERAL:
            return char(av, self.what)
        if op is C.NOT_LITERAL:
            return f"[^{char(av, self.what, in_class=True)}]"
        if op is C.ANY:
            return "."
        if op is C.IN:
            return self.klass(av)
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(b) for b in av[1]) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT) or op.name == "POSSESSIVE_REPEAT":
            return self.repeat(op, av)
        if op is C.SUBPATTERN:
            group, add, remove, items = av
            flags = ("i" if add & C.SRE_FLAG_IGNORECASE else "") + (
                "-i" if remove & C.SRE_FLAG_IGNORECASE else ""
            )
            inner = self.seq(items)
            if flags:
                inner = f"(?{flags}:{inner})"
            return f"({inner})" if group is not None else f"(?:{inner})"
        if op.name == "ATOMIC_GROUP":
            if not self.flavour.possessive:
                raise self.refuse("an atomic group")
            return f"(?>{self.seq(av)})"
        if op is C.AT:
            return self.anchor(av)
        if op is C.GROUPREF:
            if not self.flavour.lookaround:
                raise self.refuse("a backreference")
            return f"(?:\\{av})"
        if op in (C.ASSERT, C.ASSERT_NOT):
            if not self.flavour.lookaround:
                raise self.refuse("lookahead or lookbehind")
            direction, items = av
            kind = ("=" if op is C.ASSERT else "!") if direction > 0 else (
                "<=" if op is C.ASSERT else "<!"
            )  # fmt: skip
            return f"(?{kind}{self.seq(items)})"
        if op is C.GROUPREF_EXISTS:
            if not self.flavour.lookaround:
                raise self.refuse("a conditional group")
            group, yes, no = av
            return f"(?({group}){self.seq(yes)}|{self.seq(no or [])})"
        raise self.refuse(f"the construct {op}")

    def anchor(self, at: Any) -> str:
        if at in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
            return r"\A"  # no "\n" in an origin: `^` and `\A` agree
        if at in (C.AT_END, C.AT_END_STRING):
            return END
        if at is C.AT_BOUNDARY:
            return r"\b"
        if at is C.AT_NON_BOUNDARY:
            return r"\B"
        raise self.refuse(f"the anchor {at}")


def translate(pattern: str, flavour: Flavour, what: str) -> str:
    """`pattern` (Python syntax) as an unanchored expression of `flavour`, or ConfigError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the parser warns of nested set syntax; re does too
        tree = sre_parse.parse(pattern)
    body = _Writer(flavour, what).seq(tree)
    if tree.state.flags & C.SRE_FLAG_IGNORECASE:
        body = f"(?i:{body})"
    return body


def full(body: str) -> str:
    """`body` anchored at both ends (Python's `fullmatch`)."""
    return rf"\A(?:{body}){END}"


def for_python(exported: str) -> str:
    """An exported expression in Python's syntax (for tests): only `\\z` differs."""
    return exported.replace(r"\z", r"\Z")
