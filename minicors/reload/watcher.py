"""Watching ROOT (and the API file) for `--reload`, with the `watchfiles` library.

watchfiles (Rust's `notify` under a small Python layer) uses the kernel's notifications
(inotify) rather than a polling loop, batches the changes of one save or one build into one
set (`step` ms of quiet ends a batch, `debounce` ms bounds it), and runs under trio through
anyio.  It is imported only when `--reload` is on.  Dot-paths, `node_modules` and editors' swap
and temporary files are never reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable

from ..messages import quote_segment
from .hub import ReloadHub

STEP_MS = 150  # quiet time that ends a batch (a build writing many files is one batch)
DEBOUNCE_MS = 1600  # the longest a batch is held back
# The watcher's thread comes back this often even when nothing changed, so stopping the server
# never waits for it longer than this (a cancelled thread call cannot be abandoned).
TIMEOUT_MS = 500
# Editors' side files: vim (.swp, 4913, ~), emacs (#x#, .#x), JetBrains, Chrome's File System
# Access API (.crswap), and plain temporary files.
_SIDE_FILE = re.compile(r"(\.sw[a-p]|\.swx|~|\.tmp|\.crswap|___jb_(tmp|old)___)$|^(4913|#.*#)$")


def ignored(path: str, root: str) -> bool:
    """Whether a change at `path` (absolute) is noise: under a dot-directory or node_modules
    (below ROOT), a dotfile, or an editor's side file."""
    rel = os.path.relpath(path, root) if path.startswith(root + os.sep) else os.path.basename(path)
    parts = rel.split(os.sep)
    if any(p.startswith(".") or p == "node_modules" for p in parts):
        return True
    return _SIDE_FILE.search(parts[-1]) is not None


def classify(changes: Iterable[tuple[str, str]], root: str) -> tuple[str, tuple[str, ...]]:
    """("css", their URL paths) when every change is a stylesheet under ROOT that was added or
    modified, else ("reload", ()).  `changes` are (kind, absolute path) with kind one of
    "added", "modified", "deleted"."""
    paths: list[str] = []
    for kind, path in changes:
        if kind == "deleted" or not path.endswith(".css") or not path.startswith(root + os.sep):
            return "reload", ()
        names = os.path.relpath(path, root).split(os.sep)
        paths.append("/" + "/".join(quote_segment(name) for name in names))
    return ("css", tuple(sorted(paths))) if paths else ("reload", ())


async def watch(
    root: str, files: tuple[str, ...], hub: ReloadHub, skip: Callable[[str], bool]
) -> None:
    """Publish to `hub` every batch of changes under `root` and to `files`, forever; a change
    for which `skip(path)` is true (minicors's own write to the API file) is not one.  `root`
    and `files` are real, absolute paths."""
    from watchfiles import Change, awatch  # imported only with --reload

    kinds = {Change.added: "added", Change.modified: "modified", Change.deleted: "deleted"}
    watched = set(files)

    def keep(change: Change, path: str) -> bool:
        if path.startswith(root + os.sep):
            return not ignored(path, root)
        return path in watched

    # A file is watched through its directory: editors (and the API's own durable writes)
    # replace a file by renaming another over it, which would end a watch on the file itself.
    outside = {os.path.dirname(f) for f in watched if not f.startswith(root + os.sep)}
    paths = [root, *sorted(outside)]
    batches = awatch(
        *paths, watch_filter=keep, step=STEP_MS, debounce=DEBOUNCE_MS, rust_timeout=TIMEOUT_MS
    )
    async for batch in batches:
        changes = [(kinds[change], path) for change, path in batch if not skip(path)]
        if changes:
            hub.publish(*classify(changes, root))
