"""Static files under ROOT: safe lookup, validators, conditional and range requests, listings.

Per request: judge the URL (pure, `paths.py`), open the file once and `fstat` it, ask the kernel
where the opened file really is (`opener.py`), choose the representation (`variants.py`), then
decide the answer with the pure helpers (`answer.py`).  A GET keeps the descriptor in the
`FileBody` so the bytes sent are those of the file that was checked.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from urllib.parse import parse_qs

from ..errors import ConfigError
from ..messages import HeaderList, Request, Response, text_response
from ..options import StaticOptions
from .answer import NOSNIFF, FileAnswers
from .cache import EntityCache
from .encoding import accepts_html
from .headers import ExtraHeaders
from .listing import render_html, render_json, scan_directory
from .mime import MediaType, MimeTable, is_hashed_name
from .opener import MEMO_MAX, Opened, SafeOpener
from .paths import Refusal, UrlPath, judge_url
from .variants import Variants

log = logging.getLogger("minicors.static")

ALLOW = b"GET, HEAD, OPTIONS"
IMMUTABLE = b"public, max-age=31536000, immutable"
_HTML = b"text/html; charset=utf-8"
_JSON = b"application/json"


class StaticFiles:
    """Serves the files under `root` for GET and HEAD."""

    def __init__(
        self,
        root: str,
        options: StaticOptions,
        *,
        kernel_paths: bool | None = None,
        inject_html: Callable[[bytes], bytes] | None = None,
    ) -> None:
        """`kernel_paths`: locate opened files through /proc/self/fd (None: when it works).
        `inject_html`: applied to every HTML answer (`--reload` adds its script this way);
        such pages are then never sent precompressed or compressed on the fly."""
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
        self._types = MimeTable(options.mime_types)
        # An empty value means "send no Cache-Control" (leave caching to the browser).
        self._cache_control: HeaderList = (
            ((b"cache-control", cache_control.encode("ascii")),) if cache_control else ()
        )
        self._opener = SafeOpener(self.root, dotfiles=options.dotfiles, kernel_paths=kernel_paths)
        self._variants = Variants(self._opener, options)
        self._answers = FileAnswers(self._cache_headers)
        self._inject = inject_html
        # The user's headers (`--header`, `[headers]`); None keeps every answer as it was.
        self._extra = ExtraHeaders(options.headers) if options.headers else None
        # URL path -> judged path (a pure function of the path and the dotfiles setting).
        self._urls: dict[str, UrlPath | Refusal] = {}
        # URL path -> the whole answer for a small settled file (see cache.py).
        self._entities = EntityCache()

    @property
    def uses_kernel_paths(self) -> bool:
        return self._opener.uses_kernel_paths

    # --- the request ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        method = request.method
        if method not in ("GET", "HEAD"):
            if method == "OPTIONS":  # RFC 9110 §9.3.7: what this resource allows
                response = Response(status=204, headers=((b"allow", ALLOW),))
            else:
                response = text_response(405, "method not allowed\n", headers=((b"allow", ALLOW),))
        else:
            cached = self._entities.lookup(request)
            if cached is not None:
                return cached  # a kept answer got the user's headers when it was made
            response = self._get(request)
        extra = self._extra
        if extra is None or response.shared:  # shared: a kept answer, already complete
            return response
        return extra.apply(request.url.canonical, response)

    def _get(self, request: Request) -> Response:
        url = self._urls.get(request.path)
        if url is None:
            url = judge_url(request.url, dotfiles=self.options.dotfiles)
            if len(self._urls) >= MEMO_MAX:
                self._urls.clear()
            self._urls[request.path] = url
        if isinstance(url, Refusal):
            return self._refused(request, url)
        path = os.path.join(self.root, *url.names)
        opened = self._opener.open(path)
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
        return text_response(refusal.status, text, headers=(NOSNIFF,))

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
        index = self._opener.open(os.path.join(path, "index.html"))
        if not isinstance(index, Refusal):
            if stat.S_ISREG(index.st.st_mode):
                return self._serve_file(request, index, "index.html")
            os.close(index.fd)
        if not self.options.listing:
            return self._refused(request, Refusal(reason="directory without index.html"))
        try:
            entries = scan_directory(
                path, root=self.root, prefix=self._opener.prefix, dotfiles=self.options.dotfiles
            )
        except OSError as exc:
            return self._refused(request, Refusal(reason=f"cannot list {path!r}: {exc}"))
        as_json = parse_qs(request.query).get("format", [""])[-1] == "json"
        if as_json:
            body, ctype = render_json(entries), _JSON
        else:
            shown = "/" + "".join(name + "/" for name in url.names)
            body, ctype = render_html(shown, entries, at_root=not url.names), _HTML
            if self._inject is not None:
                body = self._inject(body)
        # A listing has no validator of its own (a file's size can change without the
        # directory's mtime): always revalidate.
        return Response(
            status=200,
            headers=((b"content-type", ctype), (b"cache-control", b"no-cache"), NOSNIFF),
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
        index = self._opener.open(os.path.join(self.root, "index.html"))
        if isinstance(index, Refusal):
            return self._refused(request, index)
        if not stat.S_ISREG(index.st.st_mode):
            os.close(index.fd)
            return self._refused(request, Refusal(reason="ROOT/index.html is not a file"))
        return self._serve_file(request, index, "index.html")

    # --- files ------------------------------------------------------------------------------

    def _cache_headers(self, name: str) -> HeaderList:
        if self.options.immutable_hashed and is_hashed_name(name):
            return ((b"cache-control", IMMUTABLE),)
        return self._cache_control

    def _serve_file(
        self,
        request: Request,
        opened: Opened,
        name: str,
        *,
        direct: tuple[str, ...] | None = None,
    ) -> Response:
        """200/206/304/412/416 for a regular file; owns (and closes or hands on) its fd.
        `direct`: the names the URL led to, when it named this very file (not a directory's
        index, not the SPA fallback); only then may a small file's answer be kept in memory."""
        try:
            media = self._types.lookup(name)
            if self._inject is not None and media.header.startswith(b"text/html"):
                injected = self._answers.injected(request, opened, media, name, self._inject)
                if injected is not None:
                    os.close(opened.fd)
                    return injected
                log.debug("%r is too large to inject the reload script into", opened.path)
            variant, varies = self._variants.choose(request, opened, media)
        except BaseException:
            os.close(opened.fd)
            raise
        fd = variant.opened.fd
        keep = False
        try:
            response, keep = self._answers.answer(request, variant, varies, media, name)
            if keep and direct is not None and variant.coding == "identity":
                response, keep = self._remember(request, response, variant.opened, direct, media)
        finally:
            if not keep:  # only a GET body with a FileBody/StreamBody takes the descriptor on
                os.close(fd)
        return response

    def _remember(
        self,
        request: Request,
        response: Response,
        opened: Opened,
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
        headers = response.headers
        if self._extra is not None:
            # Kept under `request.path`, which is the canonical path the headers are chosen by
            # (checked above): another path's glob headers can never be served from here.
            headers = self._extra.apply(request.path, response).headers
        kept = Response(status=200, headers=headers, body=data, shared=True)
        self._entities.store(request.path, opened.path, st, kept, any_coding=not compressible)
        return kept, False
