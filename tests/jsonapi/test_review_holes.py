"""What a hostile review of the reworked API found, each once reproduced against a live server:
an unbounded queue of heavy queries, relations and long `_sort` lists on the event loop, a new
id sharing a URL with a string id, an id no URL can name, a v1 page object that disagreed with
X-Total-Count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from minicors.jsonapi import JsonApi
from minicors.jsonapi.api import MAX_SLOW_WAITING
from minicors.jsonapi.query import MAX_SORT_KEYS
from minicors.messages import Response
from minicors.options import ApiOptions

from .test_holes import send


@pytest.fixture
def db_document() -> dict[str, Any]:
    return {
        "posts": [{"id": 1, "title": "one"}, {"id": 2, "title": "two"}, {"id": "3", "t": "s"}],
        "comments": [{"id": 1, "postId": 1}, {"id": 2, "postId": 2}],
    }


@pytest.fixture
def api(db_file: Path) -> JsonApi:
    return JsonApi(ApiOptions(file=str(db_file)))


def body(response: Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


async def test_heavy_queries_wait_in_a_bounded_queue(api: JsonApi) -> None:
    """The one worker slot held, MAX_SLOW_WAITING heavy queries wait; the next is a 503 at
    once instead of joining a queue that outlives its clients."""
    holder = object()
    await api._slow_reads.acquire_on_behalf_of(holder)
    answers: list[int] = []

    async def heavy() -> None:
        # Relations always run in the worker slot (a small `_like` runs on the event loop).
        answers.append((await send(api, "GET", "/api/posts?_embed=comments")).status)

    async with trio.open_nursery() as nursery:
        for _ in range(MAX_SLOW_WAITING):
            nursery.start_soon(heavy)
        with trio.fail_after(5):
            while api._slow_reads.statistics().tasks_waiting < MAX_SLOW_WAITING:
                await trio.sleep(0.01)
        with trio.fail_after(5):  # answered at once, not queued
            refused = await send(api, "GET", "/api/comments/1?_expand=post")
        assert refused.status == 503
        assert refused.header(b"retry-after") == b"1"
        assert "too many heavy queries" in body(refused)["error"]
        api._slow_reads.release_on_behalf_of(holder)
    assert answers == [200] * MAX_SLOW_WAITING


@pytest.mark.parametrize(
    "target",
    [
        "/api/comments/1?_expand=post",
        "/api/posts?_embed=comments",
        "/api/posts/1?_%65mbed=comments",
    ],
)
async def test_relations_run_off_the_event_loop(api: JsonApi, target: str) -> None:
    """They read another collection whole, whatever this one's size: through the worker slot."""
    holder = object()
    await api._slow_reads.acquire_on_behalf_of(holder)
    with trio.move_on_after(0.5) as waited:  # the slot is held: the request must wait for it
        await send(api, "GET", target)
    assert waited.cancelled_caught
    api._slow_reads.release_on_behalf_of(holder)
    with trio.fail_after(5):
        assert (await send(api, "GET", target)).status == 200


async def test_a_sort_of_too_many_fields_is_refused(api: JsonApi) -> None:
    ok = await send(api, "GET", "/api/posts?_sort=" + ",".join(["title"] * MAX_SORT_KEYS))
    assert ok.status == 200
    too_many = await send(api, "GET", "/api/posts?_sort=" + ",".join(["-t", "a.b"] * 700))
    assert too_many.status == 400
    assert f"at most {MAX_SORT_KEYS} fields" in body(too_many)["error"]


async def test_a_new_id_never_shares_a_url_with_a_string_id(api: JsonApi) -> None:
    created = await send(api, "POST", "/api/posts", b'{"title": "new"}')
    assert created.status == 201
    new_id = body(created)["id"]
    assert new_id == 4  # 3 reads as the URL of "3"
    assert created.header(b"location") == b"/api/posts/4"
    assert body(await send(api, "GET", "/api/posts/3")) == {"id": "3", "t": "s"}
    assert body(await send(api, "GET", "/api/posts/4"))["title"] == "new"


async def test_an_id_no_url_can_name_is_refused_before_the_write(
    api: JsonApi, db_file: Path
) -> None:
    before = db_file.read_bytes()
    refused = await send(api, "POST", "/api/comments", b'{"id": "\\udc00x", "t": "ghost"}')
    assert refused.status == 400
    assert "no lone surrogates" in body(refused)["error"]
    assert db_file.read_bytes() == before  # nothing was written


@pytest.mark.parametrize("extra", ["_limit=1", "_start=0", "_end=1"])
async def test_the_v1_page_object_is_not_combined_with_a_slice(api: JsonApi, extra: str) -> None:
    refused = await send(api, "GET", f"/api/posts?_per_page=1&{extra}")
    assert refused.status == 400
    assert "_per_page pages the whole list" in body(refused)["error"]
    page = await send(api, "GET", "/api/posts?_per_page=1")
    assert page.status == 200 and body(page)["items"] == 3
