"""The shortcuts that make a large collection fast give exactly the answers of the plain way:
the id index against a scan, the one-pass sort against stable sorts key by key, the `q`
blocks against `_contains` item by item, the block encoder against `encode_document`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minicors.jsonapi import columns, search, textfind
from minicors.jsonapi.encoder import DocumentEncoder
from minicors.jsonapi.index import IdIndex, find_item, id_text
from minicors.jsonapi.ordering import MISSING, lookup
from minicors.jsonapi.query import ListQuery, _contains, parse_query, run_query
from minicors.jsonapi.store import (
    Document,
    JsonObject,
    JsonValue,
    batch,
    create_item,
    delete_item,
    encode_document,
    parse_json,
    replace_item,
)
from minicors.jsonapi.textfind import Haystack

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-3, 3, allow_nan=False).map(lambda f: round(f, 1)),
    st.sampled_from(["", "a", "B", "ab", "Ab", "ß", "SS", "İ", "7", "true", "null"]),
)
ITEMS = st.lists(
    st.dictionaries(st.sampled_from(["id", "a", "b"]), SCALARS | st.lists(SCALARS, max_size=2)),
    max_size=12,
)
FLAT_ITEMS = st.lists(st.dictionaries(st.sampled_from(["id", "a", "b"]), SCALARS), max_size=12)


def scan(items: list[JsonValue], wanted: str) -> int | None:
    for index, item in enumerate(items):
        if isinstance(item, dict) and "id" in item and id_text(item["id"]) == wanted:
            return index
    return None


# --- the id index -----------------------------------------------------------------------------
IDS = st.one_of(st.integers(-2, 12), st.sampled_from(["1", "7", "x", "1.5", "-0"]), st.just(1.5))
OPS = st.lists(st.tuples(st.sampled_from(["create", "patch", "delete"]), IDS), max_size=25)


@given(st.lists(IDS, max_size=10), OPS)
@settings(max_examples=150, deadline=None)
def test_the_index_agrees_with_a_scan_through_any_chain_of_writes(
    initial: list[Any], ops: list[tuple[str, Any]]
) -> None:
    document: Document = {"c": [{"id": value} for value in initial]}
    history = [document]
    wanted = ["1", "7", "x", "1.5", "-0", "0", "12", "13", "2.0", "01"]
    for op, value in ops:
        text = id_text(value) or ""
        try:
            if op == "create":
                document, _ = create_item(document, "c", {"id": value})
            elif op == "patch":
                document, _ = replace_item(document, "c", text, {"v": 1}, mode="merge")
            else:
                document, _ = delete_item(document, "c", text)
        except Exception:  # noqa: S112 - a refused write (409/404) changes nothing
            continue
        history.append(document)
        for earlier in history[-3:]:  # older versions share the map: still exact
            items = earlier["c"]
            assert isinstance(items, list)
            for w in wanted:
                assert find_item(items, w) == scan(items, w), (items, w)


@given(
    st.integers(-3, 3),
    st.integers(0, 8),
    st.lists(st.tuples(st.sampled_from(["create", "patch", "delete"]), IDS), max_size=25),
)
@settings(max_examples=200, deadline=None)
def test_one_index_kept_across_writes_agrees_with_a_scan(
    first: int, count: int, ops: list[tuple[str, Any]]
) -> None:
    """Ids that start as a run of consecutive integers (no map kept) through creates with
    and without an id, patches and deletes, with one IdIndex as the API keeps it."""
    index = IdIndex()
    document: Document = {"c": [{"id": first + n} for n in range(count)]}
    history = [document]
    wanted = ["-3", "-1", "0", "1", "2", "7", "12", "13", "x", "1.5", "-0", "2.0", "01", "true"]
    for op, value in ops:
        text = id_text(value) or ""
        try:
            if op == "create":
                body: JsonObject = {"id": value} if value != 0 else {}  # 0: the next id
                document, _ = create_item(document, "c", body, ids=index)
            elif op == "patch":
                document, _ = replace_item(document, "c", text, {"v": 1}, mode="merge", ids=index)
            else:
                document, _ = delete_item(document, "c", text, ids=index)
        except Exception:  # noqa: S112 - a refused write (409/404) changes nothing
            continue
        history.append(document)
        for earlier in history[-3:]:  # an older version a reader still holds
            items = earlier["c"]
            assert isinstance(items, list)
            for w in wanted:
                assert index.find("c", items, w) == scan(items, w), (items, w)
        items = document["c"]
        assert isinstance(items, list)
        ids = [i.get("id") for i in items if isinstance(i, dict)]
        ints = [v for v in ids if isinstance(v, int) and not isinstance(v, bool)]
        assert index.summary("c", items)[0] == (max(ints) if ints else None)


def _mapped(index: IdIndex, key: str) -> bool:
    """Whether the index keeps a map of ids for collection `key` (not a run from `first`)."""
    return index._entries[key].positions is not None


def test_consecutive_ids_keep_no_map() -> None:
    index = IdIndex()
    items: list[JsonValue] = [{"id": n} for n in range(5, 105)]
    assert index.find("c", items, "50") == 45
    assert not _mapped(index, "c")
    document, _ = create_item({"c": items}, "c", {}, ids=index)  # id 105 continues the run
    assert not _mapped(index, "c")
    document, _ = create_item(document, "c", {"id": 500}, ids=index)  # breaks it
    assert index.find("c", document["c"], "500") == 101  # type: ignore[arg-type]
    assert _mapped(index, "c")
    broken_lists: list[list[JsonValue]] = [
        [{"id": True}, {"id": 2}],
        [{"id": 1}, {"id": 2.0}],
        [{"id": 1}, {"id": 3}],
    ]
    for broken in broken_lists:
        assert index.find("d", broken, "2") == scan(broken, "2")
        assert _mapped(index, "d")


# --- sorting and paging -------------------------------------------------------------------------
def reference_sort(items: list[JsonValue], field: str, descending: bool) -> list[JsonValue]:
    """The stable sort of json-server: values by (type, value), then null, then missing."""
    present: list[tuple[tuple[int, Any], JsonValue]] = []
    nulls: list[JsonValue] = []
    missing: list[JsonValue] = []
    for item in items:
        value = lookup(item, (field,))
        if value is MISSING:
            missing.append(item)
        elif value is None:
            nulls.append(item)
        elif isinstance(value, bool):
            present.append(((2, int(value)), item))
        elif isinstance(value, int | float):
            present.append(((0, value), item))
        elif isinstance(value, str):
            present.append(((1, value), item))
        else:
            present.append(((3, 0), item))
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [item for _, item in present] + nulls + missing


SORTS = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans()), min_size=1, max_size=2)


FILTERS = st.sampled_from(
    ["", "a=B", "b_ne=1", "a=1", "a=1.0", "a=true", "a=null", "a=7&a=ab", "a=-0.0", "b=ß&a_ne=3"]
)


@given(ITEMS | FLAT_ITEMS, SORTS, st.integers(0, 5), st.integers(1, 4), FILTERS, st.booleans())
@settings(max_examples=400, deadline=None)
def test_one_pass_sort_and_page_equal_stable_sorts_then_slicing(
    items: list[JsonValue],
    sorts: list[tuple[str, bool]],
    limit: int,
    page: int,
    filt: str,
    by_columns: bool,
) -> None:
    saved = columns.MIN_ITEMS
    columns.MIN_ITEMS = 0 if by_columns else saved  # columns serve lists of any size
    try:
        check_sort_and_page(items, sorts, limit, page, filt)
    finally:
        columns.MIN_ITEMS = saved


def check_sort_and_page(
    items: list[JsonValue], sorts: list[tuple[str, bool]], limit: int, page: int, filt: str
) -> None:
    columns.MIN_ITEMS, plain_from = 1 << 30, columns.MIN_ITEMS
    plain = run_query(items, parse_query(filt)).items  # item by item, as before columns
    columns.MIN_ITEMS = plain_from
    filtered = run_query(items, parse_query(filt + "&_sort=id")).items  # (when used: columns)
    assert sorted(map(id, filtered)) == sorted(map(id, plain))
    spec = ",".join(("-" if down else "") + field for field, down in sorts)
    full = run_query(items, parse_query(f"_sort={spec}&{filt}")).items
    expected = plain
    for field, down in reversed(sorts):  # least significant key first
        expected = reference_sort(expected, field, down)
    assert full == expected
    limited = run_query(items, parse_query(f"_sort={spec}&_limit={limit}&{filt}"))
    assert limited.items == expected[:limit]
    paged = run_query(items, parse_query(f"_sort={spec}&_page={page}&_limit={limit}&{filt}"))
    assert paged.items == expected[(page - 1) * limit : page * limit]
    assert paged.total == limited.total == len(expected)


# --- q --------------------------------------------------------------------------------------
TERMS = st.lists(
    st.sampled_from(["a", "b", "ss", "ß", "tru", "1", ".5", "-", "i̇", "\x00", "\x01", "a\x00"])
)
# Values holding NUL or U+0001 (the text's separator): a term must not match across them.
Q_ITEMS = st.lists(
    st.dictionaries(
        st.sampled_from(["id", "a", "b"]),
        SCALARS
        | st.sampled_from(["a\x00b", "\x01a", "b\x01", "\x00"])
        | st.lists(SCALARS, max_size=2),
    ),
    max_size=12,
)


@given(Q_ITEMS, Q_ITEMS, st.lists(TERMS.filter(bool), min_size=1, max_size=4))
@example([{"a": "ß", "b": [1.5, True]}], [{"a": "İ"}], [["ss"], [".5", "tru"], ["i̇"]])
@example([{"a": "a\x00b", "b": "\x01a"}], [{"a": "b\x01"}], [["ab"], ["a"], ["b"], ["ba"]])
@settings(max_examples=80, deadline=None)
def test_q_by_blocks_equals_contains_item_by_item(
    first: list[JsonValue], extra: list[JsonValue], term_lists: list[list[str]]
) -> None:
    items = first * (search.BLOCK_ITEMS // max(len(first), 1) + 1) + extra  # several blocks
    new: JsonValue = {"id": 99, "a": "ab"}
    changed = [*items[:-1], new]  # a new version reuses the blocks
    for version in (items, changed, items):
        for terms in term_lists:
            folded = tuple(t.casefold() for t in terms)
            expected = [i for i in version if all(_contains(i, t) for t in folded)]
            found = search.matching(version, folded)
            refused = any("\x00" in t or "\x01" in t for t in folded)
            assert found is None if refused else found == expected


# Values beyond ASCII: two- and four-byte UTF-8, a lone surrogate (JSON may hold one), and
# numbers whose JSON spelling has an exponent; terms that straddle them.
WIDE_SCALARS = st.one_of(
    SCALARS,
    st.sampled_from(["é", "Éa", "日本", "\U0001f600x", "\ud800", "a\udc00b", "ǅ"]),
    st.sampled_from([1e16, -2.5e-07, 10**20, 0.0, -0.0]),
)
WIDE_ITEMS = st.lists(
    st.dictionaries(
        st.sampled_from(["id", "a", "b"]), WIDE_SCALARS | st.lists(WIDE_SCALARS, max_size=2)
    ),
    max_size=12,
)
WIDE_TERMS = st.sampled_from(
    ["é", "éa", "日", "本", "\U0001f600", "\ud800", "\udc00", "e+16", "e-07", "0.0", "ǆ", "a"]
)


@given(WIDE_ITEMS, st.lists(st.lists(WIDE_TERMS, min_size=1, max_size=3), min_size=1, max_size=3))
@settings(max_examples=300, deadline=None)
def test_q_over_utf8_blocks_equals_contains_beyond_ascii(
    first: list[JsonValue], term_lists: list[list[str]]
) -> None:
    items = first * (search.BLOCK_ITEMS // max(len(first), 1) + 1)  # more than one block
    for terms in term_lists:
        folded = tuple(t.casefold() for t in terms)
        expected = [i for i in items if all(_contains(i, t) for t in folded)]
        assert search.matching(items, folded) == expected


@given(ITEMS, st.sampled_from(["a", "ss", "tru", "1", "-"]), st.integers(1, 4), st.integers(0, 5))
@settings(max_examples=200, deadline=None)
def test_q_with_a_page_gives_the_reference_page_and_total(
    first: list[JsonValue], term: str, limit: int, page: int
) -> None:
    items = first * (search.BLOCK_ITEMS // max(len(first), 1) + 1)
    expected = [i for i in items if _contains(i, term)]
    got = run_query(items, parse_query(f"q={quote(term)}&_page={page + 1}&_limit={limit}"))
    assert got.total == len(expected)
    assert got.items == expected[page * limit : (page + 1) * limit]


@given(st.binary(max_size=40), st.binary(min_size=1, max_size=3), st.integers(-2, 45))
@settings(max_examples=300, deadline=None)
def test_haystack_find_equals_bytes_find(buffer: bytes, term: bytes, start: int) -> None:
    assert Haystack(buffer).find(term, start) == buffer.find(term, start)
    assert (term in Haystack(buffer)) == (term in buffer)


NO_NUL = st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"\x01"))


@pytest.mark.parametrize("library", ["both", "strstr only", "memmem only", "neither"])
@given(buffer=NO_NUL, term=st.binary(min_size=1, max_size=3), start=st.integers(-2, 65))
@settings(max_examples=200, deadline=None)
def test_haystack_find_equals_bytes_find_whichever_function_the_library_has(
    library: str, buffer: bytes, term: bytes, start: int
) -> None:
    """NUL-free buffers take `strstr` (terms with NUL still `memmem`), the others `memmem`."""
    real = (textfind._MEMMEM, textfind._STRSTR)
    try:
        textfind._MEMMEM = real[0] if library in ("both", "memmem only") else None
        textfind._STRSTR = real[1] if library in ("both", "strstr only") else None
        for haystack_bytes in (buffer, buffer + b"\x00" + buffer):
            haystack = Haystack(haystack_bytes)
            assert haystack.find(term, start) == haystack_bytes.find(term, start)
    finally:
        textfind._MEMMEM, textfind._STRSTR = real


def test_strstr_serves_a_buffer_without_nul_and_memmem_one_with_it() -> None:
    assert textfind._STRSTR is not None and textfind._MEMMEM is not None  # glibc here
    assert Haystack(b"abc\x01abc")._terminated
    assert not Haystack(b"abc\x00abc")._terminated


def test_q_text_holds_no_nul_even_when_values_do() -> None:
    """So `strstr` searches it, and a term still cannot match across the value's NUL."""
    items: list[JsonValue] = [{"id": 1, "a": "x\x00y", "b": ["\x00"]}, {"id": 2, "a": "xy"}]
    (block,) = search._blocks(items)
    assert block.text._terminated
    assert search.matching(items, ("xy",)) == [items[1]]


def test_haystack_without_the_c_library_falls_back_to_bytes_find(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(textfind, "_MEMMEM", None)
    monkeypatch.setattr(textfind, "_STRSTR", None)
    haystack = Haystack(b"ab\x00abc\x00c")
    assert [haystack.find(b"c", start) for start in (0, 6, 8)] == [5, 7, -1]
    assert b"\x00c" in haystack
    assert b"cc" not in haystack


# --- the block encoder ------------------------------------------------------------------------
@given(st.lists(st.tuples(st.sampled_from(["create", "patch", "delete"]), st.integers(1, 700))))
@settings(max_examples=30, deadline=None)
def test_block_encoding_equals_encode_document_through_writes(ops: list[tuple[str, int]]) -> None:
    document: Document = {"c": [{"id": n, "t": "é" * (n % 3)} for n in range(1, 601)], "s": {}}
    encoder = DocumentEncoder()
    assert encoder.encode(document) == encode_document(document)
    for op, number in ops:
        try:
            if op == "create":
                document, _ = create_item(document, "c", {"n": number})
            elif op == "patch":
                document, _ = replace_item(document, "c", str(number), {"v": 2}, mode="merge")
            else:
                document, _ = delete_item(document, "c", str(number))
        except Exception:  # noqa: S112 - gone already: nothing changed
            continue
        assert encoder.encode(document) == encode_document(document)


def assert_columns_agree(items: list[JsonValue], query: ListQuery) -> None:
    """`query` answered item by item and from cached columns gives the same items."""
    saved = columns.MIN_ITEMS
    try:
        columns.MIN_ITEMS = 1 << 30
        plain = run_query(items, query).items
        columns.MIN_ITEMS = 0
        assert run_query(items, query).items == plain
    finally:
        columns.MIN_ITEMS = saved


@given(ITEMS, st.lists(st.sampled_from(["^a", "^ab", "^1", "^-", "^i̇", "^ss", "^b|^a", "^tru"])))
@settings(max_examples=200, deadline=None)
def test_anchored_like_by_column_prefix_equals_item_by_item(
    items: list[JsonValue], patterns: list[str]
) -> None:
    query = parse_query("&".join(f"a_like={quote(p)}" for p in patterns) + "&b_ne=x")
    assert_columns_agree(items, query)


LIKE_VALUES = st.one_of(
    WIDE_SCALARS, st.sampled_from(["a\x00ab", "\x00ab", "a\x00", "AB\x00", "Ab", "abc"])
)
LIKE_PATTERNS = st.sampled_from(["^a", "^ab", "^a%00", "^%00a", "^é", "^ǆ", "^i̇", "^1", "^b|^ab"])


@given(
    st.lists(st.dictionaries(st.sampled_from(["a", "b"]), LIKE_VALUES), min_size=1, max_size=9),
    st.lists(LIKE_PATTERNS, min_size=1, max_size=2),
)
@settings(max_examples=150, deadline=None)
def test_anchored_like_over_several_blocks_equals_item_by_item(
    first: list[JsonValue], patterns: list[str]
) -> None:
    items = first * (columns.BLOCK_ITEMS // len(first) + 2)  # more than one column block
    query = parse_query("&".join(f"a_like={p}" for p in patterns))
    assert_columns_agree(items, query)


def test_a_batch_changes_its_own_copy_in_place_and_never_the_published_list() -> None:
    base: Document = {"c": [{"id": n, "v": 0} for n in range(1, 6)]}
    published = base["c"]
    assert isinstance(published, list)
    snapshot = [dict(item) for item in published if isinstance(item, dict)]
    with batch():
        first, _ = replace_item(base, "c", "2", {"v": 1}, mode="merge")
        second, _ = replace_item(first, "c", "4", {"v": 2}, mode="merge")
    assert second["c"] is first["c"] is not published  # one copy for the whole batch
    assert published == snapshot  # what readers hold is untouched
    alone, _ = replace_item(base, "c", "2", {"v": 1}, mode="merge")
    alone, _ = replace_item(alone, "c", "4", {"v": 2}, mode="merge")
    assert second == alone
    after, _ = replace_item(second, "c", "1", {"v": 3}, mode="merge")  # outside: copies again
    assert after["c"] is not second["c"]


JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["a", "é", "a" * 70, ""]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["k", "l", "m"]), inner, max_size=3)
    ),
    max_leaves=15,
).map(lambda value: json.dumps({"c": [value, value], "d": value}))


@given(JSON_TEXT)
@settings(max_examples=100, deadline=None)
def test_sharing_strings_while_parsing_changes_no_value(text: str) -> None:
    shared = parse_json(text, share=True)
    assert shared == parse_json(text)
    assert json.dumps(shared) == text


def test_sharing_makes_equal_short_strings_one_object() -> None:
    text = json.dumps({"c": [{"t": ["red", "x" * 65]}, {"t": ["red", "x" * 65], "o": "red"}]})
    value: Any = parse_json(text, share=True)
    first, second = value["c"]
    assert first["t"][0] is second["t"][0] is second["o"]
    assert first["t"][1] is not second["t"][1]  # longer than SHARED_STRING_CHARS: left alone
