"""The one script tag `--reload` adds to HTML answers, and where it goes."""

from __future__ import annotations

PREFIX = "/_minicors/"  # reserved with --reload: the script and its event stream live here
SCRIPT_PATH = PREFIX + "reload.js"
EVENTS_PATH = PREFIX + "events"
TAG = b'<script src="/_minicors/reload.js" defer></script>'
INJECT_MAX_BYTES = 16 * 1024 * 1024  # a larger page is served as it is (and logged)


def inject(html: bytes) -> bytes:
    """`html` with the reload script before its last `</body>` (in any case), else at the
    end: a page without a body element still gets it (browsers run it all the same)."""
    at = html.lower().rfind(b"</body")
    if at < 0:
        return html + TAG
    return html[:at] + TAG + html[at:]
