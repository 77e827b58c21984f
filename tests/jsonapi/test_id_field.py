"""`--id-field NAME`: every route keys items by NAME, and a field called `id` is plain data.

The file's items have `uuid` strings (or integers) and also an unrelated `id`: with
`--id-field uuid` the `id` must be filterable and writable like any field, never a key.  Then
the id index kept per served document, through writes and with more collections than the old
cache held, and the flag through the command line, the config file and `--print-config`."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from minicors.config import load, read_toml
from minicors.configdump import dump_config
from minicors.errors import ConfigError
from minicors.jsonapi import JsonApi
from minicors.jsonapi.index import IdIndex, id_text, scan
from minicors.jsonapi.store import MAX_INT_ID, Document, create_item, delete_item, replace_item
from minicors.messages import LiveBody, Request, Response
from minicors.options import ApiOptions

from ..procs import run_to_exit, running


@pytest.fixture
def db_document() -> dict[str, Any]:
    # `id` is deliberately shared and misleading: users both have id 1, and comment c3's
    # postId names post p1's plain `id`, which is no key under --id-field uuid.
    return {
        "users": [{"uuid": "u-a", "id": 1, "name": "ann"}, {"uuid": "u-b", "id": 1, "name": "bo"}],
        "posts": [{"uuid": "p1", "id": 7, "title": "a"}, {"uuid": "p2", "id": 8, "title": "b"}],
        "comments": [
            {"uuid": "c1", "postId": "p1", "text": "x"},
            {"uuid": "c2", "postId": "p2", "text": "y"},
            {"uuid": "c3", "postId": 7, "text": "z"},
        ],
        "tasks": [{"uuid": 3, "id": "t"}, {"uuid": 10}],
        "notes": [{"uuid": 1, "taskId": 3}],
        "profile": {"uuid": "me", "id": 5},
    }


@pytest.fixture
def api(db_file: Path) -> JsonApi:
    return JsonApi(ApiOptions(file=str(db_file), id_field="uuid"))


async def call(api: JsonApi, method: str, target: str, body: object = None) -> Response:
    headers = [("content-type", "application/json")] if body is not None else []
    data = json.dumps(body).encode() if body is not None else b""
    return await api.handle(Request.build(method, target, headers, data))


def body_of(response: Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


def on_disk(path: Path) -> Any:
    return json.loads(path.read_text())


# --- reads ------------------------------------------------------------------------------------
async def test_get_finds_items_by_the_id_field_only(api: JsonApi) -> None:
    r = await call(api, "GET", "/api/posts/p1")
    assert r.status == 200 and body_of(r) == {"uuid": "p1", "id": 7, "title": "a"}
    assert (await call(api, "GET", "/api/posts/7")).status == 404  # `id` is no key now
    assert (await call(api, "HEAD", "/api/users/u-b")).status == 200
    assert (await call(api, "GET", "/api/tasks/10")).status == 200  # 10 reads as "10"


async def test_a_field_called_id_is_ordinary_data(api: JsonApi) -> None:
    both = body_of(await call(api, "GET", "/api/users?id=1"))
    assert [u["uuid"] for u in both] == ["u-a", "u-b"]
    ordered = body_of(await call(api, "GET", "/api/posts?_sort=-id"))
    assert [p["uuid"] for p in ordered] == ["p2", "p1"]
    assert body_of(await call(api, "GET", "/api/posts?id_gte=8"))[0]["uuid"] == "p2"


# --- writes -----------------------------------------------------------------------------------
async def test_post_assigns_the_id_field_and_locates_by_it(api: JsonApi, db_file: Path) -> None:
    r = await call(api, "POST", "/api/tasks", {"id": 1, "what": "w"})
    assert r.status == 201
    made = body_of(r)
    assert made == {"uuid": 11, "id": 1, "what": "w"}  # next integer; the body's id is kept
    assert r.header(b"location") == b"/api/tasks/11"
    assert list(on_disk(db_file)["tasks"][-1]) == ["uuid", "id", "what"]  # NAME first
    r = await call(api, "POST", "/api/posts", {"title": "c", "id": 7})  # a taken *id* is fine
    assert r.status == 201
    made = body_of(r)
    assert isinstance(made["uuid"], str) and len(made["uuid"]) == 36  # string keys: a UUID
    assert made["id"] == 7
    assert r.header(b"location") == f"/api/posts/{made['uuid']}".encode()
    assert (await call(api, "GET", f"/api/posts/{made['uuid']}")).status == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"uuid": "p1"}, 409),
        ({"uuid": 1.5}, 400),
        ({"uuid": MAX_INT_ID + 1}, 400),
        ({"uuid": True}, 400),
        ({"uuid": {"a": 1}}, 400),
        ({"uuid": "new"}, 201),
        ({"uuid": -MAX_INT_ID}, 201),
    ],
)
async def test_a_client_given_id_field_is_checked_as_an_id(
    api: JsonApi, body: dict[str, Any], status: int
) -> None:
    r = await call(api, "POST", "/api/posts", body)
    assert r.status == status, body_of(r)
    if status == 409:
        assert "uuid 'p1' already exists" in body_of(r)["error"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_put_and_patch_may_not_change_the_id_field(api: JsonApi, method: str) -> None:
    r = await call(api, method, "/api/posts/p1", {"uuid": "other", "title": "t"})
    assert r.status == 400
    assert "uuid in the body" in body_of(r)["error"]
    r = await call(api, method, "/api/posts/p1", {"uuid": "p1", "id": 99, "title": "t"})
    assert r.status == 200
    assert body_of(r)["uuid"] == "p1" and body_of(r)["id"] == 99  # `id` is writable data


async def test_put_replaces_a_plain_id_and_keeps_the_id_field(api: JsonApi) -> None:
    r = await call(api, "PUT", "/api/posts/p2", {"title": "only"})
    assert body_of(r) == {"uuid": "p2", "title": "only"}  # `id` gone, as any field PUT omits
    r = await call(api, "PATCH", "/api/posts/p1", {"uuid": None, "title": "n"})
    assert r.status == 400  # null would remove the key: that changes it
    r = await call(api, "PUT", "/api/profile", {"name": "x"})
    assert body_of(r) == {"uuid": "me", "name": "x"}  # a singular keeps NAME, as it keeps `id`


async def test_delete_finds_by_the_id_field(api: JsonApi, db_file: Path) -> None:
    assert (await call(api, "DELETE", "/api/users/1")).status == 404
    r = await call(api, "DELETE", "/api/users/u-a")
    assert r.status == 200 and body_of(r)["uuid"] == "u-a"
    assert [u["uuid"] for u in on_disk(db_file)["users"]] == ["u-b"]
    assert (await call(api, "GET", "/api/users/u-a")).status == 404


# --- relations --------------------------------------------------------------------------------
async def test_nested_routes_use_the_parents_id_field(api: JsonApi, db_file: Path) -> None:
    r = await call(api, "GET", "/api/posts/p1/comments")
    assert [c["uuid"] for c in body_of(r)] == ["c1"]  # not c3, whose postId is p1's plain id
    assert (await call(api, "GET", "/api/posts/7/comments")).status == 404
    r = await call(api, "POST", "/api/posts/p2/comments", {"text": "new"})
    assert r.status == 201 and body_of(r)["postId"] == "p2"
    r = await call(api, "POST", "/api/tasks/3/notes", {"text": "n"})
    made = body_of(r)
    assert made["taskId"] == 3 and made["uuid"] == 2  # the parent's value with its type
    r = await call(api, "POST", "/api/tasks/3/notes", {"taskId": 10})
    assert r.status == 400


async def test_embed_and_expand_match_the_id_field(api: JsonApi) -> None:
    posts = body_of(await call(api, "GET", "/api/posts?_embed=comments"))
    assert [[c["uuid"] for c in p["comments"]] for p in posts] == [["c1"], ["c2"]]
    one = body_of(await call(api, "GET", "/api/posts/p2?_embed=comments"))
    assert [c["uuid"] for c in one["comments"]] == ["c2"]
    comments = body_of(await call(api, "GET", "/api/comments?_expand=post"))
    assert [c.get("post", {}).get("uuid") for c in comments] == ["p1", "p2", None]
    page = body_of(await call(api, "GET", "/api/posts?_per_page=1&_embed=comments"))
    assert page["data"][0]["comments"][0]["uuid"] == "c1"
    task = body_of(await call(api, "GET", "/api/notes/1?_expand=task"))
    assert task["task"] == {"uuid": 3, "id": "t"}


async def take(stream: AsyncGenerator[bytes, None], count: int) -> list[dict[str, Any]]:
    """The data of the next `count` events of a feed stream, within a bounded wait."""
    found: list[dict[str, Any]] = []
    with trio.fail_after(5):
        while len(found) < count:
            for block in (await stream.__anext__()).decode().split("\n\n"):
                for line in block.split("\n"):
                    if line.startswith("data: "):
                        found.append(json.loads(line[6:]))
    return found


async def test_cascade_and_the_feed_carry_the_id_field(api: JsonApi, db_file: Path) -> None:
    assert isinstance((await call(api, "GET", "/api/_events")).body, LiveBody)
    stream = api.feed.stream(None)  # what that route streams
    await stream.__anext__()  # the retry line
    await call(api, "PATCH", "/api/posts/p2", {"title": "c"})
    await call(api, "POST", "/api/tasks", {})
    r = await call(api, "DELETE", "/api/posts/p1")
    assert r.status == 200
    comments = on_disk(db_file)["comments"]
    assert [c["uuid"] for c in comments] == ["c2", "c3"]  # c3 names the plain id 7: kept
    events = await take(stream, 4)
    assert [(e["collection"], e["id"]) for e in events] == [
        ("posts", "p2"),
        ("tasks", 11),
        ("posts", "p1"),
        ("comments", "c1"),
    ]
    await stream.aclose()


# --- the index --------------------------------------------------------------------------------
async def test_get_by_id_stays_exact_with_twenty_collections(tmp_path: Path) -> None:
    names = [f"c{n:02}" for n in range(20)]  # more than the 8 lists the old cache kept
    document = {name: [{"uuid": f"{name}-{k}", "k": k} for k in range(30)] for name in names}
    path = tmp_path / "many.json"
    path.write_text(json.dumps(document))
    api = JsonApi(ApiOptions(file=str(path), id_field="uuid"))
    for round_ in range(3):  # every collection in turn, again and again, writes in between
        for name in names:
            r = await call(api, "GET", f"/api/{name}/{name}-{round_ + 5}")
            assert body_of(r)["k"] == round_ + 5
            assert (await call(api, "GET", f"/api/{name}/{name}-99")).status == 404
            await call(api, "PATCH", f"/api/{name}/{name}-{round_}", {"r": round_})
            await call(api, "DELETE", f"/api/{name}/{name}-{round_ + 10}")
            made = body_of(await call(api, "POST", f"/api/{name}", {"uuid": f"{name}-n{round_}"}))
            assert body_of(await call(api, "GET", f"/api/{name}/{made['uuid']}")) == made
        assert api.ids.entries() <= len(names)  # one entry per collection, never more
    for name in names:
        r = await call(api, "GET", f"/api/{name}/{name}-20")
        assert body_of(r) == {"uuid": f"{name}-20", "k": 20}
        for gone in (10, 11, 12):
            assert (await call(api, "GET", f"/api/{name}/{name}-{gone}")).status == 404


IDS = st.one_of(st.integers(-2, 12), st.sampled_from(["1", "7", "x", "1.5"]), st.just(1.5))
OPS = st.lists(st.tuples(st.sampled_from(["create", "patch", "delete"]), IDS), max_size=25)
WANTED = ["1", "7", "x", "1.5", "0", "12", "13", "2.0", "01"]


@given(st.lists(IDS, max_size=10), OPS)
@settings(max_examples=100, deadline=None)
def test_one_kept_index_agrees_with_a_scan_through_writes(
    initial: list[Any], ops: list[tuple[str, Any]]
) -> None:
    ids = IdIndex("uuid")
    document: Document = {
        "c": [{"uuid": value, "id": 1} for value in initial],
        "d": [{"uuid": "x"}],
    }
    ids.warm(document)
    history = [document]
    for op, value in ops:
        text = id_text(value) or ""
        try:
            if op == "create":
                document, _ = create_item(document, "c", {"uuid": value}, ids)
            elif op == "patch":
                document, _ = replace_item(document, "c", text, {"v": 1}, mode="merge", ids=ids)
            else:
                document, _ = delete_item(document, "c", text, ids)
        except Exception:  # noqa: S112 - a refused write (409/404/400) changes nothing
            continue
        history.append(document)
        for earlier in history[-3:]:  # a reader may still hold an older version
            for key in ("c", "d"):
                items = earlier[key]
                assert isinstance(items, list)
                for w in WANTED:
                    assert ids.find(key, items, w) == scan(items, w, "uuid"), (items, w)
        assert ids.entries() <= 2


def test_posts_number_after_the_largest_integer_id_field() -> None:
    ids = IdIndex("uuid")
    document: Document = {"c": [{"uuid": 4, "id": 100}, {"uuid": "s"}]}
    document, first = create_item(document, "c", {}, ids)
    document, second = create_item(document, "c", {"uuid": 40}, ids)
    document, third = create_item(document, "c", {"id": 500}, ids)
    assert (first["uuid"], second["uuid"], third["uuid"]) == (5, 40, 41)


# --- the flag, the config file, --print-config ---------------------------------------------------
def test_the_flag_serves_over_the_wire(db_file: Path, tmp_path: Path) -> None:
    args = [str(tmp_path), "--api", str(db_file), "--id-field", "uuid", "-p", "0"]
    with running(args) as srv:
        status, headers, data = srv.request("GET", "/api/posts/p2")
        assert status == 200 and json.loads(data)["title"] == "b"
        body = json.dumps({"uuid": "p9", "title": "w"}).encode()
        json_type = {"Content-Type": "application/json"}
        status, headers, _ = srv.request("POST", "/api/posts", headers=json_type, body=body)
        assert status == 201 and headers["location"] == "/api/posts/p9"
        status, _, data = srv.request("GET", "/api/posts/p9?_embed=comments")
        assert status == 200 and json.loads(data)["comments"] == []
        assert srv.request("GET", "/api/posts/7")[0] == 404
        srv.stop()


def test_the_config_key_and_print_config_round_trip(tmp_path: Path, db_file: Path) -> None:
    source = tmp_path / "c.toml"
    source.write_text(f'[api]\nfile = "{db_file}"\nid_field = "uuid"\n')
    assert read_toml(str(source))["api.id_field"] == "uuid"
    config = load({}, str(source))
    assert config.api is not None and config.api.id_field == "uuid"
    text = dump_config(config)
    assert 'id_field = "uuid"' in text
    back = tmp_path / "back.toml"
    back.write_text(text)
    assert dump_config(load({}, str(back))) == text
    assert load({}, str(back)).api == config.api
    flags = load({"api.file": str(db_file), "api.id_field": "key"}, str(source))
    assert flags.api is not None and flags.api.id_field == "key"  # the flag wins
    plain = load({"api.file": str(db_file)}, None)
    assert plain.api is not None and plain.api.id_field == "id"


@pytest.mark.parametrize(
    ("args", "toml", "needle"),
    [
        (["--id-field", ""], "", "--id-field ([api] id_field) is empty"),
        ([], 'id_field = ""', "--id-field ([api] id_field) is empty"),
        ([], "id_field = 3", "[api] id_field must be a string"),
    ],
)
def test_a_bad_id_field_is_one_line_and_exit_2(
    tmp_path: Path, db_file: Path, args: list[str], toml: str, needle: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[api]\nfile = "{db_file}"\n{toml}\n')
    result = run_to_exit(["serve", str(tmp_path), "--config", str(config), "-p", "0", *args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_an_empty_id_field_is_refused_by_the_api_itself(db_file: Path) -> None:
    with pytest.raises(ConfigError, match="is empty"):
        JsonApi(ApiOptions(file=str(db_file), id_field=""))
