"""Static files under ROOT: safe lookup, validators, conditional and range requests, listings.

Per request: judge the URL (pure), open the file once and `fstat` it, ask the kernel where the
opened file really is (one `readlink` of /proc/self/fd, so a symlink race cannot swap it), then
decide the answer with the pure helpers (`..conditional`, `ranges`, `encoding`).  A GET keeps
the descriptor in the `FileBody` so the bytes sent are those of the file that was checked.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from ..conditional import (
    Conditions,
    EntityTag,
    evaluate_preconditions,
    format_http_date,
    if_range_matches,
)
from ..errors import ConfigError
from ..messages import FileBody, Request, Response, StreamBody, text_response
from ..options import StaticOptions
from .cache import SETTLE_NS, EntityCache
from .encoding import GzipFileChunks, accepts_html, rank_codings
from .listing import render_html, render_json, scan_directory
from .mime import MediaType, MimeTable, is_hashed_name
from .paths import (
    Refusal,
    UrlPath,
    has_hidden_part,
    is_inside,
    judge_url,
    root_prefix,
)
from .ranges import parse_range

log = logging.getLogger("minicors.static")

ALLOW = b"GET, HEAD, OPTIONS"
IMMUTABLE = b"public, max-age=31536000, immutable"
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK  # NONBLOCK: a FIFO must not hang us
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_VARY_AE = (b"vary", b"Accept-Encoding")
_SIBLINGS = (("br", ".br"), ("gzip", ".gz"))  # precompressed variants, by suffix
_CODINGS = ("br", "gzip")
_MEMO_MAX = 4096  # entries per cache before it is simply cleared
_HTML = b"text/html; charset=utf-8"
_JSON = b"application/json"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Opened:
    fd: int
    st: os.stat_result
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Variant:
    """The representation chosen to send: the file itself, a sibling, or gzip on the fly."""

    opened: _Opened
    coding: str  # "identity", "br" or "gzip"
    on_the_fly: bool = False


def _proc_fd_works(root: str) -> bool:
    # /proc/self/fd/N names the file an fd refers to (Linux).  Trust it only if it reports the
    # real ROOT for ROOT itself; otherwise fall back to os.path.realpath per request.
    try:
        fd = os.open(root, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == root
    except OSError:
        return False
    finally:
        os.close(fd)


def _etag(st: os.stat_result, coding: str, *, weak: bool = False) -> EntityTag:
    # Strong validator from size + mtime_ns + inode (RFC 9110 §8.8.3): changes whenever the
    # bytes can have changed, costs nothing beyond the fstat.  Each coding is its own
    # representation, so it gets its own tag.
    opaque = f"{st.st_size:x}-{st.st_mtime_ns:x}-{st.st_ino:x}"
    if coding != "identity":
        opaque += "-" + coding
    return EntityTag(opaque=opaque, weak=weak)


class StaticFiles:
    """Serves the files under `root` for GET and HEAD."""

    def __init__(
        self, root: str, options: StaticOptions, *, kernel_paths: bool | None = None
    ) -> None:
        """`kernel_paths`: locate opened files through /proc/self/fd (None: when it works)."""
        if not os.path.isdir(root):
            what = "does not exist" if not os.path.exists(root) else "is not a directory"
            raise ConfigError(f"static root {root!r} {what}; pass an existing directory as ROOT")
        if options.gzip_min_bytes < 0:
            raise ConfigError("gzip_min_bytes must be >= 0; use 0 to compress any text file")
        cache_control = options.cache_control.strip()
        if not all(" " <= c <= "~" or c == "\t" for c in cache_control):  # RFC 9110 §5.5
            raise ConfigError(
                f"bad cache_control {options.cache_control!r}: use a plain ASCII header value"
            )
        self.options = options
        self.root = os.path.realpath(root)
        self._prefix = root_prefix(self.root)
        self._types = MimeTable(options.mime_types)
        # An empty value means "send no Cache-Control" (leave caching to the browser).
        self._cache_control: tuple[tuple[bytes, bytes], ...] = (
            ((b"cache-control", cache_control.encode("ascii")),) if cache_control else ()
        )
        self._use_proc = _proc_fd_works(self.root) if kernel_paths is None else kernel_paths
        # Caches, each bounded and each keyed so that a change on disk misses:
        # URL path -> parsed path (a pure function of the path and the dotfiles setting);
        self._urls: dict[str, UrlPath | Refusal] = {}
        # files whose real location was checked, by (dev, inode, ctime): a file replaced or
        # re-linked gets a new ctime, so only the very same file skips the readlink() check;
        self._inside: set[tuple[int, int, int]] = set()
        # directory -> (its mtime, the .br/.gz names in it): adding or removing an entry
        # changes the directory's mtime, so a sibling can be ruled out with one stat().
        self._siblings: dict[str, tuple[int, frozenset[str]]] = {}
        # (file identity, version, coding, name) -> its validators and caching headers.
        self._validators: dict[
            tuple[int, int, int, int, str, bool, str],
            tuple[EntityTag, tuple[tuple[bytes, bytes], ...], int | None],
        ] = {}
        # URL path -> the whole answer for a small settled file (see cache.py).
        self._entities = EntityCache()

    @property
    def uses_kernel_paths(self) -> bool:
        return self._use_proc

    # --- the request ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        method = request.method
        if method not in ("GET", "HEAD"):
            if method == "OPTIONS":  # RFC 9110 §9.3.7: what this resource allows
                return Response(status=204, headers=((b"allow", ALLOW),))
            return text_response(405, "method not allowed\n", headers=((b"allow", ALLOW),))
        cached = self._entities.lookup(request)
        if cached is not None:
            return cached
        url = self._urls.get(request.path)
        if url is None:
            url = judge_url(request.url, dotfiles=self.options.dotfiles)
            if len(self._urls) >= _MEMO_MAX:
                self._urls.clear()
            self._urls[request.path] = url
        if isinstance(url, Refusal):
            return self._refused(request, url)
        path = os.path.join(self.root, *url.names)
        opened = self._open(path)
        if isinstance(opened, Refusal):
            if opened.missing and self._spa_applies(request, url):
                return self._spa(request)
            return self._refused(request, opened)
        mode = opened.st.st_mode
        if stat.S_ISREG(mode):
            if url.trailing_slash:
                os.close(opened.fd)
                return self._refused(request, Refusal(reason="file asked for as a directory"))
            return self._serve_file(request, opened, url.names[-1], direct=url.names)
        os.close(opened.fd)
        if stat.S_ISDIR(mode):
            return self._directory(request, url, opened.path)
        return self._refused(request, Refusal(reason=f"{path!r} is not a regular file"))

    def _refused(self, request: Request, refusal: Refusal) -> Response:
        log.debug("%s %r -> %d: %s", request.method, request.target, refusal.status, refusal.reason)
        text = "forbidden\n" if refusal.status == 403 else "not found\n"
        return text_response(refusal.status, text, headers=(_NOSNIFF,))

    def _open(self, path: str) -> _Opened | Refusal:
        """Open `path` (one open + one fstat) and make sure the kernel's answer lies in ROOT."""
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except (FileNotFoundError, NotADirectoryError):
            return Refusal(reason=f"{path!r} not found", missing=True)
        except PermissionError:
            return Refusal(reason=f"{path!r}: permission denied", status=403)
        except (OSError, ValueError) as exc:  # ELOOP, ENAMETOOLONG, ...
            return Refusal(reason=f"{path!r}: {exc}")
        try:
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino, st.st_ctime_ns)
            if key in self._inside:
                return _Opened(fd=fd, st=st, path=path)
            real = os.readlink(f"/proc/self/fd/{fd}") if self._use_proc else os.path.realpath(path)
            if not is_inside(real, self.root, self._prefix):
                os.close(fd)
                return Refusal(reason=f"{path!r} resolves to {real!r}, outside ROOT")
            if not self.options.dotfiles and has_hidden_part(real, self._prefix):
                os.close(fd)
                return Refusal(reason=f"{path!r} resolves to hidden {real!r} (dotfiles are off)")
        except BaseException:
            os.close(fd)
            raise
        if len(self._inside) >= _MEMO_MAX:
            self._inside.clear()
        self._inside.add(key)
        return _Opened(fd=fd, st=st, path=path)

    # --- directories ------------------------------------------------------------------------

    def _directory(self, request: Request, url: UrlPath, path: str) -> Response:
        if not url.trailing_slash:
            # RFC 9110 §15.4.9: 308 keeps the method; `canonical` never starts with "//", so
            # the Location cannot name another host.  The query travels along.
            location = url.canonical.rstrip("/") + "/"
            if request.query:
                location += "?" + request.query
            return text_response(
                308,
                f"moved to {location}\n",
                headers=((b"location", location.encode("latin-1")), *self._cache_control),
            )
        index = self._open(os.path.join(path, "index.html"))
        if not isinstance(index, Refusal):
            if stat.S_ISREG(index.st.st_mode):
                return self._serve_file(request, index, "index.html")
            os.close(index.fd)
        if not self.options.listing:
            return self._refused(request, Refusal(reason="directory without index.html"))
        try:
            entries = scan_directory(
                path, root=self.root, prefix=self._prefix, dotfiles=self.options.dotfiles
            )
        except OSError as exc:
            return self._refused(request, Refusal(reason=f"cannot list {path!r}: {exc}"))
        as_json = parse_qs(request.query).get("format", [""])[-1] == "json"
        if as_json:
            body, ctype = render_json(entries), _JSON
        else:
            shown = "/" + "".join(name + "/" for name in url.names)
            body, ctype = render_html(shown, entries, at_root=not url.names), _HTML
        # A listing has no validator of its own (a file's size can change without the
        # directory's mtime): always revalidate.
        return Response(
            status=200,
            headers=((b"content-type", ctype), (b"cache-control", b"no-cache"), _NOSNIFF),
            body=body,
        )

    # --- single-page apps -------------------------------------------------------------------

    def _spa_applies(self, request: Request, url: UrlPath) -> bool:
        # A page, not an asset: no extension in the last segment, and a browser navigation
        # (Accept names text/html).  A missing `app.js` must stay a 404.
        if not self.options.spa:
            return False
        last = url.names[-1] if url.names else ""
        return "." not in last and accepts_html(request.header(b"accept"))

    def _spa(self, request: Request) -> Response:
        index = self._open(os.path.join(self.root, "index.html"))
        if isinstance(index, Refusal):
            return self._refused(request, index)
        if not stat.S_ISREG(index.st.st_mode):
            os.close(index.fd)
            return self._refused(request, Refusal(reason="ROOT/index.html is not a file"))
        return self._serve_file(request, index, "index.html")

    # --- files ------------------------------------------------------------------------------

    def _cache_headers(self, name: str) -> tuple[tuple[bytes, bytes], ...]:
        if self.options.immutable_hashed and is_hashed_name(name):
            return ((b"cache-control", IMMUTABLE),)
        return self._cache_control

    def _choose_variant(
        self, request: Request, opened: _Opened, media: MediaType
    ) -> tuple[_Variant, bool]:
        """The representation to send and whether the choice depended on Accept-Encoding.

        Siblings are only looked for on compressible types (an `.png.gz` buys nothing), and a
        sibling the client refuses is only stat()ed when Vary is not yet known to be needed.
        A request without Accept-Encoding (curl, load generators) costs no sibling open() at
        all; its identity response then carries no `Vary: Accept-Encoding`, which is safe: a
        cache may hand an identity response to anyone, and every compressed one has the Vary.
        """
        identity = _Variant(opened=opened, coding="identity")
        options = self.options
        if not media.compressible:
            return identity, False
        accept = request.header(b"accept-encoding")
        ranked = rank_codings(accept, _CODINGS)
        varies = False
        if options.precompressed and accept is not None:
            order = ranked + tuple(c for c, _ in _SIBLINGS if c not in ranked)
            suffixes = dict(_SIBLINGS)
            for coding in order:
                wanted = coding in ranked
                if not wanted and varies:
                    continue
                if not self._may_exist(opened.path + suffixes[coding]):
                    continue
                sibling = self._open(opened.path + suffixes[coding])
                if isinstance(sibling, Refusal):
                    continue
                if not stat.S_ISREG(sibling.st.st_mode):
                    os.close(sibling.fd)
                    continue
                varies = True
                if wanted:
                    os.close(opened.fd)
                    return _Variant(opened=sibling, coding=coding), True
                os.close(sibling.fd)
        if options.gzip and opened.st.st_size >= options.gzip_min_bytes:
            varies = True
            if "gzip" in ranked:
                return _Variant(opened=opened, coding="gzip", on_the_fly=True), True
        return identity, varies

    def _may_exist(self, sibling: str) -> bool:
        """False only when `sibling` is certainly absent (its directory, unchanged since it
        was listed, had no such name): one stat() instead of a failed open() per coding."""
        directory, name = os.path.split(sibling)
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            return True
        if time.time_ns() - mtime < SETTLE_NS:
            # Timestamps are coarser than the clock: an entry created in the same tick as the
            # listing would leave the mtime unchanged.  A directory this fresh is not trusted.
            return True
        known = self._siblings.get(directory)
        if known is None or known[0] != mtime:
            try:
                names = frozenset(n for n in os.listdir(directory) if n.endswith((".br", ".gz")))
            except OSError:
                return True
            if len(self._siblings) >= _MEMO_MAX:
                self._siblings.clear()
            known = self._siblings[directory] = (mtime, names)
        return name in known[1]

    def _serve_file(
        self,
        request: Request,
        opened: _Opened,
        name: str,
        *,
        direct: tuple[str, ...] | None = None,
    ) -> Response:
        """200/206/304/412/416 for a regular file; owns (and closes or hands on) its fd.
        `direct`: the names the URL led to, when it named this very file (not a directory's
        index, not the SPA fallback); only then may a small file's answer be kept in memory."""
        try:
            media = self._types.lookup(name)
            variant, varies = self._choose_variant(request, opened, media)
        except BaseException:
            os.close(opened.fd)
            raise
        fd = variant.opened.fd
        keep = False
        try:
            response, keep = self._answer(request, variant, varies, media, name)
            if keep and direct is not None and variant.coding == "identity":
                response, keep = self._remember(request, response, variant.opened, direct, media)
        finally:
            if not keep:  # only a GET body with a FileBody/StreamBody takes the descriptor on
                os.close(fd)
        return response

    def _answer(
        self, request: Request, variant: _Variant, varies: bool, media: MediaType, name: str
    ) -> tuple[Response, bool]:
        """The response, and whether its body took over the variant's descriptor."""
        st = variant.opened.st
        fd = variant.opened.fd
        size = st.st_size
        key = (st.st_dev, st.st_ino, size, st.st_mtime_ns, variant.coding, variant.on_the_fly, name)
        known = self._validators.get(key)
        if known is None:
            # Validators depend only on the file's identity and version: formatted once.
            etag = _etag(st, variant.coding, weak=variant.on_the_fly)
            lm_text = format_http_date(st.st_mtime)
            base: tuple[tuple[bytes, bytes], ...] = (
                (b"etag", etag.render().encode("latin-1")),
                *self._cache_headers(name),
            )
            last_modified_or_none: int | None = None
            if lm_text is not None:
                last_modified_or_none = int(st.st_mtime)
                base += ((b"last-modified", lm_text.encode("ascii")),)
            if len(self._validators) >= _MEMO_MAX:
                self._validators.clear()
            known = self._validators[key] = (etag, base, last_modified_or_none)
        etag, base, last_modified_or_none = known
        headers: list[tuple[bytes, bytes]] = list(base)
        if varies:
            headers.append(_VARY_AE)
        status = evaluate_preconditions(
            Conditions(
                if_match=request.header(b"if-match"),
                if_none_match=request.header(b"if-none-match"),
                if_modified_since=request.header(b"if-modified-since"),
                if_unmodified_since=request.header(b"if-unmodified-since"),
            ),
            method=request.method,
            etag=etag,
            last_modified=last_modified_or_none,
        )
        if status == 304:  # RFC 9110 §15.4.5: the validators, Cache-Control and Vary of a 200
            return Response(status=304, headers=(*headers, _NOSNIFF)), False
        if status == 412:
            return text_response(412, "precondition failed\n", headers=(*headers, _NOSNIFF)), False
        keep = request.method == "GET"  # HEAD: no body is sent, so no descriptor is kept
        if variant.on_the_fly:
            # Length unknown in advance, so no ranges (RFC 9110 §14.2 lets us ignore Range).
            headers += _content_headers(media, variant.coding)
            chunks = GzipFileChunks(fd, size) if keep else iter(())
            # A file of more than one block is read and compressed in a worker thread (zlib
            # releases the GIL), so the event loop never waits for it; a one-block file
            # costs less than the hand-off (see bench/README.md "Stalls").
            blocking = size > GzipFileChunks.BLOCK
            return Response(
                status=200,
                headers=tuple(headers),
                body=StreamBody(chunks=chunks, blocking=blocking),
            ), keep
        headers.append((b"accept-ranges", b"bytes"))
        decision = parse_range(self._range_header(request, etag, last_modified_or_none), size)
        if decision.status == 416:
            headers += ((b"content-range", decision.content_range(size)), _NOSNIFF)
            return text_response(416, "range not satisfiable\n", headers=tuple(headers)), False
        headers += _content_headers(media, variant.coding)
        if decision.status == 206:
            headers.append((b"content-range", decision.content_range(size)))
        body = FileBody(
            path=variant.opened.path,
            offset=decision.start,
            length=decision.length,
            fd=fd if keep else None,
        )
        return Response(status=decision.status, headers=tuple(headers), body=body), keep

    def _remember(
        self,
        request: Request,
        response: Response,
        opened: _Opened,
        names: tuple[str, ...],
        media: MediaType,
    ) -> tuple[Response, bool]:
        """`response` with the file's bytes in memory, kept for the next requests, when the
        cache admits it; else `response` unchanged (its body still holds the descriptor)."""
        st = opened.st
        compressible = media.compressible
        if response.status != 200 or not self._entities.admits(
            request, st, compressible=compressible
        ):
            return response, True
        if request.path != request.url.canonical:
            # Kept under one spelling of the URL only: `//a`, `/%61` and `http://host/a` name
            # the same file and must not each hold a copy of it.
            return response, True
        try:
            data = os.pread(opened.fd, st.st_size, 0)
        except OSError:
            return response, True  # the ordinary path reads it again and reports the error
        if len(data) != st.st_size:
            return response, True  # changed under us: send it the ordinary way, keep nothing
        kept = Response(status=200, headers=response.headers, body=data, shared=True)
        self._entities.store(request.path, opened.path, st, kept, any_coding=not compressible)
        return kept, False

    @staticmethod
    def _range_header(request: Request, etag: EntityTag, last_modified: int | None) -> str | None:
        # RFC 9110 §14.2: Range is defined for GET only; If-Range turns it off when the
        # client's copy is not the current one (§13.1.5).
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


def _content_headers(media: MediaType, coding: str) -> tuple[tuple[bytes, bytes], ...]:
    if coding == "identity":
        return ((b"content-type", media.header), _NOSNIFF)
    return ((b"content-type", media.header), _NOSNIFF, (b"content-encoding", coding.encode()))
