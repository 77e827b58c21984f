"""What a GET of a collection (plain or nested) or of one item answers, relations included.

`read_list` runs the query language (`query`) over a collection, or over the children of one
parent item (`/posts/1/comments`), then adds what `params` took out of the query: embedded and
expanded relations, and json-server v1's page object for `_per_page`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .params import ListParams, split_params
from .query import page_links, parse_query, run_query
from .relations import children, related
from .store import JsonObject, JsonValue, collection


@dataclass(frozen=True, slots=True, kw_only=True)
class ListView:
    body: JsonValue
    total: int  # X-Total-Count: matches before paging
    link: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Parent:
    """The parent item of a nested route: `/posts/1/comments` has key `posts`, id `1`."""

    key: str
    item_id: str


def read_list(
    document: Mapping[str, JsonValue],
    key: str,
    path: str,
    raw_query: str,
    *,
    parent: Parent | None = None,
    field: str = "id",
) -> ListView:
    """`field` is the id field (`--id-field`): relations match parents by it."""
    params = split_params(raw_query)
    if parent is None:
        items = collection(document, key)
    else:
        items = children(document, parent.key, parent.item_id, key)
    page = run_query(items, parse_query(params.query))
    if params.per_page is not None:
        v1 = _v1_page(document, key, page.items, params, field)
        return ListView(body=v1, total=page.total)
    body = _related(document, key, page.items, params, field)
    return ListView(body=body, total=page.total, link=page_links(path, raw_query, page))


def read_item(
    document: Mapping[str, JsonValue], key: str, item: JsonObject, raw_query: str, field: str
) -> JsonValue:
    """One item, with `_embed`/`_expand` (its other list parameters mean nothing here)."""
    params = split_params(raw_query)
    return _related(document, key, [item], params, field)[0]


def _related(
    document: Mapping[str, JsonValue],
    key: str,
    items: list[JsonValue],
    params: ListParams,
    field: str,
) -> list[JsonValue]:
    if not params.embed and not params.expand:
        return items
    return related(document, key, items, embed=params.embed, expand=params.expand, field=field)


def _v1_page(
    document: Mapping[str, JsonValue],
    key: str,
    items: list[JsonValue],
    params: ListParams,
    field: str,
) -> JsonObject:
    """json-server v1's page: the page number is clamped to the pages there are, as there."""
    per_page = params.per_page or 1
    total = len(items)
    pages = math.ceil(total / per_page)
    current = max(1, min(params.page, pages))
    start = (current - 1) * per_page
    data = _related(document, key, items[start : start + per_page], params, field)
    return {
        "first": 1,
        "prev": current - 1 if current > 1 else None,
        "next": current + 1 if current < pages else None,
        "last": pages,
        "pages": pages,
        "items": total,
        "data": data,
    }
