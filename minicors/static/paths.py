"""Turn a request path into file names under ROOT, refusing anything that could leave it.

Two independent fences.  First the URL is judged segment by segment before any file-system
call: no `.`/`..`, no encoded `/` or `\\`, no backslash, no NUL, no dotfile unless allowed.
Then the caller asks the kernel where the opened file really is and checks it lies under the
real ROOT (`is_inside`), which is what stops symlinks pointing outside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from ..messages import origin_form


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlPath:
    """The decoded names of a request path, plus what a redirect needs."""

    names: tuple[str, ...]  # file-system names (os.fsdecode), never empty, "." or ".."
    trailing_slash: bool  # the path ends in "/" (a directory was asked for)
    canonical: str  # "/a/b" as received (still percent-encoded), single slashes


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Why a path gets no file: `missing` ones may fall back to the SPA page, the others not."""

    reason: str
    status: int = 404
    missing: bool = False


def parse_url_path(path: str, *, dotfiles: bool) -> UrlPath | Refusal:
    """Split and percent-decode `path` (no query), refusing the hostile or hidden."""
    path = origin_form(path)
    if not path.startswith("/"):
        return Refusal(reason=f"request-target {path[:80]!r} is not a path")
    names: list[str] = []
    raw_kept: list[str] = []
    for raw in path.split("/"):
        if not raw:
            # Empty segments ("//etc") collapse: they name nothing, and keeping them would let
            # a redirect Location start with "//", i.e. point at another host.
            continue
        decoded = unquote_to_bytes(raw)
        if b"/" in decoded or b"\\" in decoded:
            return Refusal(reason=f"separator inside segment {raw[:80]!r}")
        if b"\x00" in decoded:
            return Refusal(reason=f"NUL in segment {raw[:80]!r}")
        if decoded in (b".", b".."):
            # Clients remove dot-segments (RFC 3986 §5.2.4); only a crafted request has them.
            return Refusal(reason=f"dot-segment {raw[:80]!r}")
        if decoded.startswith(b".") and not dotfiles:
            return Refusal(reason=f"dotfile {raw[:80]!r} (dotfiles are off)")
        names.append(os.fsdecode(decoded))
        raw_kept.append(raw)
    return UrlPath(
        names=tuple(names),
        trailing_slash=path.endswith("/"),
        canonical="/" + "/".join(raw_kept),
    )


def root_prefix(root: str) -> str:
    """The string every path strictly under `root` (a real, absolute path) starts with."""
    return root if root.endswith(os.sep) else root + os.sep


def is_inside(real: str, root: str, prefix: str) -> bool:
    """`real` is `root` or below it: `commonpath([root, real]) == root` for real, absolute paths.

    The prefix includes the trailing separator, so `/srv/www-evil` is not inside `/srv/www`.
    """
    return real == root or real.startswith(prefix)


def has_hidden_part(real: str, prefix: str) -> bool:
    """A component of `real` below ROOT starts with "." (a symlink may lead into `.git`)."""
    rel = real[len(prefix) :]
    return rel.startswith(".") or (os.sep + ".") in rel
