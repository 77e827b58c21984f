"""The list parameters handled before the filter language (`query`) sees the query string.

`split_params` takes out what is not a filter: json-server's relations (`_embed`, `_expand`),
json-server v1's page object (`_per_page`, with its `_page`), jQuery's cache buster (`_`), and
every `q` after the first (json-server reads only the first); and it rewrites v1's
`field:op=value` filters to v0's spelling (`views:gte=10` is `views_gte=10`).  The rest goes to
`query.parse_query` untouched, in the client's spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from ..errors import HttpError

MAX_RELATIONS = 10  # _embed/_expand names per request: each costs a pass over a collection
MAX_PARTS = 1000  # `&`-separated parts looked at; `query.parse_query` refuses past its own limit
# json-server v1's operators, as v0's suffixes; eq is the plain `field=value`.
V1_OPERATORS = {"eq": "", "ne": "_ne", "lt": "_lt", "lte": "_lte", "gt": "_gt", "gte": "_gte"}
# Operators of later v1 releases minicors does not implement: refused rather than read as a
# field whose name contains ':' (which would silently match nothing).
V1_UNSUPPORTED = frozenset({"in", "contains", "startsWith", "endsWith", "like"})
CACHE_BUSTER = "_"  # jQuery's `cache: false` adds `_=<timestamp>`


@dataclass(frozen=True, slots=True, kw_only=True)
class ListParams:
    query: str  # for `query.parse_query`
    embed: tuple[str, ...] = ()
    expand: tuple[str, ...] = ()
    per_page: int | None = None  # set: answer with v1's page object
    page: int = 1  # v1's `_page` (only read with `_per_page`)


def split_params(raw: str) -> ListParams:
    """`raw` (the percent-encoded query string) split as the module docstring says."""
    kept: list[str] = []
    embed: list[str] = []
    expand: list[str] = []
    seen_q = False
    v1: dict[str, str] = {}
    parts = raw.split("&", MAX_PARTS)
    for part in parts[:MAX_PARTS]:
        if not part:
            continue
        encoded_name, eq, encoded_value = part.partition("=")
        name = unquote_plus(encoded_name)
        value = unquote_plus(encoded_value)
        if name == CACHE_BUSTER:
            continue
        if name in ("_embed", "_expand"):
            names = [n.strip() for n in value.split(",") if n.strip()]
            (embed if name == "_embed" else expand).extend(names)
            continue
        if name in ("_per_page", "_page"):
            v1[name] = value
            continue
        if name == "q":
            if seen_q:
                continue  # json-server uses the first `q` only
            seen_q = True
        field, colon, op = name.rpartition(":")
        if colon and field and op in V1_OPERATORS:
            part = quote(field + V1_OPERATORS[op], safe="") + eq + encoded_value
        elif colon and field and op in V1_UNSUPPORTED:
            raise HttpError(
                400, f"{name}: the operator {op!r} is not supported (eq ne lt lte gt gte)"
            )
        kept.append(part)
    if len(parts) > MAX_PARTS:
        kept.append(parts[MAX_PARTS])  # `parse_query` counts them and refuses
    # A name given twice would only read the other collection twice.
    embed, expand = list(dict.fromkeys(embed)), list(dict.fromkeys(expand))
    if len(embed) + len(expand) > MAX_RELATIONS:
        raise HttpError(400, f"too many _embed/_expand names (the limit is {MAX_RELATIONS})")
    per_page = v1.get("_per_page")
    if per_page is None:
        # v0 and v1 disagree on `_page` alone: v0's (a plain page of items, with Link) wins.
        if "_page" in v1:
            kept.append("_page=" + quote(v1["_page"], safe=""))
        return ListParams(query="&".join(kept), embed=tuple(embed), expand=tuple(expand))
    sliced = [p.partition("=")[0] for p in kept]
    if any(unquote_plus(n) in ("_limit", "_start", "_end") for n in sliced):
        # v1's page object counts pages of the whole match: a slice under it would make its
        # `items` and `pages` disagree with X-Total-Count.
        raise HttpError(400, "_per_page pages the whole list: leave out _limit, _start and _end")
    return ListParams(
        query="&".join(kept),
        embed=tuple(embed),
        expand=tuple(expand),
        per_page=_positive(per_page, "_per_page"),
        page=_positive(v1["_page"], "_page") if "_page" in v1 else 1,
    )


def _positive(text: str, name: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 12 or int(text) < 1:
        raise HttpError(400, f"{name} must be a positive integer, got {text!r}")
    return int(text)
