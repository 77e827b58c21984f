"""Requests a hostile client would send: each once broke the API (a 500, an invalid FILE, a
stalled event loop); each must now get a precise 400 or be handled safely."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from minicors.errors import JsonSyntaxError
from minicors.jsonapi import JsonApi
from minicors.jsonapi.like import MAX_DFA_STATES, LikeError, compile_like
from minicors.jsonapi.store import MAX_INT_ID, parse_json
from minicors.messages import Request, Response
from minicors.options import ApiOptions

HUGE = "(a.{99}|b.{99}|a.{98}|b.{98})*z"  # a new DFA state at almost every character


@pytest.fixture
def db_document() -> dict[str, Any]:
    return {
        "items": [{"id": 1, "title": "one", "tags": ["a", "b"]}],
        "profile": {"name": "me"},
    }


@pytest.fixture
def api(db_file: Path) -> JsonApi:
    return JsonApi(ApiOptions(file=str(db_file)))


async def send(api: JsonApi, method: str, target: str, raw: bytes = b"") -> Response:
    headers = [("content-type", "application/json")] if raw else []
    return await api.handle(Request.build(method, target, headers, raw))


def error_of(response: Response) -> str:
    assert isinstance(response.body, bytes)
    message = json.loads(response.body)["error"]
    assert isinstance(message, str)
    return message


# --- numbers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "target", "raw"),
    [
        ("POST", "/api/items", b'{"n": 1e999}'),
        ("POST", "/api/items", b'{"a": [{"b": -1E400}]}'),
        ("PATCH", "/api/items/1", b'{"n": 2e308}'),
        ("PUT", "/api/profile", b'{"deep": {"x": 1e999}}'),
    ],
)
async def test_a_number_that_overflows_is_refused_and_the_file_stays_valid(
    api: JsonApi, db_file: Path, method: str, target: str, raw: bytes
) -> None:
    before = db_file.read_bytes()
    response = await send(api, method, target, raw)
    assert response.status == 400
    assert "too large" in error_of(response)
    assert db_file.read_bytes() == before
    listed = await send(api, "GET", "/api/items")
    assert isinstance(listed.body, bytes)
    json.loads(listed.body, parse_constant=lambda name: pytest.fail(f"{name} in a response"))


def test_parse_json_refuses_overflow_but_keeps_small_and_tiny_numbers() -> None:
    with pytest.raises(JsonSyntaxError, match="too large"):
        parse_json("[1e999]")
    assert parse_json("[1.5e308, 1e-999, -0.0]") == [1.5e308, 0.0, -0.0]


async def test_an_integer_id_beyond_the_safe_range_is_refused_and_posts_keep_working(
    api: JsonApi, db_file: Path
) -> None:
    huge = b'{"id": 1' + b"0" * 4299 + b"}"  # 4,300 digits: Python's conversion limit
    response = await send(api, "POST", "/api/items", huge)
    assert response.status == 400
    assert str(MAX_INT_ID) in error_of(response)
    for _ in range(2):
        assert (await send(api, "POST", "/api/items", b"{}")).status == 201
    edge = f'{{"id": {MAX_INT_ID}}}'.encode()
    assert (await send(api, "POST", "/api/items", edge)).status == 201
    after_edge = await send(api, "POST", "/api/items", b"{}")
    assert after_edge.status == 400  # the next id would not be exact in JavaScript
    assert "send an id" in error_of(after_edge)
    assert (await send(api, "POST", "/api/items", b'{"id": "s1"}')).status == 201
    ids = [item["id"] for item in json.loads(db_file.read_text())["items"]]
    assert ids == [1, 2, 3, MAX_INT_ID, "s1"]


# --- _like ------------------------------------------------------------------------------------
def test_a_pattern_whose_automaton_explodes_is_refused_with_bounded_states() -> None:
    rng = random.Random(7)
    text = "".join(rng.choice("ab") for _ in range(30_000))
    pattern = compile_like(HUGE)
    with pytest.raises(LikeError, match="too complex"):
        pattern.search(text)
    assert len(pattern._sets) <= MAX_DFA_STATES


def test_a_bounded_pattern_still_matches_long_text() -> None:
    pattern = compile_like("(a|b)*z$")
    assert pattern.search("ab" * 20_000 + "z")
    assert not pattern.search("ab" * 20_000)


async def test_an_exploding_like_is_a_400_naming_the_parameter(tmp_path: Path) -> None:
    rng = random.Random(3)
    long_text = "".join(rng.choice("ab") for _ in range(30_000))
    path = tmp_path / "db.json"
    path.write_text(json.dumps({"items": [{"id": 1, "text": long_text}]}))
    api = JsonApi(ApiOptions(file=str(path)))
    response = await send(api, "GET", "/api/items?text_like=" + HUGE.replace("|", "%7C"))
    assert response.status == 400
    assert error_of(response).startswith("text_like: pattern too complex")


async def test_another_request_is_answered_while_a_long_query_runs(tmp_path: Path) -> None:
    rng = random.Random(5)
    items = [{"id": n, "text": "".join(rng.choice("ab") for _ in range(50_000))} for n in range(30)]
    path = tmp_path / "db.json"
    path.write_text(json.dumps({"big": items, "profile": {"name": "me"}}))
    api = JsonApi(ApiOptions(file=str(path)))
    finished: list[str] = []

    async def request(name: str, target: str) -> None:
        response = await send(api, "GET", target)
        assert response.status == 200
        finished.append(name)

    async with trio.open_nursery() as nursery:
        # Every character of 1.5 million is stepped through: the query takes a while.
        nursery.start_soon(request, "heavy", "/api/big?text_like=(a%7Cb)*c")
        await trio.testing.wait_all_tasks_blocked()  # the heavy query is waiting on its thread
        nursery.start_soon(request, "light", "/api/profile")
    assert finished == ["light", "heavy"]


# --- digits that str.isdigit() accepts and int() refuses --------------------------------------
@pytest.mark.parametrize(
    ("target", "parameter"),
    [
        ("/api/items?_sort=tags.%C2%B2", "_sort"),
        ("/api/items?_sort=-tags.%C2%B2", "_sort"),
        ("/api/items?tags.%C2%B2=x", "tags.²"),
        ("/api/items?tags.%C2%B2_gte=x", "tags.²_gte"),
    ],
)
async def test_a_superscript_index_is_a_400_naming_the_parameter(
    api: JsonApi, target: str, parameter: str
) -> None:
    response = await send(api, "GET", target)
    assert response.status == 400
    assert error_of(response).startswith(f"{parameter}: ")


@pytest.mark.parametrize(
    "target",
    [
        "/api/items?title_like=a%7B%C2%B2%7D",  # a{²}: not a quantifier, a literal
        "/api/items?title_like=a%7B1,%C2%B2%7D",
        "/api/items?title_like=%5C%C2%B2",  # \²: an unknown escape, not a back-reference
        "/api/items?tags." + "9" * 5000 + "=a",  # past int()'s digit limit: no such index
    ],
)
async def test_other_digit_spellings_never_give_500(api: JsonApi, target: str) -> None:
    response = await send(api, "GET", target)
    assert response.status in (200, 400)


async def test_list_indexes_in_ascii_digits_still_work(api: JsonApi) -> None:
    response = await send(api, "GET", "/api/items?tags.1=b&_sort=tags.0")
    assert response.status == 200
    assert isinstance(response.body, bytes)
    assert [item["id"] for item in json.loads(response.body)] == [1]


def test_a_temporary_file_with_a_superscript_pid_does_not_stop_the_start(db_file: Path) -> None:
    odd = db_file.parent / ".db.json.\u00b2.abc.tmp"
    odd.write_text("{")
    dead = db_file.parent / ".db.json.999999999.abc.tmp"
    dead.write_text("{")
    JsonApi(ApiOptions(file=str(db_file)))
    assert odd.exists() and not dead.exists()
    os.unlink(odd)
