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
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from .like_syntax import (
    MAX_REPEAT,
    LikeError,
    Node,
    Pred,
    _Alt,
    _Assert,
    _Cat,
    _Char,
    _is_word,
    _Parser,
    _Rep,
)

__all__ = [
    "MAX_REPEAT",
    "LikeError",
    "LikePattern",
    "LikeTooCostly",
    "compile_like",
    "spend",
    "within_budget",
]

MAX_PATTERN_CHARS = 256  # longer patterns are refused: a filter is not a program
MAX_STATES = 4_000  # NFA states after expanding counted repetition
MAX_CACHE = 20_000  # DFA transitions kept; past it the cache restarts (still linear)
# DFA states (sets of NFA states, up to MAX_STATES each) kept at once: past it the DFA is
# forgotten and rebuilt.  Some patterns need a new DFA state at almost every character
# (`(a.{99}|b.{99})*z`: ~8 KB each); after MAX_DFA_RESETS rebuilds in one request the pattern
# is refused, which bounds both memory and work.
MAX_DFA_STATES = 1_000
MAX_DFA_RESETS = 8
# Work the `_like`s of one query may do on the event loop (NFA states compiled, characters
# read, NFA states visited while building DFA states): about 5 ms here.  A query over a small
# list tries there first, since handing it to a worker thread costs more than the query; past
# the budget it starts over in the thread, so no pattern or text can hold up other requests
# for longer than that.
INLINE_STEPS = 20_000


class LikeTooCostly(Exception):
    """The budget of `within_budget` is spent: run the query again off the event loop."""


@dataclass(slots=True)
class _Budget:
    left: int


_BUDGET: ContextVar[_Budget | None] = ContextVar("like_budget", default=None)
P = ParamSpec("P")
R = TypeVar("R")


def within_budget(call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`call(...)`, every `_like` in it limited to INLINE_STEPS in all (LikeTooCostly past it)."""
    token = _BUDGET.set(_Budget(INLINE_STEPS))
    try:
        return call(*args, **kwargs)
    finally:
        _BUDGET.reset(token)


def spend(steps: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.left -= steps
        if budget.left < 0:
            raise LikeTooCostly


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
    weights: list[int] = field(default_factory=list)  # a CHAR state's test, in budget steps

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
        self.weights.append(getattr(pred, "weight", 0) if kind == CHAR else 0)
        return len(self.kinds) - 1

    def build(self, node: Node, out: int) -> int:
        """The entry state of `node`, whose exit leads to state `out` (built back to front)."""
        match node:
            case _Char(pred, _):
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

    __slots__ = (
        "_accepts",
        "_anchored",
        "_kernels",
        "_moves",
        "_nfa",
        "_prefix",
        "_resets",
        "_sets",
        "_start",
        "_start_set",
        "pattern",
    )

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_PATTERN_CHARS:
            raise LikeError(f"pattern longer than {MAX_PATTERN_CHARS} characters")
        self.pattern = pattern
        self._nfa = _Nfa()
        match = self._nfa.add(MATCH)
        tree = _Parser(pattern).parse()
        self._start = self._nfa.build(tree, match)
        self._prefix = _anchored_prefix(tree)
        self._start_set = frozenset((self._start,))
        self._kernels: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._moves: dict[tuple[int, bool, bool, str], tuple[int, bool]] = {}
        self._accepts: dict[tuple[int, bool, bool], bool] = {}
        self._resets = 0
        # Whether every match must start at the beginning of the text (`^ab`): then once past
        # the first character with nothing but the start state left, no match can follow.
        self._anchored = not any(
            self._nfa.kinds[s] in (CHAR, MATCH)
            for at_end in (False, True)
            for prev_word in (False, True)
            for next_word in (False, True)
            for s in self._closure_of(self._start_set, (False, at_end, prev_word, next_word))
        )
        spend(9 * len(self._nfa.kinds))  # compiling: the NFA, then eight closures of it

    def _kernel_id(self, kernel: frozenset[int]) -> int:
        found = self._kernels.get(kernel)
        if found is None:
            if len(self._sets) >= MAX_DFA_STATES:
                self._forget()
            found = self._kernels[kernel] = len(self._sets)
            self._sets.append(kernel)
        return found

    def _forget(self) -> None:
        """Drop the DFA built so far (ids restart, so every cache keyed by them goes too)."""
        self._resets += 1
        if self._resets > MAX_DFA_RESETS:
            raise LikeError(
                f"pattern too complex for this data (its automaton needs more than "
                f"{MAX_DFA_STATES * MAX_DFA_RESETS} states); simplify the repetitions"
            )
        self._kernels.clear()
        self._sets.clear()
        self._moves.clear()
        self._accepts.clear()

    def _closure(self, kid: int, ctx: Context) -> set[int]:
        """NFA states reachable from kernel `kid` without reading a character."""
        return self._closure_of(self._sets[kid], ctx)

    def _closure_of(self, kernel: frozenset[int], ctx: Context) -> set[int]:
        at_start, at_end, prev_word, next_word = ctx
        nfa = self._nfa
        seen: set[int] = set()
        stack = list(kernel)
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
        weights = nfa.weights
        spend(len(closure) + sum(weights[s] for s in closure))
        targets = {nfa.out1[s] for s in closure if nfa.kinds[s] == CHAR and nfa.preds[s](c)}
        targets.add(self._start)  # a search may start at every position
        matched = any(nfa.kinds[s] == MATCH for s in closure)
        resets = self._resets
        found = (self._kernel_id(frozenset(targets)), matched)
        if resets == self._resets:  # after a reset, `kid` in `key` means another state
            self._moves[key] = found
        return found

    @property
    def prefix(self) -> str:
        """What every matching text starts with once lower-cased ("" when not anchored)."""
        return self._prefix

    def search(self, text: str) -> bool:
        """Whether the pattern matches in `text`; `LikeError` if its automaton grows too big."""
        spend(1 + len(text) // 16)  # the call and `lower()`, whether the prefix holds or not
        lowered = text.lower()
        if not lowered.startswith(self._prefix):
            return False  # `^ab...`: decided at C speed, without the automaton
        spend(len(lowered))
        kid = self._kernel_id(self._start_set)
        at_start, prev_word = True, False
        for c in lowered:
            kid, matched = self._step(kid, at_start, prev_word, c)
            if matched:
                return True
            if self._anchored and self._sets[kid] == self._start_set:
                return False  # past the start with only the start state: `^` can never hold
            at_start, prev_word = False, _is_word(c)
        key = (kid, at_start, prev_word)
        found = self._accepts.get(key)
        if found is None:
            closure = self._closure(kid, (at_start, True, prev_word, False))
            found = any(self._nfa.kinds[s] == MATCH for s in closure)
            if len(self._accepts) < MAX_CACHE:
                self._accepts[key] = found
        return found


def _anchored_prefix(tree: Node) -> str:
    """The literal characters every match must start the text with (`^ab` gives "ab")."""
    items = tree.items if isinstance(tree, _Cat) else (tree,)
    if not items or items[0] != _Assert("^"):
        return ""
    prefix = []
    for item in items[1:]:
        if not isinstance(item, _Char) or len(item.literal) != 1:
            break
        prefix.append(item.literal)
    return "".join(prefix)


def compile_like(pattern: str) -> LikePattern:
    """Compile a `_like` pattern, or raise `LikeError` saying what is wrong with it."""
    return LikePattern(pattern)
