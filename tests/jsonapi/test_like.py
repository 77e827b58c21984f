"""The `_like` matcher: same answers as Python's `re` (case-insensitive search), in linear time."""

from __future__ import annotations

import random
import re
import time

import pytest

from minicors.jsonapi.like import MAX_PATTERN_CHARS, LikeError, compile_like

AGREES_WITH_RE = [
    ("abc", "xxABCyy"),
    ("^ab", "abz"),
    ("^ab", "zab"),
    ("b$", "ab"),
    ("b$", "ba"),
    ("a.c", "abc"),
    ("a.c", "a\nc"),
    (r"[A-Z]+\d{2,3}$", "Item42"),
    (r"[A-Z]+\d{2,3}$", "Item4"),
    ("[^0-9]", "123"),
    ("[^0-9]", "12a"),
    (r"\bcat\b", "a cat!"),
    (r"\bcat\b", "concat"),
    (r"\Bat", "cat"),
    (r"\Bat", "at"),
    ("(foo|bar)baz", "xbarbaz"),
    ("(?:foo|bar)baz", "xbazbar"),
    ("(?P<word>ab)+$", "xabab"),
    ("colou?r", "COLOR"),
    ("x{2}", "axxb"),
    ("x{2}", "axb"),
    ("ba{,2}c", "bc"),
    ("ba{,2}c", "baaac"),
    ("a{2,}", "aa"),
    ("a{2,}", "a"),
    ("a{x", "a{x"),
    ("", "anything"),
    ("a|", "zzz"),
    ("[a-]", "-"),
    ("[]]", "]"),
    (r"[\d.]+%", "12.5%"),
    (r"\.", "a.b"),
    (r"\.", "ab"),
    ("é", "CAFÉ"),
    ("[a-z]", "Q"),
    ("[A-Z]", "q"),
    (r"\s\S", " x"),
    (r"\w\W", "a!"),
    ("a*?b", "aab"),
    ("(a*)*b", "a" * 12 + "c"),  # re is exponential here; kept short for re
]


@pytest.mark.parametrize(("pattern", "text"), AGREES_WITH_RE)
def test_same_answer_as_re(pattern: str, text: str) -> None:
    expected = re.search(pattern, text, re.IGNORECASE) is not None
    assert compile_like(pattern).search(text) is expected


REFUSED = [
    ("(a", "missing ')'"),
    ("a)", "unbalanced"),
    ("*a", "nothing to repeat"),
    ("a**", "multiple repeat"),
    ("^*", "nothing to repeat"),
    (r"(a)\1", "back-references"),
    ("(?=a)", "look-arounds"),
    ("(?i)a", "look-arounds and inline flags"),
    ("[z-a]", "bad character range"),
    ("a{5,2}", "min above max"),
    ("a{101}", "above 100"),
    (r"\q", "unknown escape"),
    ("[abc", "ends too early"),
    ("x" * (MAX_PATTERN_CHARS + 1), "longer than"),
    ("(" * 20 + "a{100}" + ")" + "{100}" * 1 + ")" * 19, "too complex"),
]


@pytest.mark.parametrize(("pattern", "reason"), REFUSED)
def test_refused_patterns_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(LikeError, match=re.escape(reason)):
        compile_like(pattern)


def test_random_patterns_agree_with_re() -> None:
    rnd = random.Random(20240501)
    atoms = ["a", "b", ".", "[ab]", "[^a]", r"\w", r"\d", "1", "^", "$", r"\b", "A"]

    def generate(depth: int) -> str:
        parts = []
        for _ in range(rnd.randint(1, 3)):
            if rnd.random() < 0.2 and depth < 2:
                alt = "|" + generate(depth + 1) if rnd.random() < 0.5 else ""
                atom = "(" + generate(depth + 1) + alt + ")"
            else:
                atom = rnd.choice(atoms)
            if atom not in ("^", "$", r"\b") and rnd.random() < 0.4:
                atom += rnd.choice(["*", "+", "?", "{1,2}", "{2}", "*?"])
            parts.append(atom)
        return "".join(parts)

    checked = 0
    for _ in range(1500):
        pattern = generate(0)
        text = "".join(rnd.choice("ab1 _A") for _ in range(rnd.randint(0, 8)))
        expected = re.search(pattern, text, re.IGNORECASE) is not None
        assert compile_like(pattern).search(text) is expected, (pattern, text)
        checked += 1
    assert checked == 1500


@pytest.mark.parametrize("pattern", [".*.*.*.*x", "(a*)*b", "(a|aa)+b", r"(\w+\s?)+!"])
def test_catastrophic_patterns_run_in_linear_time(pattern: str) -> None:
    # Python's re needs minutes to hours on these; the DFA reads each character once.
    text = "a" * 50_000
    start = time.perf_counter()
    assert compile_like(pattern).search(text) is False
    assert time.perf_counter() - start < 2.0
