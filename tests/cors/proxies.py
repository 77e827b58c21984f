"""nginx and Caddy running an exported configuration in front of a bare upstream, for tests.

Each server runs unprivileged in the foreground, with every path it writes under a temporary
directory, listening on 127.0.0.1 on a port picked free; start-up waits a bounded time for the
port to answer and stops the process if it does not.  The upstream is a stdlib HTTP server in a
thread that answers 200 (500 for `/fail`) and sets CORS headers of its own (which the exported
configuration must hide).
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NGINX = "/usr/sbin/nginx"
CADDY = shutil.which("caddy") or "/usr/bin/caddy"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
# The upstream's own CORS headers: none may reach the client through an export.
UPSTREAM_CORS = (
    ("Access-Control-Allow-Origin", "https://upstream.invalid"),
    ("Access-Control-Allow-Credentials", "true"),
    ("Access-Control-Allow-Methods", "TRACE"),
    ("Access-Control-Expose-Headers", "X-Upstream"),
    ("Access-Control-Max-Age", "1"),
)


class _Upstream(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        # `/fail` is the app's own error: the exported headers must be on it too.
        self.send_response(500 if self.path == "/fail" else 200)
        for name, value in UPSTREAM_CORS:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "9")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b'{"a": 1}\n')

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def upstream() -> Iterator[int]:
    """The bare upstream on 127.0.0.1; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT_S)


def exchange(
    port: int, method: str, path: str, headers: Sequence[tuple[str, str]], host: str
) -> tuple[int, list[tuple[str, str]]]:
    """One request to 127.0.0.1:`port` with exactly these headers (and `Host`); the status
    and headers of the answer.  Not half-closed: nginx reads a half-close while it waits for
    the upstream as the client going away, and drops the request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=START_TIMEOUT_S)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status, response.getheaders()
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"not listening after {START_TIMEOUT_S} s: {log.read_text()[-2000:]}")


@contextmanager
def _running(cmd: list[str], port: int, log: Path, env: dict[str, str] | None) -> Iterator[int]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_listening(proc, port, log)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def nginx_temp_paths(conf: str, prefix: Path) -> str:
    """`conf` with nginx's temp paths under `prefix` (Debian compiles in /var/lib/nginx)."""
    lines = [
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / kind).mkdir(parents=True, exist_ok=True)
    return conf.replace("http {\n", "http {\n" + "\n".join(lines) + "\n", 1)


@contextmanager
def nginx(conf: str, port: int, tmp: Path) -> Iterator[int]:
    """nginx running `conf` (which listens on 127.0.0.1:`port`)."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "nginx.conf"
    path.write_text(nginx_temp_paths(conf, tmp))
    cmd = [NGINX, "-p", str(tmp), "-c", str(path), "-e", str(tmp / "error.log"),
           "-g", f"daemon off; master_process off; pid {tmp / 'nginx.pid'};"]  # fmt: skip
    with _running(cmd, port, tmp / "out.log", None) as p:
        yield p


@contextmanager
def caddy(conf: str, port: int, tmp: Path) -> Iterator[int]:
    """Caddy running the Caddyfile `conf` (which listens on 127.0.0.1:`port`)."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "Caddyfile"
    path.write_text(conf)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
    env.update(HOME=str(tmp), XDG_DATA_HOME=str(tmp / "data"), XDG_CONFIG_HOME=str(tmp / "cfg"))
    cmd = [CADDY, "run", "--config", str(path), "--adapter", "caddyfile"]
    with _running(cmd, port, tmp / "out.log", env) as p:
        yield p
