"""The live change feed `GET <prefix>/_events`: every committed change as a server-sent event.

One event per item created, updated or deleted (`create`, `update`, `delete`, with the
collection, the id and the new ETag as JSON data), and `reload` when FILE was changed outside
this process (the client should read again what it shows).  The stream is text/event-stream
(WHATWG HTML §9.2): each event has an id `<run>:<number>`, so a client that reconnects with
`Last-Event-ID` gets what it missed from a bounded history; one whose id is from another run,
or older than the history, gets a single `reload` instead.  A comment line every `heartbeat_s`
keeps proxies from closing an idle stream.  The server ends the stream at once on shutdown
(`LiveBody`) and counts it as an open connection like any other.
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import trio

from ..messages import LiveBody, Response
from .store import JsonObject, JsonValue

FEED_HISTORY = 1000  # events kept for clients that reconnect with Last-Event-ID
HEARTBEAT_S = 15.0  # a comment line this often keeps idle streams open through proxies
RETRY_MS = 1000  # how soon an EventSource reconnects after the stream breaks
EVENTS_SEGMENT = "_events"  # <prefix>/_events, unless FILE has its own "_events" key

# Never cached, never buffered by a proxy in between (WHATWG HTML §9.2.6 notes on proxies).
EVENT_HEADERS = (
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # "create" | "update" | "delete" | "reload"
    collection: str | None = None
    item_id: JsonValue = None  # None for a singular resource
    etag: str | None = None  # the new representation's ETag; None once deleted

    def data(self) -> str:
        if self.kind == "reload":
            return "{}"
        return json.dumps(
            # ASCII: a name or id holding a lone surrogate ("\ud800" is valid JSON) still
            # renders, as a \u escape the browser's JSON.parse reads back.
            {"collection": self.collection, "id": self.item_id, "etag": self.etag}
        )


@dataclass(frozen=True, slots=True)
class Event:
    number: int
    change: Change

    def render(self, run: str) -> bytes:
        # One `data:` line: json.dumps never emits a newline, which would split the field.
        text = f"id: {run}:{self.number}\nevent: {self.change.kind}\ndata: {self.change.data()}\n\n"
        return text.encode("utf-8")


def change_for(
    kind: str, method: str, key: str, result: JsonObject, etag: bytes, field: str = "id"
) -> Change:
    """The event for one acknowledged write: `kind` is what the URL named (a "collection" is
    POSTed to, an "item" or a "singular" resource changed in place).  The event's `id` is the
    item's value of the id field `field` (`--id-field`)."""
    item_id = None if kind == "singular" else result.get(field)
    if method == "DELETE":
        return Change("delete", key, item_id)
    action = "create" if kind == "collection" else "update"
    return Change(action, key, item_id, etag.decode("ascii"))


class ChangeFeed:
    """The committed changes of one server run, and the streams that follow them."""

    def __init__(self, *, heartbeat_s: float = HEARTBEAT_S, history: int = FEED_HISTORY) -> None:
        self.run = secrets.token_hex(8)  # tells one run's event ids from the next run's
        self.heartbeat_s = heartbeat_s
        self._events: deque[Event] = deque(maxlen=history)
        self._number = 0
        self._published = trio.Event()

    @property
    def last_number(self) -> int:
        return self._number

    def publish(self, *changes: Change) -> None:
        if not changes:
            return
        for change in changes:
            self._number += 1
            self._events.append(Event(self._number, change))
        published, self._published = self._published, trio.Event()
        published.set()

    def response(self, last_event_id: str | None) -> Response:
        return Response(
            status=200, headers=EVENT_HEADERS, body=LiveBody(pieces=self.stream(last_event_id))
        )

    def _start(self, last_event_id: str | None) -> tuple[int, bool]:
        """Where a stream starts, and whether it must begin with a `reload` (it missed more
        than the history holds, or its id is from another run)."""
        if last_event_id is None:
            return self._number, False
        run, _, number = last_event_id.strip().partition(":")
        if run != self.run or not (number.isascii() and number.isdigit()) or len(number) > 18:
            return self._number, True
        last = min(int(number), self._number)
        oldest = self._events[0].number if self._events else self._number + 1
        if last < oldest - 1:
            return self._number, True
        return last, False

    async def stream(self, last_event_id: str | None) -> AsyncGenerator[bytes, None]:
        last, missed = self._start(last_event_id)
        yield f"retry: {RETRY_MS}\n: minicors change feed\n\n".encode()
        if missed:
            yield Event(self._number, Change("reload")).render(self.run)
        while True:
            published = self._published  # before looking: a publish meanwhile wakes the wait
            behind = self._number - last
            if behind > len(self._events):  # a slow reader fell out of the history
                yield Event(self._number, Change("reload")).render(self.run)
                last, behind = self._number, 0
            # Numbers are consecutive: the missed events are the last `behind` ones.
            for event in list(self._events)[len(self._events) - behind :] if behind else ():
                yield event.render(self.run)
                last = event.number
            with trio.move_on_after(self.heartbeat_s):
                await published.wait()
                continue
            yield b": keep-alive\n\n"
