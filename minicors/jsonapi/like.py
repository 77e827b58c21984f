"""`_like` patterns: a regular-expression subset matched in linear time, so no query can hang us.

Python's `re` backtracks: `.*.*x` against 1,000 characters already takes a second, so a hostile
`_like` would stall the whole server.  Here a pattern is parsed into a Thompson NFA and run as a
lazily built DFA (one dict lookup per character), in time O(len(pattern) x len(text)) at worst.
Matching is a case-insensitive *search* (json-server's `new RegExp(value, "i").test(...)`).

Supported: literals, `.`, `[...]`/`[^...]` with ranges, `\\d \\D \\w \\W \\s \\S \\b \\B`, escaped
punctuation, `^` `$`, groups `(...)` `(?:...)` `(?P<n>...)`, `|`, and `* + ? {m} {m,} {m,n}`
(a trailing `?` or `+` modifier is accepted; it changes nothing for a yes/no match).
Refused (400): back-references and look-arounds (no linear-time algorithm exists for them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

MAX_PATTERN_CHARS = 256  # longer patterns are refused: a filter is not a program
MAX_REPEAT = 100  # the largest m or n in {m,n}
MAX_STATES = 4_000  # NFA states after expanding counted repetition
MAX_CACHE = 20_000  # DFA transitions kept; past it the cache restarts (still linear)


class LikeError(ValueError):
    """A `_like` pattern that is malformed or outside the supported subset."""


Pred = Callable[[str], bool]


# --- syntax tree ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Char:
    pred: Pred  # one character that satisfies pred


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
        if not lo_text and comma and hi_text.isdigit():
            lo_text = "0"  # {,n} means {0,n}, as in Python's re
        if not lo_text.isdigit() or (hi_text and not hi_text.isdigit()):
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
        return _Char(_literal(ch))

    def escape(self) -> Node:
        ch = self.take()
        if ch in ("b", "B"):
            return _Assert(ch)
        if ch in CLASS_ESCAPES:
            return _Char(CLASS_ESCAPES[ch])
        if ch.isdigit() and ch != "0":
            raise LikeError("back-references are not supported in _like")
        if ch.isalnum():
            if ch in CHAR_ESCAPES:
                return _Char(_literal(CHAR_ESCAPES[ch]))
            raise LikeError(f"unknown escape \\{ch}")
        return _Char(_literal(ch))

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

        return pred


# --- Thompson NFA -----------------------------------------------------------------------------
CHAR, SPLIT, ASSERT, MATCH = range(4)


def _never(c: str) -> bool:
    return False


@dataclass(slots=True)
class _Nfa:
    """States as parallel arrays: kind, predicate (CHAR), assertion (ASSERT), two exits."""

    kinds: list[int] = field(default_factory=list)
    preds: list[Pred] = field(default_factory=list)
    asserts: list[str] = field(default_factory=list)
    out1: list[int] = field(default_factory=list)
    out2: list[int] = field(default_factory=list)

    def add(
        self, kind: int, out1: int = -1, out2: int = -1, *, pred: Pred = _never, assertion: str = ""
    ) -> int:
        if len(self.kinds) >= MAX_STATES:
            raise LikeError("pattern too complex (too many states after expanding repeats)")
        self.kinds.append(kind)
        self.preds.append(pred)
        self.asserts.append(assertion)
        self.out1.append(out1)
        self.out2.append(out2)
        return len(self.kinds) - 1

    def build(self, node: Node, out: int) -> int:
        """The entry state of `node`, whose exit leads to state `out` (built back to front)."""
        match node:
            case _Char(pred):
                return self.add(CHAR, out, pred=pred)
            case _Assert(kind):
                return self.add(ASSERT, out, assertion=kind)
            case _Cat(items):
                for item in reversed(items):
                    out = self.build(item, out)
                return out
            case _Alt(branches):
                entry = self.build(branches[-1], out)
                for branch in reversed(branches[:-1]):
                    entry = self.add(SPLIT, self.build(branch, out), entry)
                return entry
            case _Rep(sub, lo, hi):
                if hi is None:  # x{lo,} = x...x x*
                    loop = self.add(SPLIT, -1, out)
                    self.out1[loop] = self.build(sub, loop)
                    out = loop
                else:
                    for _ in range(hi - lo):  # optional copies: (x(x(x)?)?)?
                        out = self.add(SPLIT, self.build(sub, out), out)
                for _ in range(lo):
                    out = self.build(sub, out)
                return out


Context = tuple[bool, bool, bool, bool]  # at_start, at_end, previous char is word, next is word


class LikePattern:
    """A compiled `_like` pattern; `search(text)` says whether it matches anywhere in text.

    The DFA is built lazily: a DFA state is the set of NFA states reached after a character
    (its "kernel"); the step from (kernel, context, character) is computed once and cached.
    """

    __slots__ = ("_accepts", "_kernels", "_moves", "_nfa", "_sets", "_start", "pattern")

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_PATTERN_CHARS:
            raise LikeError(f"pattern longer than {MAX_PATTERN_CHARS} characters")
        self.pattern = pattern
        self._nfa = _Nfa()
        match = self._nfa.add(MATCH)
        self._start = self._nfa.build(_Parser(pattern).parse(), match)
        self._kernels: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._moves: dict[tuple[int, bool, bool, str], tuple[int, bool]] = {}
        self._accepts: dict[tuple[int, bool, bool], bool] = {}

    def _kernel_id(self, kernel: frozenset[int]) -> int:
        found = self._kernels.get(kernel)
        if found is None:
            found = self._kernels[kernel] = len(self._sets)
            self._sets.append(kernel)
        return found

    def _closure(self, kid: int, ctx: Context) -> set[int]:
        """NFA states reachable from kernel `kid` without reading a character."""
        at_start, at_end, prev_word, next_word = ctx
        nfa = self._nfa
        seen: set[int] = set()
        stack = list(self._sets[kid])
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            kind = nfa.kinds[s]
            if kind == SPLIT:
                stack += (nfa.out1[s], nfa.out2[s])
            elif kind == ASSERT:
                a = nfa.asserts[s]
                if (
                    (a == "^" and at_start)
                    or (a == "$" and at_end)
                    or (a == "b" and prev_word != next_word)
                    or (a == "B" and prev_word == next_word)
                ):
                    stack.append(nfa.out1[s])
        return seen

    def _step(self, kid: int, at_start: bool, prev_word: bool, c: str) -> tuple[int, bool]:
        """(next kernel id, whether a match ends just before c) for kernel `kid` reading c."""
        key = (kid, at_start, prev_word, c)
        found = self._moves.get(key)
        if found is not None:
            return found
        if len(self._moves) > MAX_CACHE:  # bounds memory; correctness does not depend on it
            self._moves.clear()
        nfa = self._nfa
        closure = self._closure(kid, (at_start, False, prev_word, _is_word(c)))
        targets = {nfa.out1[s] for s in closure if nfa.kinds[s] == CHAR and nfa.preds[s](c)}
        targets.add(self._start)  # a search may start at every position
        matched = any(nfa.kinds[s] == MATCH for s in closure)
        found = self._moves[key] = (self._kernel_id(frozenset(targets)), matched)
        return found

    def search(self, text: str) -> bool:
        kid = self._kernel_id(frozenset((self._start,)))
        at_start, prev_word = True, False
        for c in text.lower():
            kid, matched = self._step(kid, at_start, prev_word, c)
            if matched:
                return True
            at_start, prev_word = False, _is_word(c)
        key = (kid, at_start, prev_word)
        found = self._accepts.get(key)
        if found is None:
            closure = self._closure(kid, (at_start, True, prev_word, False))
            found = any(self._nfa.kinds[s] == MATCH for s in closure)
            if len(self._accepts) < MAX_CACHE:
                self._accepts[key] = found
        return found


def compile_like(pattern: str) -> LikePattern:
    """Compile a `_like` pattern, or raise `LikeError` saying what is wrong with it."""
    return LikePattern(pattern)
