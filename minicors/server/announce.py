"""What the server says and does once it listens, in one process or as the `--workers`
supervisor: the URL on stdout (the first line, a promise that it works), the LAN URLs on
stderr when it listens on every interface, and `--open`.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from collections.abc import Mapping, Sequence

from ..config import Config
from .interfaces import is_wildcard, lan_urls, local_url, machine_addresses
from .listen import BoundAddress


def announce_serving(
    config: Config, address: BoundAddress, *, note: str = "", startup: Sequence[str] = ()
) -> None:
    """Print where `config` is served (`note` ends the first line), then where else it can
    be reached, then the `startup` lines on stderr (the caller's summary of the policy:
    printed only once the server works, so a bad file at start stays one line), then open the
    browser when asked.  Blocking (the address lookup may resolve the machine's name): a trio
    caller runs it in a thread."""
    url = local_url(address)
    print(f"minicors: serving {config.root} at {url}{note}", flush=True)
    if config.api is not None:
        print(f"minicors: JSON API from {config.api.file} at {url}{config.api.prefix}", flush=True)
    if is_wildcard(address.host):
        for lan_url in lan_urls(address, machine_addresses()):
            sys.stderr.write(f"minicors: on your network: {lan_url}\n")
    for line in startup:
        sys.stderr.write(f"minicors: {line}\n")
    if config.open:
        open_browser(url)


def no_display(environ: Mapping[str, str], platform: str) -> str | None:
    """Why no browser can be shown, or None.  macOS and Windows always have a desktop; on
    Linux and the BSDs a graphical browser needs an X11 or Wayland display (over SSH or in a
    container there is none, and a text browser would take over the terminal)."""
    if platform in ("darwin", "win32"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"


def open_browser(url: str) -> None:
    """Open `url` in the user's browser (webbrowser honours $BROWSER), from a thread: a browser
    command may run for seconds, or until the browser exits, and serving must not wait."""
    why = no_display(os.environ, sys.platform)
    if why is not None:
        sys.stderr.write(f"minicors: --open skipped: {why}; open {url} yourself\n")
        return
    # A daemon thread: a browser command still running never holds up the exit.
    threading.Thread(target=_open, args=(url,), name="minicors-open", daemon=True).start()


def _open(url: str) -> None:
    try:
        opened = webbrowser.open(url)
    except Exception:  # it runs whatever command is configured: any failure is one line
        opened = False
    if not opened:
        sys.stderr.write(f"minicors: --open found no browser to run; open {url} yourself\n")
