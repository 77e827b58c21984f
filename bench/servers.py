"""The servers under test: how each is started (pinned to one core), found ready, measured
(RSS of its whole process tree from /proc) and stopped.

Every server gets the same directory and the same CORS policy; each runs as one process (or
one worker) with access logs off, so the comparison is one core against one core.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .peers import nginx
from .scenarios import ORIGIN

REPO = Path(__file__).resolve().parent.parent
ASGI_APP = "bench.peers.starlette_app:app"

# argv for (root, port, scratch directory)
Command = Callable[[Path, int, Path], list[str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSpec:
    name: str
    label: str
    command: Command
    quick: bool = False  # part of --quick runs
    pythonpath: str = ""  # put first on PYTHONPATH (a candidate copy of minicors to compare)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def minicors_command(root: Path, port: int, tmp: Path) -> list[str]:
    argv = [sys.executable, "-m", "minicors", "serve", str(root), "--port", str(port)]
    return [*argv, "--allow-origin", ORIGIN, "--no-access-log"]


def floor_command(root: Path, port: int, tmp: Path) -> list[str]:
    return [sys.executable, "-m", "bench.peers.floor", str(root), str(port)]


def _hypercorn(worker: str) -> Command:
    def argv(root: Path, port: int, tmp: Path) -> list[str]:
        return [_bin("hypercorn"), "-k", worker, "-w", "1", "-b", f"127.0.0.1:{port}", ASGI_APP]

    return argv


def _uvicorn(http: str, loop: str) -> Command:
    def argv(root: Path, port: int, tmp: Path) -> list[str]:
        quiet = ["--no-access-log", "--log-level", "warning"]
        return [
            _bin("uvicorn"),
            ASGI_APP,
            "--port",
            str(port),
            "--http",
            http,
            "--loop",
            loop,
            *quiet,
        ]

    return argv


def _granian(root: Path, port: int, tmp: Path) -> list[str]:
    # One worker with one runtime thread: the same single core every other server gets.
    flags = "--interface asgi --workers 1 --runtime-threads 1 --no-access-log --log-level warning"
    return [_bin("granian"), *flags.split(), "--port", str(port), ASGI_APP]


def _nginx(root: Path, port: int, tmp: Path) -> list[str]:
    conf = nginx.write_conf(tmp, root=root, port=port, origin=ORIGIN)
    return nginx.command(tmp, conf)


SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec(name="minicors", label="minicors", command=minicors_command, quick=True),
    ServerSpec(name="floor", label="floor (bare h11+trio)", command=floor_command, quick=True),
    ServerSpec(
        name="hypercorn-trio", label="Starlette + hypercorn (trio)", command=_hypercorn("trio")
    ),
    ServerSpec(
        name="hypercorn-asyncio",
        label="Starlette + hypercorn (asyncio)",
        command=_hypercorn("asyncio"),
    ),
    ServerSpec(
        name="uvicorn-h11", label="Starlette + uvicorn (h11)", command=_uvicorn("h11", "asyncio")
    ),
    ServerSpec(
        name="uvicorn-httptools",
        label="Starlette + uvicorn (httptools+uvloop)",
        command=_uvicorn("httptools", "uvloop"),
    ),
    ServerSpec(name="granian", label="Starlette + granian", command=_granian),
    ServerSpec(name="nginx", label="nginx (sendfile)", command=_nginx),
)


def candidate(directory: Path) -> ServerSpec:
    """minicors imported from `directory` (a changed copy of the package), to be measured
    against the tree's minicors and the floor in the same run."""
    return ServerSpec(
        name=f"cand-{directory.name}",
        label=f"minicors from {directory}",
        command=minicors_command,
        quick=True,
        pythonpath=str(directory),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces: fields resume after the last ')'.
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    tree = _children()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def rss_kb(pid: int) -> int:
    """VmRSS of `pid` and all its descendants, in KiB (0 for processes already gone)."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


@dataclass(slots=True)
class Running:
    spec: ServerSpec
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kb(self) -> int:
        return rss_kb(self.proc.pid)

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-800:]
        except OSError:
            return ""


def wait_ready(
    port: int, proc: subprocess.Popen[bytes], timeout_s: float, *, tls: bool = False
) -> bool:
    """True once a request on `port` gets any HTTP answer (the process may still be starting
    workers after it binds); with `tls`, over TLS without checking the certificate."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
                s = _unchecked_tls().wrap_socket(raw) if tls else raw
                s.sendall(
                    b"GET /data.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                )
                if s.recv(16).startswith(b"HTTP/1."):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _unchecked_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a readiness probe of a throwaway local certificate
    return context


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (its own workers follow it), then SIGKILL what is left of its tree."""
    members = process_tree(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for pid in members[1:]:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def started(
    spec: ServerSpec, *, root: Path, scratch: Path, cpu: int | None, extra: tuple[str, ...] = ()
) -> Iterator[Running]:
    """Start `spec` on a free port (pinned to `cpu`), wait until it answers, stop it after."""
    tmp = scratch / spec.name
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [*spec.command(root, port, tmp), *extra]
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    path = os.pathsep.join(p for p in (spec.pythonpath, str(REPO)) if p)
    env = dict(os.environ, MINICORS_BENCH_ROOT=str(root), PYTHONPATH=path)
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    running = Running(spec=spec, proc=proc, port=port, log=log)
    try:
        if not wait_ready(port, proc, timeout_s=30):
            raise RuntimeError(f"{spec.name} did not start: {running.log_tail()}")
        yield running
    finally:
        stop(proc)
