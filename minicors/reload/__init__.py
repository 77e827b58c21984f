"""`--reload`: pages that reload when a file changes, and stylesheets swapped in place.

The watcher (`watch`) feeds a `ReloadHub`; HTML answers get one script tag (`inject`), and the
script (`SCRIPT`, at /_minicors/reload.js) listens on the hub's event stream (/_minicors/events).
This is the one handler-side package that waits for events itself (trio), besides the JSON
API's durable writes.
"""

from __future__ import annotations

from .hub import ReloadHub
from .injection import EVENTS_PATH, PREFIX, SCRIPT_PATH, inject
from .script import SCRIPT
from .watcher import classify, ignored, watch

__all__ = [
    "EVENTS_PATH",
    "PREFIX",
    "SCRIPT",
    "SCRIPT_PATH",
    "ReloadHub",
    "classify",
    "ignored",
    "inject",
    "watch",
]
