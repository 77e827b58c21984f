"""Durable writes: group commit, concurrency, edits made outside minicors, failures rolled back."""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import resource
import signal
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from minicors.jsonapi import JsonApi
from minicors.jsonapi.fileio import http_error_for
from minicors.jsonapi.persist import HELD_VERSIONS
from minicors.messages import Request, Response
from minicors.options import ApiOptions


def edit_outside(path: Path, text: str) -> None:
    """An editor's save: new content under the same name (a new inode, like most editors)."""
    temporary = path.with_name("editor-save.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


async def post(api: JsonApi, target: str, value: Any) -> Response:
    headers = [("content-type", "application/json")]
    return await api.handle(Request.build("POST", target, headers, json.dumps(value).encode()))


async def get(api: JsonApi, target: str) -> Any:
    response = await api.handle(Request.build("GET", target))
    assert isinstance(response.body, bytes)
    return json.loads(response.body) if response.status == 200 else response.status


@pytest.mark.parametrize("group_commit", [True, False])
async def test_200_concurrent_posts_get_distinct_ids_all_in_the_file(
    db_file: Path, group_commit: bool
) -> None:
    api = JsonApi(ApiOptions(file=str(db_file), group_commit=group_commit))
    results: list[Response] = []

    async def one(n: int) -> None:
        results.append(await post(api, "/api/items", {"n": n}))

    async with trio.open_nursery() as nursery:
        for n in range(200):
            nursery.start_soon(one, n)
    assert [r.status for r in results] == [201] * 200
    ids = [json.loads(r.body)["id"] for r in results if isinstance(r.body, bytes)]
    assert sorted(ids) == list(range(2, 202))
    on_disk = json.loads(db_file.read_text())["items"]
    assert sorted(item["id"] for item in on_disk) == list(range(1, 202))
    assert sorted(item["n"] for item in on_disk[1:]) == list(range(200))
    if group_commit:
        assert api.store.commits < 50  # the POSTs shared fsyncs
    else:
        assert api.store.commits == 200
    assert [p.name for p in db_file.parent.iterdir()] == ["db.json"]  # no temporaries left


async def test_an_external_edit_is_served_and_writes_apply_on_top(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    await post(api, "/api/items", {"mine": 1})
    edit_outside(db_file, '{"items": [{"id": 10, "theirs": true}], "extra": {"k": 1}}')
    assert await get(api, "/api/items") == [{"id": 10, "theirs": True}]
    created = await post(api, "/api/items", {"mine": 2})
    assert created.status == 201
    assert json.loads(db_file.read_text()) == {
        "items": [{"id": 10, "theirs": True}, {"id": 11, "mine": 2}],
        "extra": {"k": 1},
    }


async def test_an_edit_in_place_with_the_same_size_is_noticed(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    text = db_file.read_text()
    with db_file.open("r+") as file:  # same inode, same length: only mtime/ctime change
        file.write(text.replace('"v": 0', '"v": 7'))
    assert await get(api, "/api/items/1") == {"id": 1, "v": 7}


async def test_an_invalid_external_edit_is_never_overwritten(
    db_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    broken = '{"items": [{"id": 1, "v": 0},\n'
    edit_outside(db_file, broken)
    with caplog.at_level(logging.WARNING, logger="minicors.jsonapi"):
        for _ in range(3):
            assert await get(api, "/api/items") == [{"id": 1, "v": 0}]  # the last good version
    warnings = [r.getMessage() for r in caplog.records if "not valid JSON" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not once per request
    assert "line 2, column 1" in warnings[0]
    refused = await post(api, "/api/items", {"v": 1})
    assert refused.status == 409
    assert isinstance(refused.body, bytes)
    assert "edited outside minicors" in json.loads(refused.body)["error"]
    assert db_file.read_text() == broken
    edit_outside(db_file, '{"items": [{"id": 1, "v": "fixed"}]}')
    assert (await post(api, "/api/items", {"v": 2})).status == 201
    assert json.loads(db_file.read_text())["items"] == [{"id": 1, "v": "fixed"}, {"id": 2, "v": 2}]


async def test_a_deleted_file_is_recreated_by_the_next_write(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    db_file.unlink()
    assert await get(api, "/api/items/1") == {"id": 1, "v": 0}
    assert (await post(api, "/api/items", {"v": 1})).status == 201
    assert json.loads(db_file.read_text())["items"] == [{"id": 1, "v": 0}, {"id": 2, "v": 1}]


async def test_watch_reloads_without_any_request(db_file: Path) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(api.watch, 0.01)
        edit_outside(db_file, '{"items": [], "new": {}}')
        with trio.fail_after(5):
            while "new" not in api.store.document:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert api.store.document == {"items": [], "new": {}}


async def test_writes_go_through_a_symlink_and_keep_the_file_mode(db_file: Path) -> None:
    os.chmod(db_file, 0o640)
    link = db_file.parent / "link.json"
    link.symlink_to(db_file.name)
    api = JsonApi(ApiOptions(file=str(link)))
    assert (await post(api, "/api/items", {"v": 1})).status == 201
    assert link.is_symlink()
    assert json.loads(db_file.read_text())["items"][-1] == {"id": 2, "v": 1}
    assert stat.S_IMODE(db_file.stat().st_mode) == 0o640


@pytest.fixture
def file_size_limit() -> Iterator[int]:
    """Writes past 64 KiB fail with EFBIG (a real I/O failure, like a full disk)."""
    limit = 64 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


async def test_a_write_that_fails_to_persist_is_rolled_back(
    db_file: Path, file_size_limit: int
) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    before = db_file.read_bytes()
    failed = await post(api, "/api/items", {"big": "x" * file_size_limit})
    assert failed.status == 500
    assert isinstance(failed.body, bytes)
    assert "could not save" in json.loads(failed.body)["error"]
    assert "File too large" in json.loads(failed.body)["error"]
    assert db_file.read_bytes() == before
    assert await get(api, "/api/items") == [{"id": 1, "v": 0}]  # not in memory either
    assert [p.name for p in db_file.parent.iterdir()] == ["db.json"]
    ok = await post(api, "/api/items", {"small": 1})
    assert ok.status == 201
    assert json.loads(db_file.read_text())["items"] == [{"id": 1, "v": 0}, {"id": 2, "small": 1}]


async def test_a_failed_batch_fails_only_its_successful_writes(
    db_file: Path, file_size_limit: int
) -> None:
    api = JsonApi(ApiOptions(file=str(db_file)))
    statuses: dict[str, int] = {}

    async def send(name: str, target: str, value: Any) -> None:
        statuses[name] = (await post(api, target, value)).status

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send, "first", "/api/items", {"v": 1})
        nursery.start_soon(send, "big", "/api/items", {"big": "x" * file_size_limit})
        nursery.start_soon(send, "bad", "/api/nope", {"v": 1})
    assert statuses["bad"] == 404  # its own error, whatever the batch did
    assert statuses["big"] == 500
    on_disk = json.loads(db_file.read_text())["items"]
    assert all("big" not in item for item in on_disk)
    assert ({"id": 2, "v": 1} in on_disk) == (statuses["first"] == 201)


@pytest.mark.parametrize(
    ("code", "status"),
    [(errno.ENOSPC, 507), (errno.EDQUOT, 507), (errno.EIO, 500), (errno.EACCES, 500)],
)
def test_save_errors_map_to_507_for_a_full_disk_else_500(code: int, status: int) -> None:
    error = http_error_for(OSError(code, os.strerror(code)), "db.json")
    assert error.status == status
    assert error.message == f"could not save db.json: {os.strerror(code)}; the change was not made"


def test_an_encoding_failure_is_a_500_naming_it() -> None:
    error = http_error_for(RecursionError("maximum recursion depth exceeded"), "db.json")
    assert (error.status, error.message) == (
        500,
        "could not save db.json: maximum recursion depth exceeded; the change was not made",
    )


async def test_descriptors_held_on_recent_versions_stay_bounded_and_are_released(
    db_file: Path,
) -> None:
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    gc.collect()  # leftovers of earlier tests must not close during the count
    before = open_descriptors()
    api = JsonApi(ApiOptions(file=str(db_file)))
    for n in range(30):
        assert (await post(api, "/api/items", {"n": n})).status == 201
        if n % 10 == 0:
            edit_outside(db_file, db_file.read_text())  # outside versions are held too
    assert open_descriptors() - before <= HELD_VERSIONS
    del api
    gc.collect()
    assert open_descriptors() == before
