"""A `_like` over a small list runs on the event loop within a budget (a worker thread costs
more than such a query), and starts over in the thread once the budget is spent: no pattern or
text keeps the other requests waiting for longer than the budget."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from minicors.jsonapi import JsonApi
from minicors.jsonapi.like import INLINE_STEPS, LikeTooCostly, compile_like, within_budget
from minicors.options import ApiOptions

from .test_holes import HUGE, send
from .test_review_holes import body


def test_a_search_within_the_budget_answers_as_without_one() -> None:
    pattern = compile_like("b.*z")
    text = "a" * (INLINE_STEPS // 2) + "bz"
    assert within_budget(pattern.search, text) is True
    assert within_budget(compile_like("^ab").search, text) is False


def test_a_long_text_spends_the_budget_before_the_automaton_reads_it() -> None:
    pattern = compile_like("b.*z")
    text = "a" * (INLINE_STEPS + 1) + "bz"
    with pytest.raises(LikeTooCostly):
        within_budget(pattern.search, text)
    assert pattern.search(text) is True  # outside `within_budget` nothing is counted


def test_building_automaton_states_counts_against_the_budget() -> None:
    # A short text, but almost every character makes a DFA state of a hundred NFA states.
    rng = random.Random(3)
    text = "".join(rng.choice("ab") for _ in range(INLINE_STEPS // 20))
    with pytest.raises(LikeTooCostly):
        within_budget(compile_like(HUGE).search, text)


def test_the_budget_covers_every_search_of_the_call_together() -> None:
    pattern = compile_like("q")
    texts = ["x" * 1_000] * (INLINE_STEPS // 1_000 + 1)

    def every() -> list[bool]:
        return [pattern.search(t) for t in texts]

    with pytest.raises(LikeTooCostly):
        within_budget(every)
    assert within_budget(lambda: [pattern.search(t) for t in texts[:5]]) == [False] * 5


def _api(tmp_path: Path, items: list[dict[str, Any]]) -> JsonApi:
    path = tmp_path / "db.json"
    path.write_text(json.dumps({"items": items}))
    return JsonApi(ApiOptions(file=str(path)))


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The reads handed to a worker thread (by the name of the function handed over)."""
    handed: list[str] = []
    real = trio.to_thread.run_sync

    async def counting(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        handed.append(function.__name__)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(trio.to_thread, "run_sync", counting)
    return handed


async def test_a_like_over_a_small_list_stays_on_the_event_loop(
    tmp_path: Path, threads: list[str]
) -> None:
    items = [{"id": n, "title": f"ab {n} z" if n % 3 else f"cd {n}"} for n in range(100)]
    api = _api(tmp_path, items)
    response = await send(api, "GET", "/api/items?title_like=%5Eab.*z")
    assert response.status == 200
    assert [i["id"] for i in body(response)] == [n for n in range(100) if n % 3]
    assert threads == []


_RANDOM = "".join(random.Random(4).choice("ab") for _ in range(300))


@pytest.mark.parametrize(
    ("title", "pattern"),
    [
        ("ab" * 600 + "z", "b.*z"),  # 60 items of 1,201 characters: the text alone
        (_RANDOM + "z", HUGE),  # short texts, costly automaton states
    ],
)
async def test_a_like_past_its_budget_starts_over_in_a_thread_with_the_same_answer(
    tmp_path: Path, threads: list[str], title: str, pattern: str
) -> None:
    items = [{"id": n, "title": title if n % 2 else "none"} for n in range(60)]
    api = _api(tmp_path, items)
    response = await send(api, "GET", f"/api/items?title_like={pattern}")
    assert response.status == 200, response.body
    assert [i["id"] for i in body(response)] == [n for n in range(60) if n % 2]
    assert threads == ["_read"]


async def test_compiling_many_large_patterns_counts_against_the_budget(
    tmp_path: Path, threads: list[str]
) -> None:
    """A hundred `_like` parameters of a few thousand NFA states each: compiling them alone
    would hold the event loop for a long while, so the query goes to the thread."""
    api = _api(tmp_path, [{"id": 1, "title": "a"}])
    pattern = "(((a%3F){10}){10}){10}"  # about 2,000 states once the repeats are expanded
    target = "/api/items?" + "&".join(f"title_like={pattern}" for _ in range(30))
    response = await send(api, "GET", target)
    assert response.status == 200, response.body
    assert [i["id"] for i in body(response)] == [1]
    assert threads == ["_read"]
