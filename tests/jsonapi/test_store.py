"""The pure document changes: new documents out, the old ones untouched, errors precise."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicors.errors import HttpError, JsonSyntaxError
from minicors.jsonapi.encoder import DocumentEncoder
from minicors.jsonapi.store import (
    Document,
    JsonValue,
    create_item,
    decode_body,
    delete_item,
    encode,
    encode_document,
    etag_for,
    id_text,
    merge_patch,
    next_id,
    parse_json,
    replace_item,
    replace_singular,
)


def doc() -> Document:
    return {
        "items": [{"id": 1, "name": "a", "meta": {"x": 1, "y": 2}}, {"id": 7, "name": "b"}],
        "names": [{"id": "k1", "v": 1}],
        "profile": {"name": "me", "theme": "dark"},
        "empty": [],
    }


def test_create_continues_the_integer_sequence_and_puts_id_first() -> None:
    before = doc()
    snapshot = copy.deepcopy(before)
    after, item = create_item(before, "items", {"name": "c"})
    assert item == {"id": 8, "name": "c"}
    assert list(item) == ["id", "name"]
    assert after["items"] == [*snapshot["items"], item]  # type: ignore[misc]
    assert before == snapshot  # the old document is never changed
    assert list(after) == list(before)  # key order kept


def test_create_in_a_string_id_collection_gets_a_uuid() -> None:
    _, item = create_item(doc(), "names", {"v": 2})
    assert isinstance(item["id"], str)
    assert uuid.UUID(item["id"]).version == 4


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], 1),
        ([{"id": 3}, {"id": 10}, {"id": 2}], 11),
        ([{"id": True}, {"name": "no id"}], 1),  # booleans are not integers here
        ([{"id": 4}, {"id": "s"}], 5),  # any integer id: the sequence continues
        (["x", 3, {"id": -5}], -4),
    ],
)
def test_next_id(items: list[JsonValue], expected: int) -> None:
    assert next_id(items) == expected


def test_create_keeps_a_new_client_id_and_refuses_a_taken_one() -> None:
    _, item = create_item(doc(), "items", {"id": 50, "name": "z"})
    assert item == {"id": 50, "name": "z"}
    with pytest.raises(HttpError) as info:
        create_item(doc(), "items", {"id": "7"})
    assert info.value.status == 409
    with pytest.raises(HttpError) as info:
        create_item(doc(), "items", {"id": {"no": 1}})
    assert info.value.status == 400


def test_create_with_null_id_generates_one() -> None:
    _, item = create_item(doc(), "items", {"id": None, "name": "n"})
    assert item == {"id": 8, "name": "n"}


@pytest.mark.parametrize(
    ("mode", "body", "expected"),
    [
        ("replace", {"name": "new"}, {"id": 1, "name": "new"}),
        ("replace", {"name": "new", "id": 1}, {"id": 1, "name": "new"}),
        ("replace", {"name": "new", "id": "1"}, {"id": 1, "name": "new"}),  # same id, type kept
        ("merge", {"name": "new"}, {"id": 1, "name": "new", "meta": {"x": 1, "y": 2}}),
        ("merge", {"meta": {"x": 9}}, {"id": 1, "name": "a", "meta": {"x": 9}}),
        ("merge-patch", {"meta": {"x": 9}}, {"id": 1, "name": "a", "meta": {"x": 9, "y": 2}}),
        ("merge-patch", {"meta": {"y": None}, "name": None}, {"id": 1, "meta": {"x": 1}}),
    ],
)
def test_replace_and_patch(mode: str, body: dict[str, JsonValue], expected: JsonValue) -> None:
    before = doc()
    snapshot = copy.deepcopy(before)
    after, item = replace_item(before, "items", "1", body, mode=mode)
    assert item == expected
    assert after["items"] == [expected, {"id": 7, "name": "b"}]
    assert before == snapshot


@pytest.mark.parametrize("body_id", [2, "2", None, [1]])
def test_an_id_in_the_body_that_disagrees_with_the_url_is_400(body_id: JsonValue) -> None:
    with pytest.raises(HttpError) as info:
        replace_item(doc(), "items", "1", {"id": body_id}, mode="merge")
    assert info.value.status == 400
    assert "disagrees with the URL" in info.value.message


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (lambda d: replace_item(d, "items", "99", {}), 404),
        (lambda d: replace_item(d, "nope", "1", {}), 404),
        (lambda d: replace_item(d, "profile", "1", {}), 404),
        (lambda d: delete_item(d, "items", "2"), 404),
        (lambda d: create_item(d, "profile", {}), 404),
        (lambda d: replace_singular(d, "items", {}), 404),
    ],
)
def test_unknown_targets_are_404(call: object, status: int) -> None:
    with pytest.raises(HttpError) as info:
        call(doc())  # type: ignore[operator]
    assert info.value.status == status


def test_delete_returns_the_removed_item() -> None:
    after, item = delete_item(doc(), "items", "7")
    assert item == {"id": 7, "name": "b"}
    assert after["items"] == [{"id": 1, "name": "a", "meta": {"x": 1, "y": 2}}]


def test_singular_put_and_patch() -> None:
    _, put = replace_singular(doc(), "profile", {"name": "you"})
    assert put == {"name": "you"}
    _, patched = replace_singular(doc(), "profile", {"theme": "light"}, mode="merge")
    assert patched == {"name": "me", "theme": "light"}


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [  # RFC 7396 Appendix A examples, restricted to object patches
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7396(
    target: dict[str, JsonValue], patch: dict[str, JsonValue], expected: JsonValue
) -> None:
    assert merge_patch(target, patch) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, "7"), ("7", "7"), (1.5, "1.5"), (True, None), (None, None), ([1], None)],
)
def test_id_text(value: JsonValue, expected: str | None) -> None:
    assert id_text(value) == expected


BAD_BODIES = [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"{", "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    (b'{"a": 1,\n "b": }', "line 2, column 7"),
    (b"[1, 2]", "must be a JSON object, not an array"),
    (b'"text"', "not a string"),
    (b"null", "not null"),
    (b"3", "not a number"),
    (b'{"a": NaN}', "NaN is not allowed"),
    (b'{"a": Infinity}', "Infinity is not allowed"),
    (b'{"a": "\xff"}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper than 100 levels"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_bodies_are_400_with_a_precise_reason(body: bytes, message: str) -> None:
    with pytest.raises(HttpError) as info:
        decode_body(body)
    assert info.value.status == 400
    assert message in info.value.message


def test_a_body_nested_100_levels_is_accepted() -> None:
    assert decode_body(b'{"a": ' + b"[" * 99 + b"]" * 99 + b"}") == {
        "a": json.loads("[" * 99 + "]" * 99)
    }


def test_body_with_bom_and_unicode_is_accepted() -> None:
    assert decode_body('\ufeff{"name": "café ☕"}'.encode()) == {"name": "café ☕"}


def test_parse_json_reports_line_and_column() -> None:
    with pytest.raises(JsonSyntaxError, match=r"Expecting .,. delimiter at line 4, column 1"):
        parse_json('{\n "a": 1\n\n')


def test_document_encoding_is_indented_with_trailing_newline_and_keeps_order() -> None:
    data = encode_document({"b": [1, {"z": 1, "a": "é"}], "a": {}})
    expected = (
        '{\n  "b": [\n    1,\n    {\n      "z": 1,\n      "a": "é"\n    }\n  ],\n  "a": {}\n}\n'
    )
    assert data == expected.encode()


def test_lone_surrogates_fall_back_to_escapes_and_stay_valid_json() -> None:
    value = json.loads('{"bad": "\\ud800"}')
    for data in (encode(value), encode_document(value)):
        assert json.loads(data.decode("ascii")) == value


def test_etag_is_strong_and_follows_the_bytes() -> None:
    tag = etag_for(b"abc")
    assert tag.startswith(b'"') and tag.endswith(b'"') and not tag.startswith(b"W/")
    assert tag == etag_for(b"abc")
    assert tag != etag_for(b"abd")


def test_ids_continue_across_a_chain_of_creates() -> None:
    # Each create builds on the previous document, as a batch of POSTs does.
    document = doc()
    made = []
    for body in ({"a": 1}, {"id": 50}, {"b": 2}, {"id": "s"}, {"c": 3}):
        document, item = create_item(document, "items", dict(body))
        made.append(item["id"])
    assert made == [8, 50, 51, "s", 52]
    document, item = create_item(doc(), "items", {})  # the original document is unaffected
    assert item["id"] == 8


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
DOCUMENTS = st.dictionaries(
    st.text(max_size=6), JSON_VALUES | st.lists(JSON_VALUES, max_size=5), max_size=5
)


@given(
    DOCUMENTS,
    st.lists(
        st.dictionaries(st.text(max_size=4).filter(lambda k: k != "id"), JSON_VALUES, max_size=3),
        max_size=4,
    ),
)
@settings(max_examples=50, deadline=None)
def test_the_remembering_encoder_writes_exactly_what_encode_document_writes(
    document: Document, bodies: list[dict[str, JsonValue]]
) -> None:
    encoder = DocumentEncoder()
    assert encoder.encode(document) == encode_document(document)
    document = {**document, "c": [{"id": 1}, {"id": 2, "x": [1, {"y": "é"}]}]}
    for body in bodies:  # items remembered from the previous call are reused
        document, _ = create_item(document, "c", body)
        assert encoder.encode(document) == encode_document(document)
    document, _ = replace_item(document, "c", "2", {"z": None}, mode="merge")
    assert encoder.encode(document) == encode_document(document)
    assert encoder.encode({"s": ["\ud800"]}) == encode_document({"s": ["\ud800"]})
