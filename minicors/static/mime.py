"""What a file's name says about it: its media type, whether it compresses, whether it is hashed.

The table is built once at start-up into pre-encoded `Content-Type` header values, so a lookup
per request is one `str.rpartition` and one dict access.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigError

DEFAULT_TYPE = "application/octet-stream"

# The web formats a front-end build produces, plus the media a demo page plays.  JavaScript is
# `text/javascript` (RFC 9239 §6 makes it the one registered type); `.map` is JSON
# (Source Map v3).
BUILTIN_TYPES: dict[str, str] = {
    # documents
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".ics": "text/calendar",
    ".vtt": "text/vtt",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".br": "application/octet-stream",
    ".tar": "application/x-tar",
    # images
    ".svg": "image/svg+xml",
    ".avif": "image/avif",
    ".webp": "image/webp",
    ".png": "image/png",
    ".apng": "image/apng",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".jxl": "image/jxl",
    # fonts (RFC 8081)
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    # audio and video
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mov": "video/quicktime",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".weba": "audio/webm",
    ".flac": "audio/flac",
    # 3D
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
}

# Types that are text to a browser: they get `charset=utf-8` so a page never falls back to a
# locale-dependent guess (HTML §"determining the character encoding").
_TEXT_APPLICATION = frozenset(
    {
        "application/json",
        "application/ld+json",
        "application/manifest+json",
        "application/xml",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/yaml",
        "application/toml",
        "image/svg+xml",
    }
)
# Worth compressing (precompressed siblings, on-the-fly gzip): text plus the uncompressed binary
# formats.  Images, fonts like woff2, audio and video are already compressed.
_COMPRESSIBLE_BINARY = frozenset(
    {"application/wasm", "font/ttf", "font/otf", "image/x-icon", "image/bmp", "model/gltf-binary"}
)

_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaType:
    """The `Content-Type` value to send (pre-encoded) and whether compression pays off."""

    header: bytes
    compressible: bool


def _is_text(essence: str) -> bool:
    return essence.startswith("text/") or essence in _TEXT_APPLICATION


def media_type_for(value: str) -> MediaType:
    """The `MediaType` of a type value: text types gain `charset=utf-8` unless one is named."""
    essence, _, params = value.partition(";")
    essence = essence.strip().lower()
    text = _is_text(essence)
    header = value.strip()
    if text and "charset" not in params.lower():
        header = f"{essence}; charset=utf-8" if not params.strip() else f"{header}; charset=utf-8"
    return MediaType(
        header=header.encode("latin-1"),
        compressible=text or essence in _COMPRESSIBLE_BINARY,
    )


class MimeTable:
    """Extension (lower-case, with its dot) -> `MediaType`, built once: table + overrides."""

    def __init__(self, overrides: Iterable[tuple[str, str]] = ()) -> None:
        merged = dict(BUILTIN_TYPES)
        for ext, value in overrides:
            key = ext.strip().lower()
            if not key.startswith("."):
                key = "." + key
            essence = value.partition(";")[0].strip()
            if (
                len(key) < 2
                or "/" in key
                or not _MEDIA_TYPE.fullmatch(essence)
                or not all(" " <= c <= "~" for c in value)  # a header value: visible ASCII
            ):
                raise ConfigError(
                    f"bad MIME type mapping {ext!r} -> {value!r}: "
                    'use an extension like ".ext" and a type like "type/subtype"'
                )
            merged[key] = value
        self._types = {ext: media_type_for(value) for ext, value in merged.items()}
        self._default = media_type_for(DEFAULT_TYPE)

    def lookup(self, name: str) -> MediaType:
        """The media type of file `name` by its last extension (case-insensitive)."""
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:  # no extension, or a dotfile like ".env"
            return self._default
        return self._types.get("." + ext.lower(), self._default)


# A content hash in a file name is a dot- or dash-separated segment (never the first one)
# followed by the extension: webpack/parcel use lower-case hex (`app.3f9a1c2e.js`), esbuild
# upper-case base32 (`chunk-5HQ2ZK3L.js`), rollup/vite 8 base64url characters
# (`index-Bx3kQ9zA.js`).  Each must mix letters and digits so words (`my-component.js`) and
# dates or versions (`app-20240101.js`) never count; rollup's also needs both cases.
_HASH_SEGMENT = re.compile(r"(?<=[.-])([A-Za-z0-9_]{8,64})(?=\.)")
_HEX = re.compile(r"[0-9a-f]+")
_BASE32 = re.compile(r"[0-9A-Z]+")


def _looks_like_hash(segment: str) -> bool:
    has_digit = any(c.isdigit() for c in segment)
    has_upper = any(c.isupper() for c in segment)
    has_lower = any(c.islower() for c in segment)
    if not has_digit or not (has_upper or has_lower):
        return False
    if _HEX.fullmatch(segment) or _BASE32.fullmatch(segment):
        return True
    return len(segment) == 8 and has_upper and has_lower


def is_hashed_name(name: str) -> bool:
    """True when `name` carries a content hash, so its bytes can never change under that name."""
    return any(_looks_like_hash(m.group(1)) for m in _HASH_SEGMENT.finditer(name))
