"""The syntax of `_like` patterns (see like.py): parsed into a small tree of nodes.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_REPEAT = 100  # the largest m or n in {m,n}


class LikeError(ValueError):
    """A `_like` pattern that is malformed or outside the supported subset."""


Pred = Callable[[str], bool]


# --- syntax tree ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Char:
    pred: Pred  # one character that satisfies pred
    literal: str = ""  # the one (lower-case) character pred accepts, when that is all it is


@dataclass(frozen=True, slots=True)
class _Assert:
    kind: str  # "^", "$", "b" or "B": a test between two characters


@dataclass(frozen=True, slots=True)
class _Cat:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:
    branches: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class _Rep:
    node: Node
    lo: int
    hi: int | None  # None: unbounded


Node = _Char | _Assert | _Cat | _Alt | _Rep


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _not_newline(c: str) -> bool:
    return c != "\n"


CLASS_ESCAPES: dict[str, Pred] = {
    "d": str.isdecimal,
    "D": lambda c: not c.isdecimal(),
    "w": _is_word,
    "W": lambda c: not _is_word(c),
    "s": str.isspace,
    "S": lambda c: not c.isspace(),
}
CHAR_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}


def _digits(text: str) -> bool:
    # ASCII only: str.isdigit() also accepts "²", which int() refuses.  Bounded for int().
    return text.isascii() and text.isdigit() and len(text) <= 9


def _literal(ch: str) -> Pred:
    low = ch.lower()
    return lambda c: c == low  # the text is lower-cased before matching


@dataclass(slots=True)
class _Parser:
    text: str
    pos: int = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        ch = self.peek()
        if not ch:
            raise LikeError("pattern ends too early")
        self.pos += 1
        return ch

    def parse(self) -> Node:
        node = self.alternation()
        if self.pos < len(self.text):
            raise LikeError(f"unbalanced ')' at position {self.pos}")
        return node

    def alternation(self) -> Node:
        branches = [self.concatenation()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.concatenation())
        return branches[0] if len(branches) == 1 else _Alt(tuple(branches))

    def concatenation(self) -> Node:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            items.append(self.quantified(atom))
        return _Cat(tuple(items))

    def quantified(self, atom: Node) -> Node:
        bounds = self.quantifier()
        if bounds is None:
            return atom
        if isinstance(atom, _Assert):
            raise LikeError(f"nothing to repeat before position {self.pos}")
        if self.peek() in ("?", "+"):  # lazy / possessive: same yes/no answer
            self.pos += 1
        if self.quantifier(peek_only=True):
            raise LikeError(f"multiple repeat at position {self.pos}")
        return _Rep(atom, bounds[0], bounds[1])

    def quantifier(self, *, peek_only: bool = False) -> tuple[int, int | None] | None:
        ch = self.peek()
        simple = {"*": (0, None), "+": (1, None), "?": (0, 1)}
        if ch in simple:
            if not peek_only:
                self.pos += 1
            return simple[ch]
        if ch != "{":
            return None
        end = self.text.find("}", self.pos)
        body = self.text[self.pos + 1 : end] if end > 0 else ""
        lo_text, comma, hi_text = body.partition(",")
        if not lo_text and comma and _digits(hi_text):
            lo_text = "0"  # {,n} means {0,n}, as in Python's re
        if not _digits(lo_text) or (hi_text and not _digits(hi_text)):
            return None  # like Python's re: a "{" that is no quantifier is a literal
        lo, hi = int(lo_text), (int(hi_text) if hi_text else None if comma else int(lo_text))
        if lo > MAX_REPEAT or (hi is not None and hi > MAX_REPEAT):
            raise LikeError(f"repetition count above {MAX_REPEAT}")
        if hi is not None and hi < lo:
            raise LikeError(f"bad repetition {{{body}}}: min above max")
        if not peek_only:
            self.pos = end + 1
        return lo, hi

    def atom(self) -> Node:
        ch = self.take()
        if ch == "(":
            if self.text.startswith("?:", self.pos):
                self.pos += 2
            elif self.text.startswith("?P<", self.pos):
                close = self.text.find(">", self.pos)
                if close < 0:
                    raise LikeError("unterminated group name")
                self.pos = close + 1
            elif self.peek() == "?":
                raise LikeError("look-arounds and inline flags are not supported in _like")
            inner = self.alternation()
            if self.peek() != ")":
                raise LikeError("missing ')'")
            self.pos += 1
            return inner
        if ch == "[":
            return _Char(self.char_class())
        if ch == ".":
            return _Char(_not_newline)
        if ch == "^":
            return _Assert("^")
        if ch == "$":
            return _Assert("$")
        if ch == "\\":
            return self.escape()
        if ch in "*+?":
            raise LikeError(f"nothing to repeat at position {self.pos - 1}")
        return _Char(_literal(ch), ch.lower())

    def escape(self) -> Node:
        ch = self.take()
        if ch in ("b", "B"):
            return _Assert(ch)
        if ch in CLASS_ESCAPES:
            return _Char(CLASS_ESCAPES[ch])
        if "1" <= ch <= "9":
            raise LikeError("back-references are not supported in _like")
        if ch.isalnum():
            if ch in CHAR_ESCAPES:
                return _Char(_literal(CHAR_ESCAPES[ch]), CHAR_ESCAPES[ch])
            raise LikeError(f"unknown escape \\{ch}")
        return _Char(_literal(ch), ch.lower())

    def char_class(self) -> Pred:
        negate = self.peek() == "^"
        if negate:
            self.pos += 1
        singles: set[str] = set()
        ranges: list[tuple[str, str]] = []
        preds: list[Pred] = []
        first = True
        while True:
            ch = self.take()
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\":
                esc = self.take()
                if esc in CLASS_ESCAPES:
                    preds.append(CLASS_ESCAPES[esc])
                    continue
                ch = CHAR_ESCAPES.get(esc, esc)
            if self.peek() == "-" and self.text[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                high = self.take()
                if high == "\\":
                    high = self.take()
                if high < ch:
                    raise LikeError(f"bad character range {ch}-{high}")
                ranges.append((ch, high))
            else:
                singles.add(ch)

        def member(c: str) -> bool:
            return (
                c in singles or any(lo <= c <= hi for lo, hi in ranges) or any(p(c) for p in preds)
            )

        # The text is lower-cased, so a class written in capitals must also accept c.upper().
        def pred(c: str) -> bool:
            return (member(c) or member(c.upper())) != negate

        # What one test costs against the event-loop budget (like.INLINE_STEPS): each range
        # and named class is tried in Python, for c and for c.upper().
        pred.weight = 2 * (1 + len(ranges) + len(preds))  # type: ignore[attr-defined]
        return pred
