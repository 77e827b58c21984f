"""What the browser tests share: Debian's Chromium driven by Playwright, and minicors servers
run as real subprocesses whose access logs can be read while they run."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .procs import URL_RE, minicors_cmd, read_line

CHROMIUM = "/usr/bin/chromium"
# The flags Chromium needs in a closed, headless sandbox: no background fetches to the outside
# (they would be refused by the network anyway), no first-run UI, and *.test names resolved to
# loopback so subdomain patterns can be tested with real host names.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--host-resolver-rules=MAP *.test 127.0.0.1",
    "--autoplay-policy=no-user-gesture-required",
]


@dataclass
class LiveServer:
    """A `minicors serve` subprocess; `log` fills with its stderr lines as they arrive."""

    proc: subprocess.Popen[str]
    port: int
    log: list[str] = field(default_factory=list)

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in list(self.log) if needle in line]

    def wait_for_log(self, needle: str, count: int = 1, timeout: float = 5) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.log_lines(needle)
            if len(lines) >= count:
                return lines
            time.sleep(0.02)
        return self.log_lines(needle)


def free_port() -> int:
    """A port free on 127.0.0.1 now (for a server that must come back on the same one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(args: Sequence[str], *, port: int = 0) -> Iterator[LiveServer]:
    proc = subprocess.Popen(
        minicors_cmd("serve", *args, "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(proc, 15)
        match = URL_RE.search(line)
        if match is None:
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise AssertionError(f"minicors did not start: {line!r} {err[-2000:]}")
        server = LiveServer(proc=proc, port=int(match.group(2)))

        def pump() -> None:
            assert proc.stderr is not None
            for entry in proc.stderr:
                server.log.append(entry.rstrip("\n"))

        pumper = threading.Thread(target=pump, daemon=True)
        pumper.start()
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if "pumper" in locals():
            pumper.join(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


@contextmanager
def chromium(env: dict[str, str | float | bool] | None = None) -> Iterator[Any]:
    """A fresh persistent Chromium context (its own empty user-data dir); `env` replaces the
    browser's environment (a temporary `HOME` brings its own NSS certificate database)."""
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        raise AssertionError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    profile = tempfile.mkdtemp(prefix="minicors-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=env
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


FETCH_JS = """
async ([url, init]) => {
  try {
    const r = await fetch(url, init);
    const headers = {};
    for (const [k, v] of r.headers) headers[k] = v;
    return {ok: true, status: r.status, headers, body: await r.text()};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
}
"""


def browser_fetch(page: Any, url: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
    """`fetch(url, init)` run by the page: `ok` False means the browser blocked it."""
    result: dict[str, Any] = page.evaluate(FETCH_JS, [url, init or {}])
    return result
