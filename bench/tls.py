"""Throughput over TLS: minicors `--tls-cert/--tls-key` against nginx with the same certificate.

TLS is a development feature, so there is no target; the figure is known.  Both servers run
one process pinned to CPU 0 with wrk on CPU 1 (wrk speaks TLS and does not check the
certificate), in interleaved rounds, and the same minicors serves plain HTTP in the same run so
the cost of TLS itself shows.  Scenarios: an allowed preflight, a small JSON GET, and a 100 MB
file (MB/s).  Run: `python -m bench.tls [--rounds N]`; the table is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import wrk
from .peers import nginx
from .scenarios import ORIGIN, Scenario, make_root, scenarios
from .servers import free_port, stop, wait_ready

NAMES = ("preflight-allowed", "simple-get", "static-large")
MB = 1024 * 1024


def certificate(home: Path) -> tuple[Path, Path]:
    """A leaf for 127.0.0.1 from a throwaway minicors CA (certificate file, key file)."""
    os.environ["MINICORS_HOME"] = str(home / "ca")
    from minicors.tls import LocalCA

    leaf = LocalCA.open().leaf(("127.0.0.1",))
    return Path(leaf.path), Path(leaf.path)  # one PEM file holds the certificate, then its key


NGINX_TLS = """\
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
"""


@contextmanager
def running(argv: list[str], port: int, log: Path, cwd: Path, *, tls: bool) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(["taskset", "-c", "0", *argv], stdout=out, stderr=out, cwd=cwd)
    try:
        if not wait_ready(port, proc, timeout_s=30, tls=tls):
            raise RuntimeError(f"{argv[0]} did not start: {log.read_text()[-800:]}")
        yield
    finally:
        stop(proc)


def minicors_argv(root: Path, port: int, tls: tuple[Path, Path] | None) -> list[str]:
    argv = [sys.executable, "-m", "minicors", "serve", str(root)]
    argv += ["--port", str(port), "--allow-origin", ORIGIN, "--no-access-log"]
    if tls is not None:
        argv += ["--tls-cert", str(tls[0]), "--tls-key", str(tls[1])]
    return argv


def nginx_argv(tmp: Path, root: Path, port: int, tls: tuple[Path, Path]) -> list[str]:
    conf = nginx.write_conf(tmp, root=root, port=port, origin=ORIGIN)
    text = conf.read_text().replace(
        f"        listen 127.0.0.1:{port};\n",
        NGINX_TLS.format(port=port, cert=tls[0], key=tls[1]),
    )
    conf.write_text(text)
    return nginx.command(tmp, conf)


def measure(
    start: Callable[[int], list[str]],
    scheme: str,
    scratch: Path,
    name: str,
    by: dict[str, Scenario],
) -> dict[str, float]:
    port = free_port()
    path = wrk.find_wrk()
    out: dict[str, float] = {}
    with running(start(port), port, scratch / f"{name}.log", scratch, tls=scheme == "https"):
        for scenario_name in NAMES:
            scenario = by[scenario_name]
            script = scratch / f"{scenario_name}.lua"
            script.write_text(wrk.lua_script(scenario))
            duration = 3.0 if scenario_name == "static-large" else 2.0
            result = wrk.run(
                scenario,
                url=f"{scheme}://127.0.0.1:{port}",
                script=script,
                duration_s=duration,
                cpu=1,
                wrk=path,
            )
            out[scenario_name] = result.mbps if scenario_name == "static-large" else result.rps
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tls", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "root"
        make_root(root, large_bytes=100 * MB)
        tls = certificate(tmp)
        by = {s.name: s for s in scenarios(large_bytes=100 * MB)}
        servers: dict[str, tuple[Callable[[int], list[str]], str]] = {
            "minicors https": (lambda port: minicors_argv(root, port, tls), "https"),
            "minicors http": (lambda port: minicors_argv(root, port, None), "http"),
            "nginx https": (lambda port: nginx_argv(tmp / "nginx", root, port, tls), "https"),
        }
        (tmp / "nginx").mkdir()
        figures: dict[str, dict[str, list[float]]] = {name: {} for name in servers}
        for _ in range(args.rounds):
            for name, (start, scheme) in servers.items():
                for scenario, value in measure(start, scheme, tmp, name, by).items():
                    figures[name].setdefault(scenario, []).append(value)
    median = {n: {s: statistics.median(v) for s, v in f.items()} for n, f in figures.items()}
    print(f"| scenario | {' | '.join(servers)} | minicors https / nginx https |")
    print("|---|" + "---:|" * (len(servers) + 1))
    for scenario in NAMES:
        unit = " MB/s" if scenario == "static-large" else "/s"
        cells = [f"{median[n][scenario]:,.0f}{unit}" for n in servers]
        ratio = median["minicors https"][scenario] / median["nginx https"][scenario]
        print(f"| {scenario} | {' | '.join(cells)} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
