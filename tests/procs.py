"""Run the real `minicors` command as a subprocess (CLI and durability tests share this)."""

from __future__ import annotations

import http.client
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

URL_RE = re.compile(r"at (https?://(?:\[[0-9a-fA-F:]+\]|[^\s:]+)):(\d+)")


@dataclass
class Running:
    proc: subprocess.Popen[str]
    first_line: str
    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        host = self.host.strip("[]")
        conn = http.client.HTTPConnection(host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def wait(self, timeout: float = 30) -> tuple[int, str, str]:
        """Wait for the process to exit by itself (after a signal already sent)."""
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def minicors_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "minicors", *args]


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sel.select(timeout=0.1):
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    return ""


@contextmanager
def running(
    args: Sequence[str], *, cwd: str | None = None, timeout: float = 15
) -> Iterator[Running]:
    """Start `minicors serve ARGS` and yield once its first stdout line names the port."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        minicors_cmd("serve", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    try:
        line = read_line(proc, timeout)
        match = URL_RE.search(line)
        if match is None:
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise AssertionError(f"no URL in first line {line!r}; stderr: {err[-2000:]}")
        host = match.group(1).removeprefix("http://")
        yield Running(proc=proc, first_line=line, host=host, port=int(match.group(2)))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def run_to_exit(args: Sequence[str], timeout: float = 15) -> subprocess.CompletedProcess[str]:
    """Run `minicors ARGS` expecting it to exit by itself (bad input cases)."""
    return subprocess.run(
        minicors_cmd(*args), capture_output=True, text=True, timeout=timeout, check=False
    )
