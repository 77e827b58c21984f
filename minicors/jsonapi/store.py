"""The JSON document and the changes made to it: pure functions, no I/O, no clock.

A document is a dict parsed from FILE.  It is never mutated once built: every change returns a
new top-level dict that shares every untouched value with the old one (copy-on-write at the
level of the one collection and the one item changed), so a reader holding the old document is
never disturbed and rolling back a failed write is just keeping the old reference.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from typing import TypeAlias

from ..errors import HttpError, JsonSyntaxError
from .index import IdIndex as IdIndex  # re-exported: callers know it as store's
from .index import find_item as find_item
from .index import id_text as id_text

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


def _finite(text: str) -> float:
    # `1e999` is valid JSON text (RFC 8259 §6 sets no range) but overflows to inf, which no
    # JSON text can spell: writing it back would make FILE invalid.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large for a 64-bit float")
    return value


def parse_json(text: str, *, share: bool = False) -> JsonValue:
    """Parse strict JSON, or raise `JsonSyntaxError` whose message gives line and column.

    `share`: equal short strings in objects (and in arrays that are their values) become one
    object; a large FILE repeats its tags, names and dates on every item, ~50 bytes each."""
    hook = _Sharing().object if share else None
    try:
        value: JsonValue = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite, object_pairs_hook=hook
        )
    except json.JSONDecodeError as exc:
        raise JsonSyntaxError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise JsonSyntaxError("nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity above, or an integer over Python's digit limit
        raise JsonSyntaxError(str(exc)) from None
    return value


SHARED_STRING_CHARS = 64  # strings up to this long are stored once however often they occur


class _Sharing:
    """json's object_pairs_hook: each duplicate is dropped as soon as it is made, so its
    memory is reused at once (sharing after parsing would leave holes no one can use)."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def object(self, pairs: list[tuple[str, JsonValue]]) -> JsonObject:
        seen = self.seen
        result: JsonObject = {}
        for name, value in pairs:
            if type(value) is str:
                if len(value) <= SHARED_STRING_CHARS:
                    value = seen.setdefault(value, value)
            elif type(value) is list:
                value = [
                    seen.setdefault(v, v) if type(v) is str and len(v) <= SHARED_STRING_CHARS else v
                    for v in value
                ]
            result[name] = value
        return result


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


def etag_for(data: bytes) -> bytes:
    """A strong entity tag (RFC 9110 §8.8.3) derived from the exact representation bytes."""
    return b'"' + hashlib.blake2b(data, digest_size=8).hexdigest().encode("ascii") + b'"'


# --- ids (`id_text` and `IdIndex` live in index.py) ------------------------------------------
# The largest integer id: JavaScript's Number.MAX_SAFE_INTEGER (2**53 - 1).  A larger id would
# change in any JavaScript client that reads it, and past 4,300 digits Python can no longer
# print it, so the next POST could not be saved.
MAX_INT_ID = 2**53 - 1


def _ids(ids: IdIndex | None) -> IdIndex:
    # No index given (a caller with one document and one change): a fresh one, kept by no one.
    return ids if ids is not None else IdIndex()


def next_id(items: list[JsonValue], *, ids: IdIndex | None = None, key: str = "") -> int | str:
    """Integer ids continue the sequence (max + 1); a collection of string ids gets a uuid4."""
    top, strings = _ids(ids).summary(key, items)
    if strings and top is None:
        return str(uuid.uuid4())
    new = (top if top is not None else 0) + 1
    index = _ids(ids)
    for _ in range(len(items) + 1):  # bounded: each step passes one item whose id reads so
        # A string id such as "3" reads as the URL /3 too: the new id must not share a URL.
        if index.find(key, items, str(new)) is None:
            break
        new += 1
    if new > MAX_INT_ID:
        raise HttpError(
            400,
            f"the next integer id would exceed {MAX_INT_ID} (the largest id JavaScript keeps "
            "exact); send an id in the body",
        )
    return new


# --- reading ----------------------------------------------------------------------------------
# The lists made by the current `batch()` (by id, holding them so the ids stay theirs).
_OWNED: ContextVar[dict[int, list[JsonValue]] | None] = ContextVar("_OWNED", default=None)


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


def locate(
    items: Sequence[JsonValue], key: str, wanted: str, ids: IdIndex | None = None
) -> tuple[int, JsonObject]:
    """The index and the object whose id (the index's field) reads `wanted`, or HttpError 404."""
    index = _ids(ids).find(key, items, wanted)
    item = None if index is None else items[index]
    if index is None or not isinstance(item, dict):
        raise HttpError(404, f"no item with id {wanted!r} in {key!r}")
    return index, item


def get_item(
    document: Mapping[str, JsonValue], key: str, wanted: str, ids: IdIndex | None = None
) -> JsonObject:
    return locate(collection(document, key), key, wanted, ids)[1]


# --- changing (each returns the new document and the value to send back) ---------------------
# `ids` names the id field and keeps the lookups fast; without one, the field is `id`.
def _with(document: Document, key: str, value: JsonValue) -> Document:
    changed = dict(document)
    changed[key] = value  # an existing key keeps its place: the user's key order survives
    return changed


def _addressable(text: str) -> bool:
    """Whether an id can appear in a URL path: valid UTF-8 once encoded (a lone surrogate,
    which JSON allows, cannot, so such an item could never be read, changed or deleted)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_body_id(body: JsonObject, field: str, current: JsonValue) -> None:
    if field in body and id_text(body[field]) != id_text(current):
        raise HttpError(
            400,
            f"the {field} in the body ({encode(body[field]).decode()}) disagrees with the URL "
            f"({encode(current).decode()}); leave it out or make them equal",
        )


def create_item(
    document: Document, key: str, body: JsonObject, ids: IdIndex | None = None
) -> tuple[Document, JsonObject]:
    """POST: append `body` with a new id (or the client's id, if it is new)."""
    index = _ids(ids)
    field = index.field
    items = collection(document, key)
    given = body.get(field)
    if given is not None:
        wanted = id_text(given) if not isinstance(given, int) or abs(given) <= MAX_INT_ID else None
        if wanted is None or isinstance(given, float) or not _addressable(wanted):
            raise HttpError(
                400,
                f"{'an id' if field == 'id' else f'the id field {field!r}'} must be a string "
                f"(of Unicode text: no lone surrogates) or an integer from -{MAX_INT_ID} to "
                f"{MAX_INT_ID}",
            )
        if index.find(key, items, wanted) is not None:
            raise HttpError(409, f"an item with {field} {wanted!r} already exists in {key!r}")
        item = dict(body)
    else:
        item = {field: next_id(items, ids=index, key=key)}  # first: FILE stays easy to read
        item.update((k, v) for k, v in body.items() if k != field)
    changed = [*items, item]
    index.derive(key, items, changed, item)
    return _with(document, key, changed), item


def replace_item(
    document: Document,
    key: str,
    wanted: str,
    body: JsonObject,
    *,
    mode: str = "replace",
    ids: IdIndex | None = None,
) -> tuple[Document, JsonObject]:
    """PUT (`mode="replace"`), PATCH (`"merge"`: shallow) or PATCH merge-patch (`"merge-patch"`)."""
    index = _ids(ids)
    field = index.field
    items = collection(document, key)
    position, old = locate(items, key, wanted, index)
    item_id = old[field]
    _check_body_id(body, field, item_id)
    new = _updated(old, body, mode, field)
    new[field] = item_id  # the URL names the item: its id (and its type) never change
    owned = _OWNED.get()
    if owned is not None and owned.get(id(items)) is items:
        changed = items  # made earlier in this batch, seen by no reader: change it in place
    else:
        changed = list(items)
        index.derive(key, items, changed)  # the same ids at the same positions
        if owned is not None:
            owned[id(changed)] = changed
    changed[position] = new
    return _with(document, key, changed), new


@contextmanager
def batch() -> Iterator[None]:
    """Writes applied one after another inside this block, none of whose intermediate documents
    a reader ever sees (a group commit): the second PATCH to a collection no longer copies the
    list the first one made, a copy that costs a millisecond at 100,000 items.  An operation
    must not fail after `replace_item` returns: its change is already in the batch's list."""
    token = _OWNED.set({})
    try:
        yield
    finally:
        _OWNED.reset(token)


def delete_item(
    document: Document, key: str, wanted: str, ids: IdIndex | None = None
) -> tuple[Document, JsonObject]:
    """DELETE: positions after the item shift, so the index builds the new list's entry when
    it is next asked."""
    items = collection(document, key)
    position, old = locate(items, key, wanted, ids)
    return _with(document, key, [*items[:position], *items[position + 1 :]]), old


def replace_singular(
    document: Document, key: str, body: JsonObject, *, mode: str = "replace", field: str = "id"
) -> tuple[Document, JsonObject]:
    """PUT or PATCH on a singular resource (a top-level object)."""
    new = _updated(singular(document, key), body, mode, field)
    return _with(document, key, new), new


def _updated(old: JsonObject, body: JsonObject, mode: str, field: str) -> JsonObject:
    if mode == "replace":
        new: JsonObject = {field: old[field]} if field in old else {}
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
