"""Directory listings: one scan into `Entry` values, then pure HTML or JSON rendering.

Names come from the file system and are hostile until proven otherwise: HTML-escaped in text,
percent-encoded in links (so `a:b` or `<script>` can be neither markup nor a URL scheme).
"""

from __future__ import annotations

import html
import json
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from .paths import is_inside


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    name: str
    is_dir: bool
    size: int  # bytes; 0 for directories
    mtime: float  # seconds since the epoch


def scan_directory(path: str, *, root: str, prefix: str, dotfiles: bool) -> list[Entry]:
    """The entries of `path` a client may follow, sorted: directories first, then by name.

    Hidden: dotfiles (unless allowed), broken symlinks, symlinks leading outside ROOT and
    anything that is neither a regular file nor a directory.  Only symlinks pay for realpath.
    """
    entries: list[Entry] = []
    with os.scandir(path) as it:
        for item in it:
            if item.name.startswith(".") and not dotfiles:
                continue
            try:
                if item.is_symlink() and not is_inside(os.path.realpath(item.path), root, prefix):
                    continue
                st = item.stat()  # follows symlinks: what a click would get
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                entries.append(Entry(name=item.name, is_dir=True, size=0, mtime=st.st_mtime))
            elif stat.S_ISREG(st.st_mode):
                entries.append(
                    Entry(name=item.name, is_dir=False, size=st.st_size, mtime=st.st_mtime)
                )
    entries.sort(key=lambda e: (not e.is_dir, e.name.casefold(), e.name))
    return entries


def _href(entry: Entry) -> str:
    # Relative links are right because a listing is only served at a URL ending in "/".
    # os.fsencode round-trips names that are not UTF-8; safe="" also encodes ":" and "/".
    return quote(os.fsencode(entry.name), safe="") + ("/" if entry.is_dir else "")


def _iso(mtime: float) -> str:
    try:
        return datetime.fromtimestamp(int(mtime), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return ""


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def render_json(entries: list[Entry]) -> bytes:
    """A JSON array of {name, type, size, modified}; `size` is null for directories."""
    items = [
        {
            "name": e.name,
            "type": "dir" if e.is_dir else "file",
            "size": None if e.is_dir else e.size,
            "modified": _iso(e.mtime),
        }
        for e in entries
    ]
    # ensure_ascii keeps undecodable names (surrogate escapes) representable.
    return json.dumps(items, ensure_ascii=True).encode("ascii")


_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}td,th{padding:.2rem .8rem;text-align:left}"
    "td.size,th.size{text-align:right}tr:nth-child(even){background:#f4f4f4}a{text-decoration:none}"
)


def render_html(url_path: str, entries: list[Entry], *, at_root: bool) -> bytes:
    """An HTML page listing `entries` under the decoded `url_path` (shown, escaped)."""
    title = html.escape(f"Index of {url_path}")
    rows = []
    if not at_root:
        rows.append('<tr><td><a href="../">../</a></td><td class="size"></td><td></td></tr>')
    for e in entries:
        label = html.escape(e.name + ("/" if e.is_dir else ""))
        href = html.escape(_href(e))
        size = "" if e.is_dir else _size_text(e.size)
        rows.append(
            f'<tr><td><a href="{href}">{label}</a></td>'
            f'<td class="size" data-bytes="{e.size}">{size}</td>'
            f"<td><time>{_iso(e.mtime)}</time></td></tr>"
        )
    page = (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{title}</h1>\n<table>\n"
        '<thead><tr><th>Name</th><th class="size">Size</th><th>Modified (UTC)</th></tr></thead>\n'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        f'<p><a href="?format=json">JSON</a> &middot; {len(entries)} entries</p>'
        "</body></html>\n"
    )
    return page.encode("utf-8", "replace")  # undecodable names show as "?"
