"""Static files under ROOT: safe lookup, validators, ranges, encodings, listings, memory.

`StaticFiles(root, options)` is built once; `handle(request)` is a pure function of the
request and the disk (no socket): a file body is a `FileBody` value the server streams.
"""

from __future__ import annotations

from .files import StaticFiles

__all__ = ["StaticFiles"]
