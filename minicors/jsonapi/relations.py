"""Relations between collections, by json-server's naming convention: pure functions.

An item of `comments` with `"postId": 1` is a child of the item of `posts` with id 1: the
foreign key is the parent collection's name made singular, plus `Id`.  On that convention rest
nested routes (`/posts/1/comments`), `_embed=comments` (the children, as a list), `_expand=post`
(the parent, as an object) and the cascade of `DELETE /posts/1` to its children.  Ids compare as
they read in a URL (`1` and `"1"` are the same id, as everywhere in the API).  A parent's id is
its `--id-field` value (the `field` passed in; `id` by default); the foreign key stays `postId`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..errors import HttpError
from .store import Document, IdIndex, JsonObject, JsonValue, get_item, id_text

FOREIGN_KEY_SUFFIX = "Id"  # json-server's default (its --fks)
# English plurals a data file is likely to use; the rest follow the rules in `singular_name`.
IRREGULAR = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "mice": "mouse",
    "geese": "goose",
    "feet": "foot",
    "teeth": "tooth",
    "data": "datum",
    "news": "news",
    "series": "series",
    "species": "species",
}


def singular_name(key: str) -> str:
    """`posts` -> `post`, `categories` -> `category`, `boxes` -> `box`, `people` -> `person`."""
    lower = key.lower()
    if lower in IRREGULAR:
        return _keep_case(key)
    if lower.endswith("ies") and len(key) > 3:
        return key[:-3] + "y"
    if lower.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return key[:-2]
    if lower.endswith("s") and not lower.endswith("ss") and len(key) > 1:
        return key[:-1]
    return key


def _keep_case(key: str) -> str:
    word = IRREGULAR[key.lower()]
    return word.capitalize() if key[:1].isupper() else word


def foreign_key(parent_collection: str) -> str:
    """The field that names a parent of `parent_collection`: `posts` -> `postId`."""
    return singular_name(parent_collection) + FOREIGN_KEY_SUFFIX


def is_child_of(item: JsonValue, key: str, parent_id: str) -> bool:
    return isinstance(item, dict) and id_text(item.get(key)) == parent_id


def parent_collection(document: Mapping[str, JsonValue], name: str) -> str | None:
    """The collection whose items a field `name` + `Id` points to (`post` -> `posts`)."""
    if isinstance(document.get(name + "s"), list) and singular_name(name + "s") == name:
        return name + "s"
    for key, value in document.items():
        if isinstance(value, list) and singular_name(key) == name:
            return key
    return None


# --- reading ------------------------------------------------------------------------------
def children(
    document: Mapping[str, JsonValue], parent_key: str, parent_id: str, child_key: str
) -> list[JsonValue]:
    """The items of `child_key` whose foreign key names the parent (nested GET)."""
    items = document.get(child_key)
    if not isinstance(items, list):
        raise HttpError(404, f"no collection named {child_key!r}")
    fk = foreign_key(parent_key)
    return [item for item in items if is_child_of(item, fk, parent_id)]


def related(
    document: Mapping[str, JsonValue],
    key: str,
    items: Sequence[JsonValue],
    *,
    embed: Iterable[str] = (),
    expand: Iterable[str] = (),
    field: str = "id",
) -> list[JsonValue]:
    """`items` of collection `key` with children embedded and parents expanded.

    `_embed=NAME` takes the children in collection NAME; when NAME is no collection but the
    singular of one (json-server v1's `_embed=post`), it takes the parent, as `_expand` does.
    Objects are copied, never changed: the document is shared with every reader.
    """
    result = [dict(item) if isinstance(item, dict) else item for item in items]
    objects = [item for item in result if isinstance(item, dict)]
    for name in embed:
        if isinstance(document.get(name), list):
            _embed_children(document, key, name, objects, field)
        elif parent_collection(document, name) is not None:
            _expand_parent(document, name, objects, field)
        else:
            raise HttpError(400, f"_embed={name}: no collection named {name!r} (nor {name}s)")
    for name in expand:
        if parent_collection(document, name) is None:
            raise HttpError(400, f"_expand={name}: no collection of {name} items (e.g. {name}s)")
        _expand_parent(document, name, objects, field)
    return result


def _embed_children(
    document: Mapping[str, JsonValue], key: str, name: str, objects: list[JsonObject], field: str
) -> None:
    fk = foreign_key(key)
    by_parent: dict[str, list[JsonValue]] = {}
    kids = document.get(name)
    for child in kids if isinstance(kids, list) else ():
        if isinstance(child, dict):
            parent = id_text(child.get(fk))
            if parent is not None:
                by_parent.setdefault(parent, []).append(child)
    for item in objects:
        own = id_text(item.get(field))
        item[name] = list(by_parent.get(own, ())) if own is not None else []


def _expand_parent(
    document: Mapping[str, JsonValue], name: str, objects: list[JsonObject], field: str
) -> None:
    plural = parent_collection(document, name)
    parents = document.get(plural) if plural is not None else None
    fk = name + FOREIGN_KEY_SUFFIX
    wanted = {id_text(item.get(fk)) for item in objects} - {None}
    by_id: dict[str, JsonValue] = {}
    for parent in parents if isinstance(parents, list) else ():
        if isinstance(parent, dict):
            own = id_text(parent.get(field))
            if own is not None and own in wanted and own not in by_id:
                by_id[own] = parent
    for item in objects:
        found = by_id.get(id_text(item.get(fk)) or "")
        if found is not None:  # no parent: no key, as json-server (undefined is left out)
            item[name] = found


# --- changing -----------------------------------------------------------------------------
def with_parent(
    document: Document, parent_key: str, parent_id: str, body: JsonObject, ids: IdIndex
) -> JsonObject:
    """A nested POST's body: the foreign key set to the parent's id, with its JSON type."""
    parent = get_item(document, parent_key, parent_id, ids)  # 404 when the parent is gone
    fk = foreign_key(parent_key)
    if fk in body and id_text(body[fk]) != id_text(parent.get(ids.field)):
        raise HttpError(
            400,
            f"{fk} in the body disagrees with the URL's parent; leave it out or make them equal",
        )
    return {**body, fk: parent.get(ids.field)}


def without_children(
    document: Document, parent_key: str, parent_id: str, field: str = "id"
) -> tuple[Document, list[tuple[str, JsonValue]]]:
    """The document without the direct children of a deleted parent, in every collection, and
    the (collection, id) of each removed item.  Only this parent's children go: items whose
    foreign key pointed nowhere before are left alone."""
    fk = foreign_key(parent_key)
    removed: list[tuple[str, JsonValue]] = []
    changed = document
    for key, value in document.items():
        if not isinstance(value, list):
            continue
        kept = [item for item in value if not is_child_of(item, fk, parent_id)]
        if len(kept) != len(value):
            if changed is document:
                changed = dict(document)  # copy-on-write, as `store`: readers keep the old one
            changed[key] = kept
            removed.extend(
                (key, item.get(field))
                for item in value
                if isinstance(item, dict) and is_child_of(item, fk, parent_id)
            )
    return changed, removed
