"""The answer for one chosen representation of a file: validators, preconditions, ranges.

Validators depend only on the file's identity and version, so they are formatted once per
version; the rest is the pure rules of RFC 9110 §13 (`..conditional`) and §14 (`ranges`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..conditional import (
    Conditions,
    EntityTag,
    evaluate_preconditions,
    format_http_date,
    if_range_matches,
)
from ..messages import FileBody, HeaderList, Request, Response, StreamBody, text_response
from .encoding import GzipFileChunks
from .mime import MediaType
from .opener import MEMO_MAX, Opened
from .ranges import parse_range
from .variants import Variant

NOSNIFF = (b"x-content-type-options", b"nosniff")
_VARY_AE = (b"vary", b"Accept-Encoding")

Validators = tuple[EntityTag, HeaderList, int | None]
INJECT_MAX_BYTES = 16 * 1024 * 1024  # a larger page is served as it is, without the script


def etag_of(st: os.stat_result, coding: str, *, weak: bool = False) -> EntityTag:
    # Strong validator from size + mtime_ns + inode (RFC 9110 §8.8.3): changes whenever the
    # bytes can have changed, costs nothing beyond the fstat.  Each coding is its own
    # representation, so it gets its own tag.
    opaque = f"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"
    if coding != "identity":
        opaque += "-" + coding
    return EntityTag(opaque=opaque, weak=weak)


class FileAnswers:
    """Builds 200/206/304/412/416 answers; `cache_headers(name)` gives a file's caching."""

    def __init__(self, cache_headers: Callable[[str], HeaderList]) -> None:
        self._cache_headers = cache_headers
        # (file identity, version, coding, name) -> its validators and caching headers.
        self._validators: dict[tuple[int, int, int, int, str, bool, str], Validators] = {}

    def answer(
        self, request: Request, variant: Variant, varies: bool, media: MediaType, name: str
    ) -> tuple[Response, bool]:
        """The response, and whether its body took over the variant's descriptor."""
        st = variant.opened.st
        fd = variant.opened.fd
        size = st.st_size
        etag, base, last_modified = self._validators_of(st, variant, name)
        headers: list[tuple[bytes, bytes]] = list(base)
        if varies:
            headers.append(_VARY_AE)
        status = evaluate_preconditions(
            _conditions(request),
            method=request.method,
            etag=etag,
            last_modified=last_modified,
        )
        if status == 304:  # RFC 9110 §15.4.5: the validators, Cache-Control and Vary of a 200
            return Response(status=304, headers=(*headers, NOSNIFF)), False
        if status == 412:
            return text_response(412, "precondition failed\n", headers=(*headers, NOSNIFF)), False
        keep = request.method == "GET"  # HEAD: no body is sent, so no descriptor is kept
        if variant.on_the_fly:
            # Length unknown in advance, so no ranges (RFC 9110 §14.2 lets us ignore Range).
            headers += _content_headers(media, variant.coding)
            chunks = GzipFileChunks(fd, size) if keep else iter(())
            # A file of more than one block is read and compressed in a worker thread (zlib
            # releases the GIL), so the event loop never waits long for it; a one-block file
            # is compressed on the loop: at most one block's work (~3 ms), no thread
            # hand-off (see bench/README.md "Stalls").
            blocking = size > GzipFileChunks.BLOCK
            body = StreamBody(chunks=chunks, blocking=blocking)
            return Response(status=200, headers=tuple(headers), body=body), keep
        headers.append((b"accept-ranges", b"bytes"))
        decision = parse_range(_range_header(request, etag, last_modified), size)
        if decision.status == 416:
            headers += ((b"content-range", decision.content_range(size)), NOSNIFF)
            return text_response(416, "range not satisfiable\n", headers=tuple(headers)), False
        headers += _content_headers(media, variant.coding)
        if decision.status == 206:
            headers.append((b"content-range", decision.content_range(size)))
        file_body = FileBody(
            path=variant.opened.path,
            offset=decision.start,
            length=decision.length,
            fd=fd if keep else None,
        )
        return Response(status=decision.status, headers=tuple(headers), body=file_body), keep

    def injected(
        self,
        request: Request,
        opened: Opened,
        media: MediaType,
        name: str,
        inject: Callable[[bytes], bytes],
    ) -> Response | None:
        """An HTML page with `inject` applied (`--reload`): its `ETag`, `Content-Length` and
        ranges describe the bytes sent, not the file.  None for a page too large to hold in
        memory, which is then served as it is."""
        st = opened.st
        if st.st_size > INJECT_MAX_BYTES:
            return None
        data = inject(os.pread(opened.fd, st.st_size, 0))
        plain = etag_of(st, "identity")
        etag = EntityTag(opaque=plain.opaque + "-reload")
        headers: list[tuple[bytes, bytes]] = [
            (b"etag", etag.render().encode("latin-1")),
            *self._cache_headers(name),
        ]
        lm_text = format_http_date(st.st_mtime)
        last_modified = None if lm_text is None else int(st.st_mtime)
        if lm_text is not None:
            headers.append((b"last-modified", lm_text.encode("ascii")))
        status = evaluate_preconditions(
            _conditions(request),
            method=request.method,
            etag=etag,
            last_modified=last_modified,
        )
        if status == 304:
            return Response(status=304, headers=(*headers, NOSNIFF))
        if status == 412:
            return text_response(412, "precondition failed\n", headers=(*headers, NOSNIFF))
        headers.append((b"accept-ranges", b"bytes"))
        decision = parse_range(_range_header(request, etag, last_modified), len(data))
        if decision.status == 416:
            headers += ((b"content-range", decision.content_range(len(data))), NOSNIFF)
            return text_response(416, "range not satisfiable\n", headers=tuple(headers))
        headers += _content_headers(media, "identity")
        if decision.status == 206:
            headers.append((b"content-range", decision.content_range(len(data))))
        body = data[decision.start : decision.start + decision.length]
        return Response(status=decision.status, headers=tuple(headers), body=body)

    def _validators_of(self, st: os.stat_result, variant: Variant, name: str) -> Validators:
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, variant.coding,
               variant.on_the_fly, name)  # fmt: skip
        known = self._validators.get(key)
        if known is not None:
            return known
        etag = etag_of(st, variant.coding, weak=variant.on_the_fly)
        lm_text = format_http_date(st.st_mtime)
        base: HeaderList = ((b"etag", etag.render().encode("latin-1")), *self._cache_headers(name))
        last_modified: int | None = None
        if lm_text is not None:
            last_modified = int(st.st_mtime)
            base += ((b"last-modified", lm_text.encode("ascii")),)
        if len(self._validators) >= MEMO_MAX:
            self._validators.clear()
        known = self._validators[key] = (etag, base, last_modified)
        return known


def _range_header(request: Request, etag: EntityTag, last_modified: int | None) -> str | None:
    # RFC 9110 §14.2: Range is defined for GET only; If-Range turns it off when the client's
    # copy is not the current one (§13.1.5).
    if request.method != "GET":
        return None
    value = request.header(b"range")
    if value is None:
        return None
    if_range = request.header(b"if-range")
    if if_range is not None and not if_range_matches(
        if_range, etag=etag, last_modified=last_modified
    ):
        return None
    return value


def _content_headers(media: MediaType, coding: str) -> HeaderList:
    if coding == "identity":
        return ((b"content-type", media.header), NOSNIFF)
    return ((b"content-type", media.header), NOSNIFF, (b"content-encoding", coding.encode()))


def _conditions(request: Request) -> Conditions:
    """The request's four precondition headers (RFC 9110 §13.1)."""
    return Conditions(
        if_match=request.header(b"if-match"),
        if_none_match=request.header(b"if-none-match"),
        if_modified_since=request.header(b"if-modified-since"),
        if_unmodified_since=request.header(b"if-unmodified-since"),
    )
