"""Turn a request path into file names under ROOT, refusing anything that could leave it.

Two independent fences.  First the URL is judged segment by segment before any file-system
call: no `.`/`..`, no encoded `/` or `\\`, no backslash, no NUL, no dotfile unless allowed
(`/.well-known/` at ROOT's top excepted: RFC 8615 puts well-known URIs there).
Then the caller asks the kernel where the opened file really is and checks it lies under the
real ROOT (`is_inside`), which is what stops symlinks pointing outside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..messages import Target, TargetForm

# RFC 8615 §3: well-known URIs (security.txt, assetlinks.json, apple-app-site-association)
# live under "/.well-known/" at the top of the path, so that one dot-directory is served
# without --dotfiles; dotfiles inside it, and `.well-known` directories deeper down, are not.
WELL_KNOWN = ".well-known"


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlPath:
    """The file-system names a request path leads to, plus what a redirect needs."""

    names: tuple[str, ...]  # file-system names, never empty, "." or ".."
    trailing_slash: bool  # the path ends in "/" (a directory was asked for)
    canonical: str  # the path spelled one way (single slashes, percent-encoded)


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """Why a path gets no file: `missing` ones may fall back to the SPA page, the others not."""

    reason: str
    status: int = 404
    missing: bool = False


def judge_url(url: Target, *, dotfiles: bool) -> UrlPath | Refusal:
    """The names under ROOT that the parsed target's segments name, refusing the hostile or
    hidden: an encoded separator, a NUL, a `.`/`..` segment, a dotfile unless allowed."""
    if url.form is TargetForm.ASTERISK:
        return Refusal(reason="request-target '*' is not a path")
    for depth, name in enumerate(url.segments):
        if "/" in name or "\\" in name:
            return Refusal(reason=f"separator inside segment {name[:80]!r}")
        if "\x00" in name:
            return Refusal(reason=f"NUL in segment {name[:80]!r}")
        if name in (".", ".."):
            # Clients remove dot-segments (RFC 3986 §5.2.4); only a crafted request has them.
            return Refusal(reason=f"dot-segment {name!r}")
        if name.startswith(".") and not dotfiles and (depth, name) != (0, WELL_KNOWN):
            return Refusal(reason=f"dotfile {name[:80]!r} (dotfiles are off)")
    canonical = url.canonical[:-1] if url.trailing_slash and url.segments else url.canonical
    return UrlPath(names=url.segments, trailing_slash=url.trailing_slash, canonical=canonical)


def root_prefix(root: str) -> str:
    """The string every path strictly under `root` (a real, absolute path) starts with."""
    return root if root.endswith(os.sep) else root + os.sep


def is_inside(real: str, root: str, prefix: str) -> bool:
    """`real` is `root` or below it: `commonpath([root, real]) == root` for real, absolute paths.

    The prefix includes the trailing separator, so `/srv/www-evil` is not inside `/srv/www`.
    """
    return real == root or real.startswith(prefix)


def has_hidden_part(real: str, prefix: str) -> bool:
    """A component of `real` below ROOT starts with "." (a symlink may lead into `.git`),
    other than a top-level `.well-known` (RFC 8615 §3)."""
    rel = real[len(prefix) :]
    if rel == WELL_KNOWN or rel.startswith(WELL_KNOWN + os.sep):
        rel = rel[len(WELL_KNOWN) :]
    return rel.startswith(".") or (os.sep + ".") in rel
