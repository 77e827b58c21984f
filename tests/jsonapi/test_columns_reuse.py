"""Columns built for the next version of a list from the last one's (columns.py `_built`).

After each write (a new list sharing most item objects with the last), the column of every
field a query names is rebuilt from the previous column's unchanged blocks: filters, sorts and
anchored `_like` must still equal the answers found item by item.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicors.jsonapi import columns
from minicors.jsonapi.query import parse_query, run_query
from minicors.jsonapi.store import JsonValue

QUERIES = (
    "a=1&_sort=-b&_limit=5",
    "_sort=b,-a",
    "_sort=-a&_limit=7",
    "b_ne=xa&_sort=a&_limit=4",
    "a_like=^x",
    "b_like=^y",
    "b_like=^xa|^y",
    "a=true&b=null",
)
VALUES = st.one_of(
    st.integers(0, 3),
    st.sampled_from(["x", "xa", "XA", "y", "", "1", "true"]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 2), max_size=2),
)
ITEM = st.fixed_dictionaries({}, optional={"a": VALUES, "b": VALUES})
WRITES = st.lists(
    st.tuples(
        st.sampled_from(["replace", "delete", "append", "insert"]),
        st.integers(0, 10**6),
        ITEM,
        st.sets(st.sampled_from(QUERIES)),  # asked after this write (a sort may skip lists)
    ),
    min_size=1,
    max_size=8,
)


def start_items() -> list[JsonValue]:
    size = 2 * columns.BLOCK_ITEMS + 300  # two full blocks and a partial one
    return [{"a": n % 4, "b": ["x", "xa", "y", None, True][n % 5]} for n in range(size)]


def written(items: list[JsonValue], op: str, where: int, item: JsonValue) -> list[JsonValue]:
    position = where % len(items)
    if op == "replace":
        return [*items[:position], item, *items[position + 1 :]]
    if op == "delete":
        return [*items[:position], *items[position + 1 :]]
    if op == "insert":  # every block after it shifts
        return [*items[:position], item, *items[position:]]
    return [*items, item]


@pytest.fixture(autouse=True)
def fresh_columns() -> Iterator[None]:
    columns._COLUMNS.clear()
    yield
    columns._COLUMNS.clear()


def answers(
    items: list[JsonValue], *, by_columns: bool, queries: Iterable[str] = QUERIES
) -> list[list[JsonValue]]:
    saved = columns.MIN_ITEMS
    columns.MIN_ITEMS = 0 if by_columns else 1 << 30
    try:
        return [run_query(items, parse_query(q)).items for q in sorted(queries)]
    finally:
        columns.MIN_ITEMS = saved


@given(WRITES)
@settings(max_examples=40, deadline=None)
def test_columns_carried_from_the_last_list_answer_as_item_by_item(
    writes: list[tuple[str, int, JsonValue, set[str]]],
) -> None:
    columns._COLUMNS.clear()
    items = start_items()
    assert answers(items, by_columns=True) == answers(items, by_columns=False)
    for op, where, item, queries in writes:
        items = written(items, op, where, item)
        mine = answers(items, by_columns=True, queries=queries)
        assert mine == answers(items, by_columns=False, queries=queries)
    assert answers(items, by_columns=True) == answers(items, by_columns=False)


def test_a_write_recomputes_only_the_changed_block(monkeypatch: pytest.MonkeyPatch) -> None:
    items = start_items()
    answers(items, by_columns=True)  # keys, sort parts and heads of every block
    looked_up: list[int] = []
    real = columns._values

    def counting(part: list[JsonValue], name: str) -> list[object]:
        looked_up.append(len(part))
        return real(part, name)

    monkeypatch.setattr(columns, "_values", counting)
    items = written(items, "replace", columns.BLOCK_ITEMS + 5, {"a": 2, "b": "xa"})
    assert answers(items, by_columns=True) == answers(items, by_columns=False)
    # Per field: its keys, each sort direction asked for before, its heads: one block each.
    assert set(looked_up) == {columns.BLOCK_ITEMS}
    assert len(looked_up) == 2 + 2 + 2 + 2  # keys a, b; sort a and b both ways; heads a, b


LONG = st.sampled_from(["xab", "xabc", "XAB", "xa\x00b", "\x00xa", "éé", "éa", "x", "", "ab"])


@given(
    st.lists(st.one_of(LONG, VALUES), min_size=1, max_size=9),
    st.lists(st.sampled_from(["^xab", "^xa", "^x", "^éé", "^xa%00b", "^%00x", "^ab|^xabc"])),
    st.integers(1, 3),
)
@settings(max_examples=150, deadline=None)
def test_like_prefixes_longer_than_the_heads_still_answer_as_item_by_item(
    values: list[JsonValue], patterns: list[str], head_bytes: int
) -> None:
    first: list[JsonValue] = [{"a": v} for v in values]
    items = first * (columns.BLOCK_ITEMS // len(values) + 2)
    query = parse_query("&".join(f"a_like={p}" for p in patterns) or "a_like=^xa")
    saved = columns.MIN_ITEMS, columns.HEAD_BYTES
    columns._COLUMNS.clear()
    try:
        columns.MIN_ITEMS, columns.HEAD_BYTES = 1 << 30, head_bytes
        plain = run_query(items, query).items
        columns.MIN_ITEMS = 0
        assert run_query(items, query).items == plain
    finally:
        columns.MIN_ITEMS, columns.HEAD_BYTES = saved
        columns._COLUMNS.clear()


@given(
    st.lists(st.one_of(LONG, VALUES), min_size=1, max_size=40), st.sampled_from(["x", "xa", "é"])
)
@settings(max_examples=100, deadline=None)
def test_heads_find_exactly_the_values_starting_with_a_short_prefix(
    values: list[JsonValue], prefix: str
) -> None:
    items: list[JsonValue] = [{"a": v} for v in values]
    columns._COLUMNS.clear()
    expected = [
        p for p, v in enumerate(values) if isinstance(v, str) and v.lower().startswith(prefix)
    ]
    assert columns._column(items, "a").starting((prefix,)) == expected
    columns._COLUMNS.clear()
