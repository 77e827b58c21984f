"""A `_like` over a small list runs on the event loop within a budget (a worker thread costs
more than such a query), and starts over in the thread once the budget is spent: no pattern or
text keeps the other requests waiting for longer than the budget."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from minicors.jsonapi import JsonApi, columns, textfind
from minicors.jsonapi.like import INLINE_STEPS, LikeTooCostly, compile_like, within_budget
from minicors.jsonapi.query import THREAD_BYTES, THREAD_ITEMS, _like, needs_thread
from minicors.jsonapi.store import Document, JsonValue, encode_document
from minicors.jsonapi.textfind import STRSTR_TERM_BYTES, Haystack
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


# --- what the budget charges (each of these once held the event loop far past it) -------------
def test_a_prefix_miss_is_charged_for_the_text_it_lowers() -> None:
    pattern = compile_like("^zzz")
    texts = ["a" * 20_000] * 2_000  # no text starts with the prefix: no automaton step at all
    with pytest.raises(LikeTooCostly):
        within_budget(lambda: [pattern.search(t) for t in texts])


def test_a_class_test_is_charged_for_each_range_it_tries() -> None:
    ranges = "".join(f"{c}-{c}" for c in string.ascii_letters + string.digits)
    pattern = compile_like(f"([{ranges}]?){{100}}z")
    text = "".join(chr(0x4E00 + n) for n in range(20))  # a new DFA move at every character
    # Counted one step per NFA state, these 20 characters cost about 4,000 steps; each state's
    # test tries 62 ranges twice, and that is what the event loop pays for.
    with pytest.raises(LikeTooCostly):
        within_budget(pattern.search, text)
    assert compile_like("(a?){100}z").search(text) is False


@pytest.mark.parametrize("element", [None, "", {}, True])
def test_list_elements_without_text_are_charged(element: JsonValue) -> None:
    values: JsonValue = [element] * (INLINE_STEPS + 1)
    with pytest.raises(LikeTooCostly):
        within_budget(_like, values, (compile_like("z"),))


def test_long_terms_take_memmem_not_strstr(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc's strstr slows down with the term's length (seconds for a few KB over 1 MB)."""
    assert textfind._STRSTR is not None
    calls: list[bytes] = []
    real = textfind._STRSTR

    def recording(address: int, term: bytes) -> int | None:
        calls.append(term)
        return real(address, term)

    monkeypatch.setattr(textfind, "_STRSTR", recording)
    text = b"ab" * 1_000
    haystack = Haystack(text)
    for size in (STRSTR_TERM_BYTES, STRSTR_TERM_BYTES + 1, 6_001):
        term = b"ab" * (size // 2) + b"z" * (size % 2)
        assert haystack.find(term) == text.find(term)
    assert [len(term) for term in calls] == [STRSTR_TERM_BYTES]


@pytest.mark.parametrize(
    ("count", "query", "size", "threaded"),
    [
        (columns.MIN_ITEMS - 1, "title_like=a", None, False),  # tries the loop, within budget
        (columns.MIN_ITEMS, "title_like=a", None, True),  # would build columns: the thread
        (10, "title_like=a", THREAD_BYTES + 1, True),  # fat items
        (1, "tags=z", THREAD_BYTES + 1, True),  # one item holding a huge list
        (1, "tags=z", THREAD_BYTES, False),
        (1, "_page=1&_limit=5", THREAD_BYTES + 1, False),  # a slice: no pass over the items
        (THREAD_ITEMS + 1, "tags=z", None, True),
    ],
)
def test_which_list_queries_leave_the_event_loop(
    count: int, query: str, size: int | None, threaded: bool
) -> None:
    assert needs_thread(count, query, size) is threaded


async def test_a_filter_over_one_fat_item_runs_in_a_thread(
    tmp_path: Path, threads: list[str]
) -> None:
    """The API knows each collection's size in FILE from the encoder's layout, or takes FILE's
    size when FILE is not in minicors's layout (json.dumps's compact one here)."""
    api = _api(tmp_path, [{"id": 1, "tags": ["red"] * (THREAD_BYTES // 6)}, {"id": 2}])
    response = await send(api, "GET", "/api/items?tags=blue")
    assert response.status == 200
    assert body(response) == []
    assert threads == ["_read"]
    response = await send(api, "GET", "/api/items?_page=1")
    assert response.status == 200
    assert threads == ["_read"]  # paging alone reads no item: the loop answers
    document: Document = {
        "items": [{"id": 1, "tags": ["red"] * (THREAD_BYTES // 10)}],
        "small": [{}],
    }
    (tmp_path / "db.json").write_bytes(encode_document(document))
    api = JsonApi(ApiOptions(file=str(tmp_path / "db.json")))
    assert (await send(api, "GET", "/api/items?tags=blue")).status == 200
    assert (await send(api, "GET", "/api/small?id=1")).status == 200  # known to be small
    assert threads == ["_read", "_read"]
