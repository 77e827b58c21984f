"""The JSON document and the changes made to it: pure functions, no I/O, no clock.

A document is a dict parsed from FILE.  It is never mutated once built: every change returns a
new top-level dict that shares every untouched value with the old one (copy-on-write at the
level of the one collection and the one item changed), so a reader holding the old document is
never disturbed and rolling back a failed write is just keeping the old reference.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from ..errors import HttpError, JsonSyntaxError

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"
Document: TypeAlias = "dict[str, JsonValue]"


class Kind(Enum):
    """What a top-level key serves (CONTRACT "JSON API")."""

    COLLECTION = "collection"  # an array: /api/<key> lists, /api/<key>/<id> addresses items
    SINGULAR = "singular"  # an object: /api/<key> is one resource (GET/PUT/PATCH)
    VALUE = "value"  # a scalar: readable, not writable


def kind_of(value: JsonValue) -> Kind:
    if isinstance(value, list):
        return Kind.COLLECTION
    if isinstance(value, dict):
        return Kind.SINGULAR
    return Kind.VALUE


# --- JSON text ------------------------------------------------------------------------------
# Deeper bodies are refused: FILE is written by a recursive encoder, and no real resource
# nests anywhere near this.
MAX_BODY_DEPTH = 100


def _reject_constant(name: str) -> JsonValue:
    # Python's json accepts NaN/Infinity; RFC 8259 §6 does not, and we would write them back.
    raise ValueError(f"{name} is not allowed in JSON")


def parse_json(text: str) -> JsonValue:
    """Parse strict JSON, or raise `JsonSyntaxError` whose message gives line and column."""
    try:
        value: JsonValue = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise JsonSyntaxError("nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity above, or an integer over Python's digit limit
        raise JsonSyntaxError(str(exc)) from None
    return value


def decode_body(body: bytes) -> JsonObject:
    """A request body as a JSON object, or HttpError 400 saying precisely what is wrong."""
    try:
        text = body.decode("utf-8-sig")  # RFC 8259 §8.1: UTF-8; a BOM may be ignored
    except UnicodeDecodeError as exc:
        raise HttpError(
            400, f"request body is not UTF-8 (bad byte at offset {exc.start})"
        ) from None
    if not text.strip():
        raise HttpError(400, "request body is empty; send a JSON object")
    try:
        value = parse_json(text)
    except JsonSyntaxError as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise HttpError(400, f"request body must be a JSON object, not {_type_name(value)}")
    if _depth(value) > MAX_BODY_DEPTH:
        raise HttpError(400, f"request body is nested deeper than {MAX_BODY_DEPTH} levels")
    return value


def _depth(value: JsonValue) -> int:
    """How deeply arrays and objects nest (iterative: the input may be hostile)."""
    deepest = 0
    stack: list[tuple[JsonValue, int]] = [(value, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict):
            children: list[JsonValue] = list(current.values())
        elif isinstance(current, list):
            children = current
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _type_name(value: JsonValue) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", dict: "an object"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _dumps(value: JsonValue, *, indent: int | None) -> bytes:
    separators = (",", ": ") if indent else (",", ":")
    try:
        text = json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800" in the input) has no UTF-8 form: fall back to \u escapes,
        # which are always valid JSON.
        return json.dumps(value, indent=indent, separators=separators).encode("ascii")


def encode(value: JsonValue) -> bytes:
    """Compact UTF-8 JSON for response bodies."""
    return _dumps(value, indent=None)


def encode_document(document: Document) -> bytes:
    """FILE's bytes: two-space indent, key order kept, trailing newline."""
    return _dumps(document, indent=2) + b"\n"


class DocumentEncoder:
    """`encode_document`, remembering the text of each collection item between calls.

    Items are never mutated, so an item object always encodes the same way: a commit encodes
    only the items it created or changed, not the whole file (the indenting encoder is pure
    Python, ~6 us per item).  Only the items of the last document are remembered.
    """

    def __init__(self) -> None:
        self._items: dict[int, tuple[JsonValue, str]] = {}

    def encode(self, document: Document) -> bytes:
        try:
            return self._text(document).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the escaping path, as encode_document
            return encode_document(document)

    def _text(self, document: Document) -> str:
        if not document:
            return "{}\n"
        remembered: dict[int, tuple[JsonValue, str]] = {}
        members = []
        for key, value in document.items():
            if isinstance(value, list) and value:
                texts = []
                for item in value:
                    known = self._items.get(id(item))
                    text = known[1] if known is not None and known[0] is item else None
                    if text is None:
                        text = _indented(item, 4)
                    remembered[id(item)] = (item, text)  # holding item keeps its id unique
                    texts.append(text)
                body = "[\n    " + ",\n    ".join(texts) + "\n  ]"
            else:
                body = _indented(value, 2)
            members.append(f"  {json.dumps(key, ensure_ascii=False)}: {body}")
        self._items = remembered
        return "{\n" + ",\n".join(members) + "\n}\n"


def _indented(value: JsonValue, level: int) -> str:
    # JSON text never holds a raw newline inside a string, so every newline is indentation.
    text = json.dumps(value, ensure_ascii=False, indent=2, separators=(",", ": "))
    return text.replace("\n", "\n" + " " * level)


def etag_for(data: bytes) -> bytes:
    """A strong entity tag (RFC 9110 §8.8.3) derived from the exact representation bytes."""
    return b'"' + hashlib.blake2b(data, digest_size=8).hexdigest().encode("ascii") + b'"'


# --- ids --------------------------------------------------------------------------------------
def id_text(value: JsonValue) -> str | None:
    """How an id appears in a URL: strings as they are, numbers in JSON form; else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return encode(value).decode("ascii")
    return None


def find_item(items: Sequence[JsonValue], wanted: str) -> int | None:
    """The index of the first object whose id reads as `wanted` (`7` finds 7 and "7")."""
    for index, item in enumerate(items):
        if isinstance(item, dict) and "id" in item and id_text(item["id"]) == wanted:
            return index
    return None


@dataclass(frozen=True, slots=True)
class _Ids:
    """What `next_id` needs to know about one list: its largest integer id, any string ids."""

    items: list[JsonValue]  # held so that id(items) cannot be reused while remembered
    top: int | None
    strings: bool


# Lists are never mutated, so a scan stays true for the list object it was made of; remembering
# the last few makes a batch of N POSTs O(N) instead of O(N x collection size).
_SCANS: dict[int, _Ids] = {}
_SCANS_KEPT = 16


def _scan(items: list[JsonValue]) -> _Ids:
    known = _SCANS.get(id(items))
    if known is not None and known.items is items:
        return known
    top: int | None = None
    strings = False
    for item in items:
        if isinstance(item, dict):
            value = item.get("id")
            if isinstance(value, int) and not isinstance(value, bool):
                top = value if top is None or value > top else top
            elif isinstance(value, str):
                strings = True
    return _remember(_Ids(items, top, strings))


def _remember(ids: _Ids) -> _Ids:
    if len(_SCANS) >= _SCANS_KEPT:
        del _SCANS[next(iter(_SCANS))]  # the oldest
    _SCANS[id(ids.items)] = ids
    return ids


def next_id(items: list[JsonValue]) -> int | str:
    """Integer ids continue the sequence (max + 1); a collection of string ids gets a uuid4."""
    ids = _scan(items)
    if ids.strings and ids.top is None:
        return str(uuid.uuid4())
    return (ids.top if ids.top is not None else 0) + 1


# --- reading ----------------------------------------------------------------------------------
def collection(document: Mapping[str, JsonValue], key: str) -> list[JsonValue]:
    value = document.get(key)
    if not isinstance(value, list):
        raise HttpError(404, f"no collection named {key!r}")
    return value


def singular(document: Mapping[str, JsonValue], key: str) -> JsonObject:
    value = document.get(key)
    if not isinstance(value, dict):
        raise HttpError(404, f"no resource named {key!r}")
    return value


def locate(items: Sequence[JsonValue], key: str, wanted: str) -> tuple[int, JsonObject]:
    """The index and the object with id `wanted`, or HttpError 404."""
    index = find_item(items, wanted)
    item = None if index is None else items[index]
    if index is None or not isinstance(item, dict):
        raise HttpError(404, f"no item with id {wanted!r} in {key!r}")
    return index, item


def get_item(document: Mapping[str, JsonValue], key: str, wanted: str) -> JsonObject:
    return locate(collection(document, key), key, wanted)[1]


# --- changing (each returns the new document and the value to send back) ---------------------
def _with(document: Document, key: str, value: JsonValue) -> Document:
    changed = dict(document)
    changed[key] = value  # an existing key keeps its place: the user's key order survives
    return changed


def _check_body_id(body: JsonObject, current: JsonValue) -> None:
    if "id" in body and id_text(body["id"]) != id_text(current):
        raise HttpError(
            400,
            f"the id in the body ({encode(body['id']).decode()}) disagrees with the URL "
            f"({encode(current).decode()}); leave it out or make them equal",
        )


def create_item(document: Document, key: str, body: JsonObject) -> tuple[Document, JsonObject]:
    """POST: append `body` with a new id (or the client's id, if it is new)."""
    items = collection(document, key)
    given = body.get("id")
    if given is not None:
        wanted = id_text(given)
        if wanted is None or isinstance(given, float):
            raise HttpError(400, "an id must be a string or an integer")
        if find_item(items, wanted) is not None:
            raise HttpError(409, f"an item with id {wanted!r} already exists in {key!r}")
        item = dict(body)
    else:
        item = {"id": next_id(items)}  # the id first: the file stays easy to read
        item.update((k, v) for k, v in body.items() if k != "id")
    changed = [*items, item]
    old = _scan(items)
    new_id = item["id"]
    if isinstance(new_id, int) and not isinstance(new_id, bool):
        _remember(_Ids(changed, new_id if old.top is None else max(old.top, new_id), old.strings))
    else:
        _remember(_Ids(changed, old.top, old.strings or isinstance(new_id, str)))
    return _with(document, key, changed), item


def replace_item(
    document: Document, key: str, wanted: str, body: JsonObject, *, mode: str = "replace"
) -> tuple[Document, JsonObject]:
    """PUT (`mode="replace"`), PATCH (`"merge"`: shallow) or PATCH merge-patch (`"merge-patch"`)."""
    items = collection(document, key)
    index, old = locate(items, key, wanted)
    item_id = old["id"]
    _check_body_id(body, item_id)
    new = _updated(old, body, mode)
    new["id"] = item_id  # the URL names the item: its id (and its type) never change
    changed = list(items)
    changed[index] = new
    return _with(document, key, changed), new


def delete_item(document: Document, key: str, wanted: str) -> tuple[Document, JsonObject]:
    items = collection(document, key)
    index, old = locate(items, key, wanted)
    return _with(document, key, [*items[:index], *items[index + 1 :]]), old


def replace_singular(
    document: Document, key: str, body: JsonObject, *, mode: str = "replace"
) -> tuple[Document, JsonObject]:
    """PUT or PATCH on a singular resource (a top-level object)."""
    new = _updated(singular(document, key), body, mode)
    return _with(document, key, new), new


def _updated(old: JsonObject, body: JsonObject, mode: str) -> JsonObject:
    if mode == "replace":
        new: JsonObject = {"id": old["id"]} if "id" in old else {}
        new.update(body)
        return new
    if mode == "merge":  # json-server's PATCH: top-level keys of the body replace the old ones
        new = dict(old)
        new.update(body)
        return new
    return merge_patch(old, body)


def merge_patch(target: JsonObject, patch: JsonObject) -> JsonObject:
    """RFC 7396 §2: objects merge recursively, null removes a member, anything else replaces."""
    result = dict(target)
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        elif isinstance(value, dict):
            inner = result.get(name)
            result[name] = merge_patch(inner if isinstance(inner, dict) else {}, value)
        else:
            result[name] = value
    return result
