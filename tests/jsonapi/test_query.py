"""The list query language, as tables: query string -> ids of the items returned, in order."""

from __future__ import annotations

import pytest

from minicors.errors import HttpError
from minicors.jsonapi.query import ListPage, page_links, parse_query, run_query
from minicors.jsonapi.store import JsonValue

ITEMS: list[JsonValue] = [
    {"id": 1, "title": "Alpha", "views": 10, "done": True, "tags": ["red", "blue"],
     "author": {"name": "ann", "age": 30}, "date": "2024-01-05"},
    {"id": 2, "title": "beta", "views": 5, "done": False, "tags": ["blue"],
     "author": {"name": "bob", "age": 25}, "date": "2024-03-01"},
    {"id": 3, "title": "Gamma ray", "views": 20, "done": False, "tags": [],
     "author": {"name": "ann", "age": 41}, "date": "2023-12-31"},
    {"id": 4, "title": "delta", "views": 5, "done": True, "author": None, "note": "Alpha fan"},
    {"id": "x5", "title": "Epsilon", "views": 7.5, "done": False, "tags": ["green"]},
    "a plain string in the collection",
]  # fmt: skip


def ids(query: str) -> list[object]:
    page = run_query(ITEMS, parse_query(query))
    return [item.get("id") if isinstance(item, dict) else item for item in page.items]


QUERIES = [
    ("", [1, 2, 3, 4, "x5", "a plain string in the collection"]),
    # equality: strings exact, numbers numerically, booleans as true/false, repeated = OR
    ("title=beta", [2]),
    ("title=Beta", []),
    ("views=5", [2, 4]),
    ("views=5.0", [2, 4]),
    ("views=7.5", ["x5"]),
    ("id=x5", ["x5"]),
    ("done=true", [1, 4]),
    ("views=5&views=20", [2, 3, 4]),
    ("author=null", [4]),
    ("tags=blue", [1, 2]),
    ("author.name=ann", [1, 3]),
    ("author.name=ann&done=false", [3]),
    ("tags.0=red", [1]),
    ("missing=1", []),
    ("title=", []),
    # operators
    ("views_gte=10", [1, 3]),
    ("views_lte=5", [2, 4]),
    ("views_gt=5&views_lt=20", [1, "x5"]),
    ("views_gte=5&views_lte=7.5", [2, 4, "x5"]),
    ("views_gte=abc", []),
    ("date_gte=2024-01-01", [1, 2]),
    ("author.age_gte=30&author.age_lte=40", [1]),
    ("views_ne=5", [1, 3, "x5", "a plain string in the collection"]),
    ("views_ne=5&views_ne=10", [3, "x5", "a plain string in the collection"]),
    ("title_like=^[ab]", [1, 2]),
    ("title_like=a$", [1, 2, 4]),
    ("title_like=RAY", [3]),
    ("title_like=^alpha&title_like=^beta", [1, 2]),
    ("tags_like=^gr", ["x5"]),
    ("views_like=^1", [1]),
    # full text: any string or number anywhere, case-insensitive; several q = all of them
    ("q=alpha", [1, 4]),
    ("q=ANN", [1, 3]),
    ("q=7.5", ["x5"]),
    ("q=plain", ["a plain string in the collection"]),
    ("q=alpha&q=fan", [4]),
    # sorting: stable, several keys, missing fields last in both directions
    ("_sort=views", [2, 4, "x5", 1, 3, "a plain string in the collection"]),
    ("_sort=views&_order=desc", [3, 1, "x5", 2, 4, "a plain string in the collection"]),
    ("_sort=-views", [3, 1, "x5", 2, 4, "a plain string in the collection"]),
    ("views=5&_sort=title&_order=desc", [4, 2]),
    ("done=false&_sort=title", ["x5", 3, 2]),  # code-point order: "E" < "G" < "b"
    ("_sort=done,views&_order=desc,asc&views_lt=100", [4, 1, 2, "x5", 3]),
    ("_sort=author.age&_order=desc&author.age_gte=0", [3, 1, 2]),
    ("_sort=note&views_gte=0", [4, 1, 2, 3, "x5"]),
    ("id_ne=x5&id_ne=1", [2, 3, 4, "a plain string in the collection"]),  # no id: not equal
    # slices and pages
    ("_start=1&_end=3", [2, 3]),
    ("_start=4", ["x5", "a plain string in the collection"]),
    ("_limit=2", [1, 2]),
    ("_start=1&_limit=2", [2, 3]),
    ("_page=2&_limit=2", [3, 4]),
    ("_page=1", [1, 2, 3, 4, "x5", "a plain string in the collection"]),
    ("_page=9&_limit=2", []),
    ("_sort=views&_page=1&_limit=3", [2, 4, "x5"]),
    ("_limit=0", []),
    # percent-encoding and + decode like a form
    ("title=Gamma+ray", [3]),
    ("title=Gamma%20ray", [3]),
    ("author.name%3Dann", []),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_query_returns_the_right_items_in_order(query: str, expected: list[object]) -> None:
    assert ids(query) == expected


def test_total_counts_matches_before_paging() -> None:
    page = run_query(ITEMS, parse_query("views_lte=10&_page=2&_limit=2"))
    assert page.total == 4
    assert page.page == 2
    assert page.last_page == 2


BAD = [
    ("_page=0", "_page must be a positive integer"),
    ("_page=x", "_page must be a positive integer"),
    ("_limit=-1", "_limit must be a non-negative integer"),
    ("_start=1.5", "_start must be an integer"),
    ("_end=-", "_end must be an integer"),
    ("_end=%EF%BC%93", "_end must be"),  # a full-width digit is not a digit here
    ("_order=up&_sort=a", "_order must be asc or desc"),
    ("title_like=(a", "bad title_like pattern: missing ')'"),
    ("title_like=(a)%5C1", "back-references"),
    ("&".join(f"f{i}=1" for i in range(101)), "too many query parameters"),
    ("_embed=comments", "_embed is not supported"),
    ("_expand=post", "_expand is not supported"),
]


@pytest.mark.parametrize(("query", "message"), BAD)
def test_bad_queries_are_400_with_reason(query: str, message: str) -> None:
    with pytest.raises(HttpError) as info:
        parse_query(query)
    assert info.value.status == 400
    assert message in info.value.message


LINKS = [
    (ListPage(items=[], total=25, page=1, last_page=3), ["first", "next", "last"]),
    (ListPage(items=[], total=25, page=2, last_page=3), ["first", "prev", "next", "last"]),
    (ListPage(items=[], total=25, page=3, last_page=3), ["first", "prev", "last"]),
    (ListPage(items=[], total=0, page=1, last_page=1), ["first", "last"]),
    (ListPage(items=[], total=5, page=7, last_page=1), ["first", "prev", "last"]),
]


@pytest.mark.parametrize(("page", "rels"), LINKS)
def test_link_relations(page: ListPage, rels: list[str]) -> None:
    header = page_links("/api/items", "_page=2&_limit=10", page)
    assert header is not None
    assert [part.split('rel="')[1].rstrip('"') for part in header.split(", ")] == rels


def test_link_keeps_other_parameters_and_replaces_page() -> None:
    page = ListPage(items=[], total=25, page=2, last_page=3)
    header = page_links("/api/items", "q=a%20b&_page=2&_limit=10&_sort=views", page)
    assert header == (
        '</api/items?q=a%20b&_limit=10&_sort=views&_page=1>; rel="first", '
        '</api/items?q=a%20b&_limit=10&_sort=views&_page=1>; rel="prev", '
        '</api/items?q=a%20b&_limit=10&_sort=views&_page=3>; rel="next", '
        '</api/items?q=a%20b&_limit=10&_sort=views&_page=3>; rel="last"'
    )


def test_link_escapes_characters_that_would_end_the_uri() -> None:
    page = ListPage(items=[], total=1, page=1, last_page=1)
    header = page_links('/api/it<e>ms"', "a=<x>&_page=1", page)
    assert header is not None
    assert "<e>" not in header and '"' not in header.split(";")[0]
    assert header.startswith("</api/it%3Ce%3Ems%22?a=%3Cx%3E&_page=1>")


def test_no_link_without_page() -> None:
    assert page_links("/api/items", "_limit=2", ListPage(items=[], total=3)) is None
