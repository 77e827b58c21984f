"""Profile a live server under wrk load with pyinstrument (sampling, so the event loop, h11 and
the app all show in one call tree).  The server runs pinned to CPU 0 under
`python -m pyinstrument`, wrk drives one scenario from CPU 1, and SIGINT ends the server so
pyinstrument writes its report.  Run: `python -m bench.profile [scenario] [minicors|floor]`.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import wrk
from .scenarios import ORIGIN, make_root, scenarios
from .servers import REPO, free_port, wait_ready

HERE = Path(__file__).resolve().parent


def server_argv(server: str, root: Path, port: int) -> list[str]:
    if server == "minicors":
        flags = ["--allow-origin", ORIGIN, "--no-access-log"]
        return ["-m", "minicors", "serve", str(root), "--port", str(port), *flags]
    return ["-m", "bench.peers.floor", str(root), str(port)]


def profile(scenario_name: str, server: str, seconds: int, out: Path, renderer: str) -> Path:
    sc = {s.name: s for s in scenarios(large_bytes=2**20)}[scenario_name]
    wrk_path = wrk.find_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        make_root(root, large_bytes=2**20)
        port = free_port()
        argv = ["taskset", "-c", "0", sys.executable, "-m", "pyinstrument", "-r", renderer]
        argv += ["-o", str(out), *server_argv(server, root, port)]
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL)
        try:
            if not wait_ready(port, proc, timeout_s=30):
                raise RuntimeError(f"{server} did not start under pyinstrument")
            script = Path(tmp) / "s.lua"
            script.write_text(wrk.lua_script(sc))
            res = wrk.run(
                sc,
                url=f"http://127.0.0.1:{port}",
                script=script,
                duration_s=seconds,
                cpu=1,
                wrk=wrk_path,
            )
            print(f"{server} {scenario_name}: {res.rps:,.0f} requests/s under the profiler")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("scenario", nargs="?", default="simple-get")
    parser.add_argument("server", nargs="?", default="minicors", choices=["minicors", "floor"])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--renderer", default="text", help="pyinstrument renderer (text, html)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    suffix = "html" if args.renderer == "html" else "txt"
    out = args.out or HERE / "results" / f"profile-{args.server}-{args.scenario}.{suffix}"
    print(profile(args.scenario, args.server, args.seconds, out, args.renderer))


if __name__ == "__main__":
    main()
