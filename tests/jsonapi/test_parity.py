"""json-server 0.17.4 parity: relations (nested routes, `_embed`, `_expand`, cascade DELETE),
POST to a singular resource, the cache buster, null/missing values, `q`, sorting, `Link`,
negative slices; and json-server v1's syntax beside v0's (`field:op=value`, `_per_page`,
`_embed` of a parent).  Where minicors keeps its own answer (README "Differences from
json-server"), the test pins minicors's answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from minicors.jsonapi import JsonApi
from minicors.jsonapi.relations import foreign_key, singular_name
from minicors.messages import Request, Response
from minicors.options import ApiOptions

DB: dict[str, Any] = {
    "posts": [
        {"id": 1, "title": "alpha", "views": 100, "discount": None, "published": True},
        {"id": 2, "title": "beta", "views": 250, "published": False},
        {"id": 3, "title": "gamma", "discount": 5},
        {"id": 4, "title": "delta", "views": None},
    ],
    "comments": [
        {"id": 1, "postId": 1, "body": "c1"},
        {"id": 2, "postId": 1, "body": "c2"},
        {"id": 3, "postId": 2, "body": "c3"},
        {"id": 4, "postId": 9, "body": "orphan"},
    ],
    "tags": [{"id": "t1", "postId": "1", "name": "x"}],
    "profile": {"name": "typicode"},
}


@pytest.fixture
def db_document() -> dict[str, Any]:
    return DB


@pytest.fixture
def api(db_file: Path) -> JsonApi:
    return JsonApi(ApiOptions(file=str(db_file)))


async def call(api: JsonApi, method: str, target: str, body: object = None) -> Response:
    data = b"" if body is None else json.dumps(body).encode()
    headers = [("content-type", "application/json")] if body is not None else []
    return await api.handle(Request.build(method, target, headers, data))


def body_of(response: Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


async def ids(api: JsonApi, target: str) -> list[object]:
    response = await call(api, "GET", target)
    assert response.status == 200, response.body
    return [item["id"] for item in body_of(response)]


def link(response: Response) -> str | None:
    value = response.header(b"link")
    return None if value is None else value.decode()


# --- names --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("posts", "post"),
        ("categories", "category"),
        ("boxes", "box"),
        ("people", "person"),
        ("news", "news"),
        ("address", "address"),
        ("Users", "User"),
        ("data", "datum"),
    ],
)
def test_singular_names(plural: str, singular: str) -> None:
    assert singular_name(plural) == singular
    assert foreign_key(plural) == singular + "Id"


# --- nested routes ------------------------------------------------------------------------
async def test_nested_get_lists_the_children_with_filters_sort_and_paging(api: JsonApi) -> None:
    assert await ids(api, "/api/posts/1/comments") == [1, 2]
    assert await ids(api, "/api/posts/1/comments?_sort=body&_order=desc") == [2, 1]
    assert await ids(api, "/api/posts/1/comments?body=c2") == [2]
    paged = await call(api, "GET", "/api/posts/1/comments?_page=2&_limit=1")
    assert [c["id"] for c in body_of(paged)] == [2]
    assert paged.header(b"x-total-count") == b"2"
    assert link(paged) == (
        '</api/posts/1/comments?_limit=1&_page=1>; rel="first", '
        '</api/posts/1/comments?_limit=1&_page=1>; rel="prev", '
        '</api/posts/1/comments?_limit=1&_page=2>; rel="last"'
    )
    # A client's own postId filter cannot widen the nested list to another parent.
    assert await ids(api, "/api/posts/1/comments?postId=2") == []
    assert await ids(api, "/api/posts/1/tags") == ["t1"]  # "1" names the parent 1


@pytest.mark.parametrize(
    "target",
    [
        "/api/posts/99/comments",
        "/api/posts/1/nothing",
        "/api/profile/1/comments",
        "/api/posts/1/profile",
        "/api/posts/1/comments/1",
    ],
)
async def test_nested_routes_that_name_nothing_are_404(api: JsonApi, target: str) -> None:
    response = await call(api, "GET", target)
    assert response.status == 404
    assert "error" in body_of(response)


async def test_nested_post_sets_the_foreign_key_with_the_parent_id_type(
    api: JsonApi, db_file: Path
) -> None:
    response = await call(api, "POST", "/api/posts/1/comments", {"body": "new"})
    assert response.status == 201
    assert body_of(response) == {"id": 5, "body": "new", "postId": 1}
    assert response.header(b"location") == b"/api/comments/5"
    assert json.loads(db_file.read_text())["comments"][-1] == {"id": 5, "body": "new", "postId": 1}
    same = await call(api, "POST", "/api/posts/2/comments", {"body": "b", "postId": "2"})
    assert body_of(same)["postId"] == 2
    other = await call(api, "POST", "/api/posts/2/comments", {"body": "b", "postId": 1})
    assert other.status == 400
    assert (await call(api, "POST", "/api/posts/99/comments", {"body": "x"})).status == 404


# --- _embed and _expand -------------------------------------------------------------------
async def test_embed_children_on_lists_and_single_items(api: JsonApi) -> None:
    listed = body_of(await call(api, "GET", "/api/posts?_embed=comments&_limit=3"))
    assert [[c["id"] for c in post["comments"]] for post in listed] == [[1, 2], [3], []]
    one = body_of(await call(api, "GET", "/api/posts/1?_embed=comments&_embed=tags"))
    assert [c["id"] for c in one["comments"]] == [1, 2]
    assert [t["id"] for t in one["tags"]] == ["t1"]
    # The document is not changed by embedding.
    assert "comments" not in body_of(await call(api, "GET", "/api/posts/1"))


async def test_expand_parent_on_lists_and_single_items(api: JsonApi) -> None:
    listed = body_of(await call(api, "GET", "/api/comments?_expand=post"))
    assert [c.get("post", {}).get("title") for c in listed] == ["alpha", "alpha", "beta", None]
    assert "post" not in listed[3]  # no parent 9: no key, as json-server
    one = body_of(await call(api, "GET", "/api/comments/3?_expand=post"))
    assert one["post"] == DB["posts"][1]


async def test_v1_embed_of_a_singular_name_takes_the_parent(api: JsonApi) -> None:
    one = body_of(await call(api, "GET", "/api/comments/1?_embed=post"))
    assert one["post"]["id"] == 1


@pytest.mark.parametrize(
    "target",
    [
        "/api/posts?_embed=nothing",
        "/api/posts/1?_expand=nothing",
        "/api/posts?" + "&".join(f"_embed=c{i}" for i in range(11)),
    ],
)
async def test_unknown_relations_are_400(api: JsonApi, target: str) -> None:
    response = await call(api, "GET", target)
    assert response.status == 400
    assert "_e" in body_of(response)["error"]


# --- cascade delete, singular POST --------------------------------------------------------
async def test_delete_of_a_parent_deletes_its_children_only(api: JsonApi, db_file: Path) -> None:
    response = await call(api, "DELETE", "/api/posts/1")
    assert response.status == 200
    assert body_of(response)["id"] == 1
    on_disk = json.loads(db_file.read_text())
    assert [c["id"] for c in on_disk["comments"]] == [3, 4]  # the orphan of 9 stays
    assert on_disk["tags"] == []  # "1" is the id 1
    assert [p["id"] for p in on_disk["posts"]] == [2, 3, 4]


async def test_post_to_a_singular_resource_replaces_it(api: JsonApi, db_file: Path) -> None:
    response = await call(api, "POST", "/api/profile", {"name": "new", "theme": "dark"})
    assert response.status == 200  # nothing was created (RFC 9110 §9.3.3): not 201
    assert response.header(b"location") is None
    assert body_of(response) == {"name": "new", "theme": "dark"}
    assert json.loads(db_file.read_text())["profile"] == {"name": "new", "theme": "dark"}


# --- filters, q, sorting, slices ----------------------------------------------------------
QUERIES = [
    ("_=1700000000000", [1, 2, 3, 4]),  # jQuery's cache buster is ignored
    ("title=alpha&_=1", [1]),
    ("color=red", []),  # kept: a filter on a field no item has matches nothing
    ("discount=null", [1]),  # kept: null matches null
    ("views_ne=250", [1, 3, 4]),  # kept: `_ne` is the complement of `=`
    ("q=true", [1]),
    ("q=false", [2]),  # kept: false matches too
    ("q=alpha&q=beta", [1]),  # the first q only
    ("q=beta&q=alpha", [2]),
    ("_sort=views", [1, 2, 4, 3]),  # null before missing, as lodash
    ("_sort=views&_order=desc", [2, 1, 4, 3]),  # kept: null, missing last
    ("_sort=-views", [2, 1, 4, 3]),
    ("_start=-3&_end=-1", [2, 3]),  # Array.prototype.slice
    ("_start=-1", [4]),
    ("_start=1&_end=-1", [2, 3]),
    ("_start=-3&_limit=2", [2, 3]),
    ("_end=-3", [1]),
    # v1's field:op=value beside v0's suffixes
    ("views:gt=100", [2]),
    ("views:gte=100", [1, 2]),
    ("views:lt=250", [1]),
    ("views:lte=250", [1, 2]),
    ("views:ne=250", [1, 3, 4]),
    ("views:eq=250", [2]),
    ("title:eq=alpha&views:gte=0", [1]),
    ("views%3Agt=100", [2]),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES)
async def test_list_queries(api: JsonApi, query: str, expected: list[object]) -> None:
    assert await ids(api, "/api/posts?" + query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("views:in=1", "'in' is not supported"),
        ("_per_page=0", "_per_page must be"),
        ("_per_page=2&_page=x", "_page must be"),
        ("_start=-x", "_start must be an integer"),
    ],
)
async def test_bad_parameters_are_400(api: JsonApi, query: str, message: str) -> None:
    response = await call(api, "GET", "/api/posts?" + query)
    assert response.status == 400
    assert message in body_of(response)["error"]


# --- Link: kept on one page, on no match and past the last page ---------------------------
async def test_link_when_everything_fits_or_nothing_matches(api: JsonApi) -> None:
    one_page = await call(api, "GET", "/api/posts?_page=1")
    assert link(one_page) == '</api/posts?_page=1>; rel="first", </api/posts?_page=1>; rel="last"'
    none = await call(api, "GET", "/api/posts?title=zzz&_page=1")
    assert body_of(none) == []
    assert link(none) == (
        '</api/posts?title=zzz&_page=1>; rel="first", </api/posts?title=zzz&_page=1>; rel="last"'
    )
    past = await call(api, "GET", "/api/posts?_page=3&_limit=2")
    assert body_of(past) == []
    assert link(past) == (
        '</api/posts?_limit=2&_page=1>; rel="first", '
        '</api/posts?_limit=2&_page=2>; rel="prev", '
        '</api/posts?_limit=2&_page=2>; rel="last"'
    )


# --- v1's page object ---------------------------------------------------------------------
async def test_per_page_answers_v1_page_object(api: JsonApi) -> None:
    response = await call(api, "GET", "/api/posts?_page=2&_per_page=3&_embed=comments")
    page = body_of(response)
    assert {k: v for k, v in page.items() if k != "data"} == {
        "first": 1,
        "prev": 1,
        "next": None,
        "last": 2,
        "pages": 2,
        "items": 4,
    }
    assert [p["id"] for p in page["data"]] == [4]
    assert page["data"][0]["comments"] == []
    assert response.header(b"x-total-count") == b"4"
    assert response.header(b"link") is None
    first = body_of(await call(api, "GET", "/api/posts?_per_page=3"))
    assert (first["prev"], first["next"], [p["id"] for p in first["data"]]) == (None, 2, [1, 2, 3])
    clamped = body_of(await call(api, "GET", "/api/posts?_per_page=3&_page=9&views_gte=0"))
    assert (clamped["first"], clamped["last"], clamped["items"]) == (1, 1, 2)
    assert [p["id"] for p in clamped["data"]] == [1, 2]


async def test_page_alone_is_v0s_plain_list(api: JsonApi) -> None:
    response = await call(api, "GET", "/api/posts?_page=2&_limit=3")
    assert [p["id"] for p in body_of(response)] == [4]
    assert link(response) is not None
