"""`JsonApi`: a REST API over one JSON file, under a URL prefix (CONTRACT "JSON API").

This module holds the HTTP semantics only: routing a path to the index, the whole document, a
collection, an item or a singular resource; methods, content types, validators and conditional
requests (RFC 9110 §13).  The data work is pure (`store`, `query`); durability
and external edits live in `persist`.  Every error is a JSON body `{"error": "..."}`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import trio

from ..errors import ConfigError, DocumentUnreadable, HttpError, ProtocolError
from ..messages import (
    HeaderList,
    Request,
    Response,
    Target,
    TargetForm,
    error_response,
    parse_target,
)
from ..options import ApiOptions, Limits
from .feed import EVENTS_SEGMENT, Change, ChangeFeed, change_for
from .like import LikeTooCostly, within_budget
from .lists import Parent, read_item, read_list
from .persist import DurableDocument
from .query import names_relations, needs_thread
from .relations import with_parent, without_children
from .store import (
    Document,
    IdIndex,
    JsonObject,
    Kind,
    create_item,
    decode_body,
    delete_item,
    encode,
    etag_for,
    get_item,
    id_text,
    kind_of,
    replace_item,
    replace_singular,
    singular,
)
from .validators import check_preconditions, conditions_hold

JSON = (b"content-type", b"application/json")
NO_CACHE = (b"cache-control", b"no-cache")  # always revalidate: a dev API must never be stale
MERGE_PATCH = "application/merge-patch+json"  # RFC 7396
ACCEPT_PATCH = (b"accept-patch", f"application/json, {MERGE_PATCH}".encode())  # RFC 5789 §3.1
READS = ("GET", "HEAD", "OPTIONS")
ALLOWED: dict[str, tuple[str, ...]] = {
    "index": READS,
    "value": READS,
    "collection": ("GET", "HEAD", "POST", "OPTIONS"),
    "item": ("GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"),
    "singular": ("GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS"),  # POST replaces (json-server)
    "events": READS,  # <prefix>/_events, the change feed (feed.py)
}
# Heavy queries waiting for the one worker slot; past this a heavy query is answered 503.
MAX_SLOW_WAITING = 32  # above a benchmark's 16 connections; a dev API rarely has more
WHOLE_DOCUMENT = "db"  # GET <prefix>/db, unless the file has its own "db" key


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """What a path names: `kind` is a key of ALLOWED ("index" covers <prefix> and <prefix>/db)."""

    kind: str
    key: str = ""
    item_id: str = ""
    whole: bool = False  # <prefix>/db
    parent: Parent | None = None  # a nested route: <prefix>/posts/1/comments


class JsonApi:
    """Serves `options.file` under `options.prefix`; build once, call `handle` per request."""

    def __init__(self, options: ApiOptions, *, limits: Limits | None = None) -> None:
        prefix = options.prefix.rstrip("/")
        if not options.prefix.startswith("/"):
            raise ConfigError(f"API prefix {options.prefix!r} must start with '/', e.g. /api")
        if not options.id_field:
            raise ConfigError(
                "--id-field ([api] id_field) is empty; name the field that keys items, e.g. uuid"
            )
        self.options = options
        self.ids = IdIndex(options.id_field)  # the id field, and each collection's id index
        self.prefix = prefix  # "" when the prefix is "/": the API owns every path
        try:
            self._segments = parse_target(prefix or "/").segments
        except ProtocolError as exc:
            raise ConfigError(f"API prefix {options.prefix!r}: {exc.message}") from None
        self._depth = len(self._segments)
        self.max_body_bytes = (limits or Limits()).max_body_bytes
        self.delay_s = options.delay_ms / 1000
        try:
            self.store = DurableDocument(
                options.file, group_commit=options.group_commit, ids=self.ids
            )
        except DocumentUnreadable as exc:
            raise ConfigError(f"API file {exc}; {exc.hint}") from None
        directory = self.store.file.directory
        if not options.read_only and not os.access(directory, os.W_OK):
            raise ConfigError(
                f"cannot write API file {options.file}: its directory {directory} is not "
                "writable; fix the permissions or add --read-only"
            )
        self.store.file.remove_stale_temporaries()
        # Slow list queries run one at a time: in parallel they would only share the GIL, each
        # taking N times longer, and each building its own caches.
        self._slow_reads = trio.CapacityLimiter(1)
        self.feed = ChangeFeed()
        self._seen = (self.store.document, self.store.commits)

    def owns(self, url: Target) -> bool:
        """Whether the API serves this target: its first segments are the prefix's."""
        return url.form is not TargetForm.ASTERISK and url.segments[: self._depth] == self._segments

    @property
    def path(self) -> str:
        """FILE's real path (where its writes land)."""
        return self.store.file.path

    def holds_current_file(self) -> bool:
        """Whether FILE on disk is the version minicors last read or wrote (so a change just
        seen there was its own write, not an edit)."""
        return self.store.stamp is not None and self.store.stamp == self.store.file.stamp()

    async def watch(self, poll_interval_s: float = 0.5) -> None:
        """Poll FILE's stamp forever and reload it when it changes outside minicors."""
        while True:
            await trio.sleep(poll_interval_s)
            await self._refresh()

    async def _refresh(self) -> None:
        """Read FILE again if it changed; a new document that no commit of ours made is an
        edit from outside: the feed says `reload`."""
        await self.store.refresh()
        document, commits = self.store.document, self.store.commits
        if document is not self._seen[0]:
            if commits == self._seen[1]:
                self.feed.publish(Change("reload"))
            self._seen = (document, commits)

    async def handle(self, request: Request) -> Response:
        if self.delay_s:
            await trio.sleep(self.delay_s)  # --delay: latency a front end must cope with
        try:
            await self._refresh()
            route = self._route(request.url)
            allowed = self._allowed(route)
            if request.method == "OPTIONS":
                extra = (ACCEPT_PATCH,) if "PATCH" in allowed else ()
                return Response(status=204, headers=(_allow(allowed), *extra))
            if request.method not in allowed:
                raise HttpError(
                    405, self._refusal(request.method, route), headers=(_allow(allowed),)
                )
            if route.kind == "events":
                return self.feed.response(request.header(b"last-event-id"))
            if request.method in ("GET", "HEAD"):
                if not _heavy(self.store, request, route):
                    try:
                        return within_budget(self._read, request, route)
                    except LikeTooCostly:  # a `_like` that takes more than a moment
                        pass
                # Off the event loop: others keep being served meanwhile.
                if self._slow_reads.statistics().tasks_waiting >= MAX_SLOW_WAITING:
                    # A bounded queue: queued queries outlive their clients, so without a
                    # bound a few requests would delay every heavy query for minutes.
                    raise HttpError(
                        503,
                        "too many heavy queries are waiting; retry in a moment",
                        headers=((b"retry-after", b"1"),),
                    )
                return await trio.to_thread.run_sync(
                    self._read, request, route, limiter=self._slow_reads
                )
            return await self._write(request, route)
        except HttpError as exc:
            return error_response(exc, as_json=True)

    # --- routing --------------------------------------------------------------------------
    def _route(self, url: Target) -> Route:
        # The segments every part of minicors reads (empty ones dropped, so a trailing slash
        # names the same resource); names must be UTF-8 to match a key of FILE.
        segments = url.segments[self._depth :]
        if not all(s.isascii() or _is_utf8(s) for s in segments):
            raise HttpError(400, "the path is not valid percent-encoded UTF-8")
        if not segments:
            return Route(kind="index")
        if len(segments) > 3:
            raise HttpError(404, f"no API resource at {url.path}")
        key = segments[0]
        value = self.store.document.get(key)
        if key not in self.store.document:
            if key == WHOLE_DOCUMENT and len(segments) == 1:
                return Route(kind="index", whole=True)
            if key == EVENTS_SEGMENT and len(segments) == 1:
                return Route(kind="events")
            raise HttpError(404, f"no collection or resource named {key!r}; see {self.prefix}/")
        kind = kind_of(value)
        if len(segments) == 3:  # json-server's nested route: the children of one item
            child = self.store.document.get(segments[2])
            if kind is not Kind.COLLECTION or kind_of(child) is not Kind.COLLECTION:
                raise HttpError(404, f"no API resource at {url.path}")
            get_item(self.store.document, key, segments[1], self.ids)  # no parent: 404
            parent = Parent(key=key, item_id=segments[1])
            return Route(kind="collection", key=segments[2], parent=parent)
        if len(segments) == 2:
            if kind is not Kind.COLLECTION:
                raise HttpError(404, f"{key!r} is not a collection, so it has no items")
            return Route(kind="item", key=key, item_id=segments[1])
        return Route(kind=kind.value, key=key)

    def _allowed(self, route: Route) -> tuple[str, ...]:
        methods = ALLOWED[route.kind]
        return READS if self.options.read_only else methods

    def _refusal(self, method: str, route: Route) -> str:
        if self.options.read_only and method in ALLOWED[route.kind]:
            return "the API is read-only (--read-only): only GET and HEAD are allowed"
        names = {"index": "the API index", "value": "a plain value", "events": "the change feed"}
        what = names.get(route.kind, route.kind)
        if route.whole:
            what = "the whole document (it is read-only)"
        name = f" {route.key!r}" if route.key else ""
        return f"{method} is not allowed on {what}{name}"

    # --- reads ----------------------------------------------------------------------------
    def _read(self, request: Request, route: Route) -> Response:
        document = self.store.document
        headers: HeaderList = ()
        if route.kind == "index":
            body = encode(document if route.whole else self._index(document))
            tag = etag_for(body)
        elif route.kind == "collection":
            query, parent, field = request.query, route.parent, self.ids.field
            view = read_list(document, route.key, request.path, query, parent=parent, field=field)
            body = encode(view.body)
            tag = etag_for(body + b"\n" + str(view.total).encode())  # a new total: a new tag
            headers = ((b"x-total-count", str(view.total).encode()),)
            if view.link is not None:
                headers += ((b"link", view.link.encode("ascii", "backslashreplace")),)
        elif route.kind == "item":
            item = get_item(document, route.key, route.item_id, self.ids)
            body = encode(read_item(document, route.key, item, request.query, self.ids.field))
            tag = etag_for(body)
        else:
            body = encode(document[route.key])
            tag = etag_for(body)
        if not conditions_hold(request, tag, if_match=False):  # RFC 9110 §13.1.2: 304
            return Response(status=304, headers=((b"etag", tag), NO_CACHE))
        return Response(status=200, headers=(JSON, (b"etag", tag), NO_CACHE, *headers), body=body)

    def _index(self, document: Document) -> JsonObject:
        index: JsonObject = {}
        for key, value in document.items():
            kind = kind_of(value)
            entry: JsonObject = {"kind": kind.value, "path": _api_path(self.prefix, key)}
            if isinstance(value, list):
                entry["count"] = len(value)
            index[key] = entry
        if WHOLE_DOCUMENT not in document:
            whole = _api_path(self.prefix, WHOLE_DOCUMENT)
            index[WHOLE_DOCUMENT] = {"kind": "document", "path": whole}
        return index

    # --- writes ---------------------------------------------------------------------------
    async def _write(self, request: Request, route: Route) -> Response:
        method = request.method
        body: JsonObject = {}
        mode = "replace"
        if method != "DELETE":
            media_type = self._check_content(request, patch=method == "PATCH")
            body = decode_body(request.body)
            if method == "PATCH":
                mode = "merge-patch" if media_type == MERGE_PATCH else "merge"
        cascade: list[Change] = []
        op = _operation(request, route, body, mode, cascade, self.ids)
        result = await self.store.apply(op)
        self._seen = (self.store.document, self.store.commits)  # our own: no `reload`
        if not isinstance(result, dict):  # every operation returns the object it wrote
            raise HttpError(500, "internal error: a write returned no object")
        data = encode(result)
        tag = etag_for(data)
        change = change_for(route.kind, method, route.key, result, tag, self.ids.field)
        self.feed.publish(change, *cascade)
        if method == "DELETE":
            return Response(status=200, headers=(JSON, NO_CACHE), body=data)
        headers: HeaderList = (JSON, (b"etag", tag), NO_CACHE)
        if method == "POST" and route.kind == "collection":
            location = _api_path(self.prefix, route.key, id_text(result.get(self.ids.field)) or "")
            return Response(
                status=201, headers=(*headers, (b"location", location.encode())), body=data
            )
        return Response(status=200, headers=headers, body=data)

    def _check_content(self, request: Request, *, patch: bool) -> str:
        """The request's media type, after the checks that precede reading the body."""
        if len(request.body) > self.max_body_bytes:
            raise HttpError(413, f"request body over {self.max_body_bytes} bytes")
        extra = (ACCEPT_PATCH,) if patch else ()
        if request.header(b"content-encoding") not in (None, "identity"):
            raise HttpError(415, "Content-Encoding is not supported; send the JSON uncompressed")
        content_type = request.header(b"content-type")
        if content_type is None:
            raise HttpError(415, "missing Content-Type; send application/json", headers=extra)
        media_type, _, parameters = content_type.partition(";")
        media_type = media_type.strip().lower()
        accepted = ("application/json", MERGE_PATCH) if patch else ("application/json",)
        if media_type not in accepted:
            raise HttpError(
                415,
                f"Content-Type must be {' or '.join(accepted)}, not {media_type or 'empty'}",
                headers=extra,
            )
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset" and value.strip(' "').lower() != "utf-8":
                raise HttpError(415, f"JSON must be UTF-8 (RFC 8259 §8.1), not {value.strip()}")
        return media_type


def _operation(
    request: Request, route: Route, body: JsonObject, mode: str, cascade: list[Change], ids: IdIndex
) -> Callable[[Document], tuple[Document, object]]:
    """The pure change for this request; it re-checks everything against the document it gets,
    which may be newer than the one routing saw (another write, or an edit on disk).  A DELETE
    also removes the item's children (json-server's cascade), listed in `cascade`.  Items are
    found, numbered and named by the id field of `ids`."""
    key, item_id, method, parent = route.key, route.item_id, request.method, route.parent

    def apply(document: Document) -> tuple[Document, object]:
        if route.kind == "collection":
            if parent is not None:  # a nested POST: the child names its parent
                child = with_parent(document, parent.key, parent.item_id, body, ids)
                return create_item(document, key, child, ids)
            return create_item(document, key, body, ids)
        if route.kind == "item":
            check_preconditions(request, get_item(document, key, item_id, ids))
            if method == "DELETE":
                document, old = delete_item(document, key, item_id, ids)
                own = id_text(old.get(ids.field)) or item_id  # the parent's id, as children say it
                document, removed = without_children(document, key, own, ids.field)
                cascade.extend(Change("delete", k, i) for k, i in removed)
                return document, old
            return replace_item(document, key, item_id, body, mode=mode, ids=ids)
        check_preconditions(request, singular(document, key))
        return replace_singular(document, key, body, mode=mode, field=ids.field)

    return apply


def _is_utf8(segment: str) -> bool:
    try:
        segment.encode("utf-8")
    except UnicodeEncodeError:  # a byte that was not UTF-8, kept as a lone surrogate
        return False
    return True


def _allow(methods: tuple[str, ...]) -> tuple[bytes, bytes]:
    return (b"allow", ", ".join(methods).encode("ascii"))


def _heavy(store: DurableDocument, request: Request, route: Route) -> bool:
    """Whether a read goes to the worker thread (a pass over a large list, a `_like` past its
    budget, or relations, which read another collection whole)."""
    items = store.document.get(route.key)
    if route.kind == "collection" and isinstance(items, list):
        # The collection's bytes in FILE; else (a FILE not in minicors's layout until the
        # first write) FILE's whole size, which bounds them.
        size = store.file.encoder.collection_bytes(route.key, items)
        if size is None and store.stamp is not None:
            size = store.stamp.size
        if needs_thread(len(items), request.query, size):
            return True
    # Relations read another collection whole, whatever the size of this one.
    return route.kind in ("collection", "item") and names_relations(request.query)


def _api_path(prefix: str, key: str, item_id: str | None = None) -> str:
    # surrogatepass: a key read from FILE may hold a lone surrogate; a Location must
    # still be written rather than fail after the write was made durable.
    path = f"{prefix}/{quote(key.encode('utf-8', 'surrogatepass'), safe='')}"
    if item_id is None:
        return path
    return f"{path}/{quote(item_id.encode('utf-8', 'surrogatepass'), safe='')}"
