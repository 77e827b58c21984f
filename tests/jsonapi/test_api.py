"""`JsonApi.handle` with `Request` values (no sockets): routes, methods, validators, errors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from minicors.errors import ConfigError
from minicors.jsonapi import JsonApi
from minicors.messages import Request, Response, parse_target
from minicors.options import ApiOptions, Limits

DB: dict[str, Any] = {
    "items": [
        {"id": 1, "title": "one", "views": 5},
        {"id": 2, "title": "two", "views": 9},
        {"id": 3, "title": "three", "views": 1},
    ],
    "profile": {"name": "me"},
    "version": 3,
}


@pytest.fixture
def db_document() -> dict[str, Any]:
    """`db_file` (tests/jsonapi/conftest.py) holds `DB` in this module."""
    return DB


@pytest.fixture
def api(db_file: Path) -> JsonApi:
    return JsonApi(ApiOptions(file=str(db_file)))


def on_disk(path: Path) -> Any:
    return json.loads(path.read_text())


async def call(
    api: JsonApi,
    method: str,
    target: str,
    body: object = None,
    *,
    headers: Iterable[tuple[str, str]] = (),
    raw: bytes | None = None,
) -> Response:
    hdrs = list(headers)
    data = b""
    if raw is not None:
        data = raw
    elif body is not None:
        data = json.dumps(body).encode()
        if not any(n.lower() == "content-type" for n, _ in hdrs):
            hdrs.append(("content-type", "application/json"))
    return await api.handle(Request.build(method, target, hdrs, data))


def body_of(response: Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


def header(response: Response, name: bytes) -> str | None:
    value = response.header(name)
    return None if value is None else value.decode()


# --- reads ------------------------------------------------------------------------------------
async def test_list_has_json_etag_total_and_no_cache(api: JsonApi) -> None:
    r = await call(api, "GET", "/api/items")
    assert r.status == 200
    assert header(r, b"content-type") == "application/json"
    assert header(r, b"x-total-count") == "3"
    assert header(r, b"cache-control") == "no-cache"
    assert (header(r, b"etag") or "").startswith('"')
    assert body_of(r) == DB["items"]
    assert r.header(b"link") is None


async def test_paged_list_has_link_and_total(api: JsonApi) -> None:
    r = await call(api, "GET", "/api/items?_sort=views&_page=2&_limit=2")
    assert body_of(r) == [DB["items"][1]]
    assert header(r, b"x-total-count") == "3"
    assert header(r, b"link") == (
        '</api/items?_sort=views&_limit=2&_page=1>; rel="first", '
        '</api/items?_sort=views&_limit=2&_page=1>; rel="prev", '
        '</api/items?_sort=views&_limit=2&_page=2>; rel="last"'
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/api/items/2", DB["items"][1]),
        ("/api/items/2/", DB["items"][1]),
        ("/api/profile", {"name": "me"}),
        ("/api/version", 3),
        ("/api/db", DB),
        ("/api/%69tems/%32", DB["items"][1]),
    ],
)
async def test_get_resources(api: JsonApi, target: str, expected: Any) -> None:
    r = await call(api, "GET", target)
    assert r.status == 200
    assert body_of(r) == expected


async def test_index_lists_the_resources(api: JsonApi) -> None:
    r = await call(api, "GET", "/api")
    assert body_of(r) == {
        "items": {"kind": "collection", "path": "/api/items", "count": 3},
        "profile": {"kind": "singular", "path": "/api/profile"},
        "version": {"kind": "value", "path": "/api/version"},
        "db": {"kind": "document", "path": "/api/db"},
    }
    assert body_of(await call(api, "GET", "/api/")) == body_of(r)


async def test_a_file_key_named_db_wins_over_the_whole_document(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text('{"db": [{"id": 1}], "x": {}}')
    api = JsonApi(ApiOptions(file=str(path)))
    assert body_of(await call(api, "GET", "/api/db")) == [{"id": 1}]


NOT_FOUND = [
    ("/api/nope", "no collection or resource named 'nope'"),
    ("/api/items/99", "no item with id '99' in 'items'"),
    ("/api/items/1.0", "no item with id '1.0'"),
    ("/api/profile/1", "'profile' is not a collection"),
    ("/api/items/1/extra", "no API resource"),
    ("/api/a%2Fb", "no collection or resource named 'a/b'"),
    ("/api/db/1", "no collection or resource named 'db'"),
]


@pytest.mark.parametrize(("target", "message"), NOT_FOUND)
async def test_unknown_paths_are_json_404s(api: JsonApi, target: str, message: str) -> None:
    r = await call(api, "GET", target)
    assert r.status == 404
    assert header(r, b"content-type") == "application/json"
    assert message in body_of(r)["error"]


async def test_bad_percent_encoding_is_400(api: JsonApi) -> None:
    r = await call(api, "GET", "/api/items/%ff")
    assert r.status == 400
    assert "percent-encoded UTF-8" in body_of(r)["error"]


async def test_string_ids_and_encoded_slashes(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text('{"a/b": [{"id": "x/y z", "v": 1}]}')
    api = JsonApi(ApiOptions(file=str(path)))
    r = await call(api, "GET", "/api/a%2Fb/x%2Fy%20z")
    assert body_of(r) == {"id": "x/y z", "v": 1}
    created = await call(api, "POST", "/api/a%2Fb", {"v": 2})
    assert created.status == 201
    new_id = body_of(created)["id"]
    assert header(created, b"location") == f"/api/a%2Fb/{new_id}"


async def test_head_has_the_get_headers(api: JsonApi) -> None:
    get = await call(api, "GET", "/api/items?_page=1&_limit=1")
    head = await call(api, "HEAD", "/api/items?_page=1&_limit=1")
    assert head.status == 200
    assert head.headers == get.headers


@pytest.mark.parametrize(
    "target", ["/api/items", "/api/items/1", "/api/profile", "/api/db", "/api"]
)
async def test_if_none_match_gives_304(api: JsonApi, target: str) -> None:
    tag = header(await call(api, "GET", target), b"etag")
    assert tag is not None
    for value in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        r = await call(api, "GET", target, headers=[("if-none-match", value)])
        assert r.status == 304, value
        assert header(r, b"etag") == tag
        assert r.body == b""
    r = await call(api, "GET", target, headers=[("if-none-match", '"other"')])
    assert r.status == 200


async def test_list_etag_changes_when_the_total_changes_beyond_the_page(api: JsonApi) -> None:
    first = await call(api, "GET", "/api/items?_page=1&_limit=1")
    await call(api, "POST", "/api/items", {"title": "four"})
    again = await call(api, "GET", "/api/items?_page=1&_limit=1")
    assert first.body == again.body
    assert header(first, b"etag") != header(again, b"etag")


# --- writes -----------------------------------------------------------------------------------
async def test_post_creates_with_next_id_location_and_etag(api: JsonApi, db_file: Path) -> None:
    r = await call(api, "POST", "/api/items", {"title": "four"})
    assert r.status == 201
    assert body_of(r) == {"id": 4, "title": "four"}
    assert header(r, b"location") == "/api/items/4"
    get = await call(api, "GET", "/api/items/4")
    assert header(r, b"etag") == header(get, b"etag")
    assert on_disk(db_file)["items"][-1] == {"id": 4, "title": "four"}


async def test_put_patch_delete_reach_the_file(api: JsonApi, db_file: Path) -> None:
    r = await call(api, "PUT", "/api/items/1", {"title": "uno"})
    assert (r.status, body_of(r)) == (200, {"id": 1, "title": "uno"})
    r = await call(api, "PATCH", "/api/items/2", {"views": 10})
    assert (r.status, body_of(r)) == (200, {"id": 2, "title": "two", "views": 10})
    r = await call(api, "DELETE", "/api/items/3")
    assert (r.status, body_of(r)) == (200, DB["items"][2])
    r = await call(api, "PATCH", "/api/profile", {"theme": "dark"})
    assert body_of(r) == {"name": "me", "theme": "dark"}
    assert on_disk(db_file) == {
        "items": [{"id": 1, "title": "uno"}, {"id": 2, "title": "two", "views": 10}],
        "profile": {"name": "me", "theme": "dark"},
        "version": 3,
    }
    assert db_file.read_text().endswith("}\n")
    assert (await call(api, "GET", "/api/items/3")).status == 404


async def test_merge_patch_content_type(api: JsonApi) -> None:
    await call(api, "PUT", "/api/profile", {"name": "me", "address": {"city": "X", "zip": "1"}})
    r = await call(
        api,
        "PATCH",
        "/api/profile",
        {"address": {"zip": None}, "name": None},
        headers=[("content-type", "application/merge-patch+json")],
    )
    assert body_of(r) == {"address": {"city": "X"}}


async def test_if_match_gives_optimistic_concurrency(api: JsonApi, db_file: Path) -> None:
    tag = header(await call(api, "GET", "/api/items/1"), b"etag")
    assert tag is not None
    ok = await call(api, "PATCH", "/api/items/1", {"views": 6}, headers=[("if-match", tag)])
    assert ok.status == 200
    new_tag = header(ok, b"etag")
    stale = await call(api, "PUT", "/api/items/1", {"title": "x"}, headers=[("if-match", tag)])
    assert stale.status == 412
    assert header(stale, b"etag") == new_tag  # the client learns the current version
    assert "changed since you read it" in body_of(stale)["error"]
    gone = await call(api, "DELETE", "/api/items/1", headers=[("if-match", tag)])
    assert gone.status == 412
    weak = await call(api, "DELETE", "/api/items/1", headers=[("if-match", f"W/{new_tag}")])
    assert weak.status == 412  # If-Match uses the strong comparison
    assert on_disk(db_file)["items"][0] == {"id": 1, "title": "one", "views": 6}
    star = await call(api, "DELETE", "/api/items/1", headers=[("if-match", "*")])
    assert star.status == 200


async def test_if_match_on_singular_and_if_none_match_star(api: JsonApi) -> None:
    r = await call(api, "PUT", "/api/profile", {"a": 1}, headers=[("if-match", '"nope"')])
    assert r.status == 412
    r = await call(api, "PUT", "/api/profile", {"a": 1}, headers=[("if-none-match", "*")])
    assert r.status == 412


async def test_concurrent_if_match_writers_exactly_one_wins(api: JsonApi) -> None:
    tag = header(await call(api, "GET", "/api/items/2"), b"etag")
    assert tag is not None
    statuses: list[int] = []

    async def writer(n: int) -> None:
        r = await call(api, "PUT", "/api/items/2", {"n": n}, headers=[("if-match", tag)])
        statuses.append(r.status)

    async with trio.open_nursery() as nursery:
        for n in range(10):
            nursery.start_soon(writer, n)
    assert sorted(statuses) == [200] + [412] * 9


def ct(value: str) -> list[tuple[str, str]]:
    return [("content-type", value)]


J = ct("application/json")
BIG = b'{"a": "' + b"x" * 300 + b'"}'
BAD_WRITES: list[tuple[str, str, list[tuple[str, str]], bytes, int, str]] = [
    ("POST", "/api/items", ct("text/plain"), b"{}", 415, "must be application/json"),
    ("POST", "/api/items", [], b"{}", 415, "missing Content-Type"),
    ("PUT", "/api/items/1", ct("application/x-www-form-urlencoded"), b"a=1", 415, "not appl"),
    ("POST", "/api/items", ct("application/json; charset=latin-1"), b"{}", 415, "must be UTF-8"),
    ("POST", "/api/items", [*J, ("content-encoding", "gzip")], b"{}", 415, "Content-Encoding"),
    (
        "POST",
        "/api/items",
        ct("application/merge-patch+json"),
        b"{}",
        415,
        "must be application/json",
    ),
    ("POST", "/api/items", J, b"{oops", 400, "not valid JSON"),
    ("POST", "/api/items", J, b"[1]", 400, "must be a JSON object"),
    ("POST", "/api/items", J, b"", 400, "empty"),
    ("POST", "/api/items", J, b'{"id": 2}', 409, "already exists"),
    ("PUT", "/api/items/1", J, b'{"id": 2}', 400, "disagrees with the URL"),
    ("PATCH", "/api/items/1", J, b'{"id": "2"}', 400, "disagrees with the URL"),
    ("PUT", "/api/items/42", J, b"{}", 404, "no item with id '42'"),
    ("DELETE", "/api/items/42", [], b"", 404, "no item with id '42'"),
    ("POST", "/api/nope", J, b"{}", 404, "no collection or resource named 'nope'"),
    ("POST", "/api/items", J, BIG, 413, "over 256 bytes"),
]


@pytest.mark.parametrize(("method", "target", "headers", "data", "status", "message"), BAD_WRITES)
async def test_bad_writes_are_precise_and_leave_the_file_untouched(
    db_file: Path,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    data: bytes,
    status: int,
    message: str,
) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)), limits=Limits(max_body_bytes=256))
    before = db_file.read_bytes()
    stamp = os.stat(db_file).st_mtime_ns
    r = await call(api, method, target, headers=headers, raw=data)
    assert r.status == status
    assert header(r, b"content-type") == "application/json"
    assert message in body_of(r)["error"]
    assert db_file.read_bytes() == before
    assert os.stat(db_file).st_mtime_ns == stamp


METHODS = [
    ("POST", "/api/items/1", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
    ("DELETE", "/api/items", "GET, HEAD, POST, OPTIONS"),
    ("PUT", "/api/items", "GET, HEAD, POST, OPTIONS"),
    ("DELETE", "/api/profile", "GET, HEAD, POST, PUT, PATCH, OPTIONS"),
    ("PUT", "/api/version", "GET, HEAD, OPTIONS"),
    ("POST", "/api/db", "GET, HEAD, OPTIONS"),
    ("DELETE", "/api", "GET, HEAD, OPTIONS"),
    ("BREW", "/api/items", "GET, HEAD, POST, OPTIONS"),
]


@pytest.mark.parametrize(("method", "target", "allow"), METHODS)
async def test_wrong_method_is_405_with_allow(
    api: JsonApi, db_file: Path, method: str, target: str, allow: str
) -> None:
    before = db_file.read_bytes()
    r = await call(api, method, target, {"x": 1})
    assert r.status == 405
    assert header(r, b"allow") == allow
    assert method in body_of(r)["error"]
    if target == "/api/db":
        assert body_of(r)["error"] == "POST is not allowed on the whole document (it is read-only)"
    assert db_file.read_bytes() == before
    options = await call(api, "OPTIONS", target)
    assert (options.status, header(options, b"allow")) == (204, allow)


async def test_read_only_refuses_writes_with_405(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file), read_only=True))
    before = db_file.read_bytes()
    writes = [("POST", "/api/items"), ("PUT", "/api/items/1"), ("PATCH", "/api/profile")]
    for method, target in [*writes, ("DELETE", "/api/items/1")]:
        r = await call(api, method, target, {"x": 1})
        assert r.status == 405
        assert header(r, b"allow") == "GET, HEAD, OPTIONS"
        assert "read-only" in body_of(r)["error"]
    assert (await call(api, "GET", "/api/items/1")).status == 200
    assert db_file.read_bytes() == before


async def test_delay_postpones_every_answer(
    db_file: Path, autojump_clock: trio.testing.MockClock
) -> None:
    api = JsonApi(ApiOptions(file=str(db_file), delay_ms=1500))
    start = trio.current_time()
    r = await call(api, "GET", "/api/items")
    assert r.status == 200
    assert trio.current_time() - start >= 1.5


@pytest.mark.parametrize(
    ("prefix", "path", "owned"),
    [
        ("/api", "/api", True),
        ("/api", "/api/items", True),
        ("/api", "/apix", False),
        ("/api", "/", False),
        ("/api/", "/api/items", True),
        ("/v1/data", "/v1/data/items", True),
        ("/v1/data", "/v1/items", False),
        ("/", "/anything", True),
        ("/api", "//api//items", True),  # the segments every part of minicors reads
        ("/api", "/%61pi/items", True),
        ("/api", "/api%2Fitems", False),  # an encoded separator stays inside its segment
        ("/api", "http://h.test/api/items", True),
        ("/", "*", False),
    ],
)
def test_owns(db_file: Path, prefix: str, path: str, owned: bool) -> None:
    api = JsonApi(ApiOptions(file=str(db_file), prefix=prefix))
    assert api.owns(parse_target(path)) is owned


async def test_custom_prefix_in_locations_and_index(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file), prefix="/v1/data"))
    r = await call(api, "POST", "/v1/data/items", {"t": 1})
    assert header(r, b"location") == "/v1/data/items/4"
    assert body_of(await call(api, "GET", "/v1/data"))["items"]["path"] == "/v1/data/items"


# --- start-up errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "db.json cannot be read (No such file or directory); create it"),
        ('{"items": [1,]}', "db.json is not valid JSON: Expecting value at line 1, column 14; fix"),
        ('{\n  "a": 1\n  "b": 2\n}', "Expecting ',' delimiter at line 3, column 3"),
        ("", "Expecting value at line 1, column 1"),
        ("[1, 2]", "holds an array at the top level, not an object; wrap it"),
        ('"x"', "holds a string at the top level"),
        ('{"a": NaN}', "NaN is not allowed"),
        (b"\xff{}", "is not UTF-8"),
    ],
)
def test_bad_file_at_start_is_a_one_line_config_error(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "db.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        JsonApi(ApiOptions(file=str(path)))
    text = str(info.value)
    assert message in text
    assert str(path) in text
    assert "\n" not in text


def test_prefix_must_start_with_a_slash(db_file: Path) -> None:
    with pytest.raises(ConfigError, match="must start with '/'"):
        JsonApi(ApiOptions(file=str(db_file), prefix="api"))


def test_stale_temporary_files_of_dead_processes_are_removed(db_file: Path) -> None:
    dead = db_file.parent / ".db.json.999999999.abc.tmp"  # no such pid
    alive = db_file.parent / f".db.json.{os.getpid()}.abc.tmp"
    other = db_file.parent / ".other.json.999999999.abc.tmp"
    for path in (dead, alive, other):
        path.write_text("{")
    JsonApi(ApiOptions(file=str(db_file)))
    assert not dead.exists()
    assert alive.exists() and other.exists()
