"""--proxy against nginx `proxy_pass`, to the same upstream: a small GET and a 100 MB download.

The upstream is nginx serving the benchmark's files (sendfile, so it is never the bottleneck),
on CPU 1 with wrk; the two proxies run one process each on CPU 0, in interleaved rounds.  nginx
keeps a pool of kept-alive upstream connections (`keepalive 32`) and streams without temp
files (`proxy_max_temp_file_size 0`), as minicors does; both add the same CORS headers.  The
peak RSS of each proxy while the 100 MB downloads run is sampled from /proc.  Run:
`python -m bench.proxy [--rounds N]`; the table is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import wrk
from .peers import nginx
from .scenarios import ORIGIN, Scenario, make_root, scenarios
from .servers import free_port, rss_kb, stop, wait_ready

NAMES = ("simple-get", "static-large")
MB = 1024 * 1024
SAMPLE_S = 0.05  # RSS sampling period during a transfer

UPSTREAM = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    types {{ application/json json; }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 10000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""

NGINX_LOCATION = """\
        location /api/ {
            proxy_pass http://upstream_pool/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_max_temp_file_size 0;
            proxy_hide_header Access-Control-Allow-Origin;
            add_header Access-Control-Allow-Origin $cors_origin;
            add_header Access-Control-Expose-Headers "ETag, Link, Location, X-Total-Count";
            add_header Vary Origin;
        }
"""


def upstream_conf(tmp: Path, root: Path, port: int) -> Path:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(UPSTREAM.format(tmp=tmp, root=root, port=port))
    return conf


def nginx_proxy_argv(tmp: Path, root: Path, port: int, upstream: int) -> list[str]:
    """The benchmark's nginx (same CORS) with a `proxy_pass` location for /api/."""
    conf = nginx.write_conf(tmp, root=root, port=port, origin=ORIGIN)
    text = conf.read_text()
    pool = f"    upstream upstream_pool {{ server 127.0.0.1:{upstream}; keepalive 32; }}\n"
    text = text.replace("    server {\n", pool + "    server {\n", 1)
    text = text.replace("        location / {\n", NGINX_LOCATION + "        location / {\n", 1)
    conf.write_text(text)
    return nginx.command(tmp, conf)


def minicors_argv(root: Path, port: int, upstream: int) -> list[str]:
    argv = [sys.executable, "-m", "minicors", "serve", str(root), "--port", str(port)]
    argv += ["--proxy", f"/api=http://127.0.0.1:{upstream}"]
    return [*argv, "--allow-origin", ORIGIN, "--no-access-log"]


@contextmanager
def running(argv: list[str], port: int, log: Path, cwd: Path, cpu: int) -> Iterator[int]:
    """The server's pid while it runs, pinned to `cpu`."""
    with log.open("wb") as out:
        proc = subprocess.Popen(["taskset", "-c", str(cpu), *argv], stdout=out, stderr=out, cwd=cwd)
    try:
        if not wait_ready(port, proc, timeout_s=30):
            raise RuntimeError(f"{argv[0]} did not start: {log.read_text()[-800:]}")
        yield proc.pid
    finally:
        stop(proc)


def peak_rss_kb(pid: int, work: Callable[[], float]) -> tuple[float, int]:
    """`work()`'s result, and the highest RSS of `pid` (KiB) sampled while it ran."""
    peak = rss_kb(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_S):
            peak = max(peak, rss_kb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        value = work()
    finally:
        done.set()
        sampler.join(timeout=5)
    return value, peak


def measure(
    argv: list[str], port: int, scratch: Path, name: str, by: dict[str, Scenario]
) -> dict[str, float]:
    path = wrk.find_wrk()
    out: dict[str, float] = {}
    with running(argv, port, scratch / f"{name}.log", scratch, cpu=0) as pid:
        out["idle-rss"] = rss_kb(pid) / 1024
        for scenario_name in NAMES:
            scenario = by[scenario_name]
            script = scratch / f"{scenario_name}.lua"
            script.write_text(wrk.lua_script(scenario))
            large = scenario_name == "static-large"

            def work(s: Scenario = scenario, lua: Path = script, big: bool = large) -> float:
                result = wrk.run(
                    s,
                    url=f"http://127.0.0.1:{port}",
                    script=lua,
                    duration_s=3.0 if big else 2.0,
                    cpu=1,
                    wrk=path,
                )
                if result.socket_errors or result.non_2xx:
                    raise RuntimeError(f"{name} {s.name}: errors in {result}")
                return result.mbps if big else result.rps

            value, peak = peak_rss_kb(pid, work)
            out[scenario_name] = value
            if large:
                out["large-rss"] = peak / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root, empty = tmp / "root", tmp / "empty"
        make_root(root, large_bytes=100 * MB)
        empty.mkdir()
        by = {
            s.name: dataclasses.replace(s, path="/api" + s.path)
            for s in scenarios(large_bytes=100 * MB)
            if s.name in NAMES
        }
        up_port = free_port()
        up_argv = nginx.command(tmp / "up", upstream_conf(tmp / "up", root, up_port))
        (tmp / "nginx").mkdir()
        figures: dict[str, dict[str, list[float]]] = {"minicors": {}, "nginx": {}}
        with running(up_argv, up_port, tmp / "upstream.log", tmp, cpu=1):
            for _ in range(args.rounds):
                for name in figures:
                    port = free_port()
                    argv = (
                        minicors_argv(empty, port, up_port)
                        if name == "minicors"
                        else nginx_proxy_argv(tmp / "nginx", empty, port, up_port)
                    )
                    for key, value in measure(argv, port, tmp, name, by).items():
                        figures[name].setdefault(key, []).append(value)
    median = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}
    print("| scenario | minicors --proxy | nginx proxy_pass | minicors / nginx |")
    print("|---|---:|---:|---:|")
    rows = (
        ("simple-get", "small GET (JSON)", "{:,.0f}/s"),
        ("static-large", "100 MB download", "{:,.0f} MB/s"),
        ("idle-rss", "RSS idle", "{:,.1f} MB"),
        ("large-rss", "RSS peak during the downloads", "{:,.1f} MB"),
    )
    for key, label, form in rows:
        m, n = median["minicors"][key], median["nginx"][key]
        print(f"| {label} | {form.format(m)} | {form.format(n)} | {m / n:.2f}x |")


if __name__ == "__main__":
    main()
