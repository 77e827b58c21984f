"""The changes pages should react to, and the server-sent-events stream that carries them.

The watcher publishes one event per batch of changes (`reload`, or `css` with the URL paths
of the changed stylesheets); each `/_minicors/events` stream sends them as they happen
(text/event-stream, WHATWG HTML §9.2), replays what a reconnecting page missed after its
`Last-Event-ID` from a bounded history, and sends a comment line every `heartbeat_s` so that
proxies and the browser keep an idle stream open.
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import trio

HISTORY = 100  # events kept for pages that reconnect with Last-Event-ID
HEARTBEAT_S = 15.0  # a comment line this often keeps idle streams open through proxies
RETRY_MS = 1000  # how soon a browser reconnects after the stream breaks (a server restart)


@dataclass(frozen=True, slots=True)
class Event:
    number: int
    kind: str  # "reload" or "css"
    data: str  # for "css": the changed stylesheets' URL paths, as a JSON list

    def render(self, instance: str) -> bytes:
        return f"id: {instance}:{self.number}\nevent: {self.kind}\ndata: {self.data}\n\n".encode()


class ReloadHub:
    """Events for the pages of one server run (`instance` tells one run from the next)."""

    def __init__(self, *, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.instance = secrets.token_hex(8)
        self.heartbeat_s = heartbeat_s
        self._events: deque[Event] = deque(maxlen=HISTORY)
        self._number = 0
        self._published = trio.Event()

    def publish(self, kind: str, paths: tuple[str, ...] = ()) -> None:
        """Tell every open stream: `reload`, or `css` for stylesheets at these URL paths."""
        self._number += 1
        data = json.dumps(list(paths)) if kind == "css" else "{}"
        self._events.append(Event(self._number, kind, data))
        published, self._published = self._published, trio.Event()
        published.set()

    def _after(self, last: int) -> list[Event]:
        return [e for e in self._events if e.number > last]

    async def stream(self, last_event_id: str | None) -> AsyncIterator[bytes]:
        """The event stream for one page (see the module docstring)."""
        yield f"retry: {RETRY_MS}\nevent: hello\ndata: {self.instance}\n\n".encode()
        instance, _, number = (last_event_id or "").partition(":")
        # Events missed by a page of this run; a page of an earlier run gets none: it reloads
        # on `hello` anyway.
        # ASCII digits, bounded: str.isdigit() accepts "²", which int() refuses.
        known = number.isascii() and number.isdigit() and len(number) <= 18
        last = int(number) if instance == self.instance and known else self._number
        if self._events and last < self._events[0].number - 1:
            # More was missed than is kept: only a reload catches the page up.
            yield Event(self._number, "reload", "{}").render(self.instance)
            last = self._number
        while True:
            published = self._published  # before looking: a publish meanwhile wakes the wait
            for event in self._after(last):
                yield event.render(self.instance)
                last = event.number
            with trio.move_on_after(self.heartbeat_s):
                await published.wait()
                continue
            yield b": keep-alive\n\n"
