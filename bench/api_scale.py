"""The JSON API at 100 / 10,000 / 100,000 items, beside json-server 0.17.4, in one run.

Run: `python -m bench.api_scale [--seconds 2] [--rounds 3] [--sizes 100,10000,100000]
[--no-json-server] [--quick]`.  Each size gets a fresh FILE of items of about 190 bytes (compact
JSON), written as minicors writes it.  Every server is started at once, pinned to CPU 0, wrk
(`-t1 -c16`, as in the issue) to CPU 1 when there are two CPUs; the reads run in interleaved
rounds and each figure is the median, so that load from elsewhere falls on every server alike.
json-server 0.17.4 is installed from the npm registry into bench/.cache/ on first use (never by
`make test`).  Reads: GET by random id, page 1, a filter with a sort and `_limit=10`, `q=`, an
anchored `_like` that fails at the first character.  Writes (minicors, after the reads): PATCH
of a random item by 1 and 16 clients, against the bare cost of writing the same file (write +
fsync + rename + fsync of the directory) timed here; the first PATCH after start against the
next ones; RSS after load, after the reads and after the writes.  Figures are ratios within
this run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .api_scale_report import NEEDLE, READS, Writes, report
from .servers import free_port, rss_kb, stop, wait_ready
from .wrk import DONE, find_wrk, parse

JSON_SERVER = "json-server@0.17.4"
CACHE = Path(__file__).resolve().parent / ".cache" / "json-server-0.17.4"
WORDS = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "omega",
    "sigma",
    "kappa",
    "zeta",
    "theta",
    "lambda",
    "iota",
    "rho",
    "tau",
    "chi",
    "psi",
    "eta",
    "mu",
    "nu",
    "xi",
    "pi",
    "epsilon",
    "upsilon",
    "omicron",
    "phi",
)


def make_item(n: int, rng: random.Random) -> dict[str, object]:
    words = [rng.choice(WORDS) for _ in range(3)]
    if n % 1000 == 7:
        words[1] = NEEDLE
    return {
        "id": n,
        "title": " ".join(words) + f" {n}",
        "done": rng.random() < 0.5,
        "priority": rng.randint(1, 5),
        "tags": rng.sample(["red", "green", "blue", "home", "work"], 2),
        "owner": f"user{rng.randint(1, 500)}",
        "created": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        "notes": "".join(rng.choice("abcdefghij klmnop") for _ in range(40)),
    }


def write_db(path: Path, size: int) -> int:
    rng = random.Random(size)
    document = {"items": [make_item(n, rng) for n in range(1, size + 1)]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    os.sync()  # else the first fsync of the run would also flush this file (ext4 journal order)
    return path.stat().st_size


def json_server_bin() -> Path:
    script = CACHE / "node_modules" / "json-server" / "lib" / "cli" / "bin.js"
    if not script.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", JSON_SERVER],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return script


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    return argv if cpu is None else ["taskset", "-c", str(cpu), *argv]


@dataclass(slots=True)
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    prefix: str

    def rss_mb(self) -> float:
        """Decimal MB, as the FILE's size is given: VmRSS counts KiB (1,024 bytes)."""
        return rss_kb(self.proc.pid) * 1024 / 1e6


def start(name: str, db: Path, cpu: int | None, work: Path) -> Server:
    port = free_port()
    if name == "minicors":
        root = work / "root"
        root.mkdir(exist_ok=True)
        argv = [
            *("python3", "-m", "minicors", "serve", str(root), "--port", str(port)),
            *("--api", str(db), "--no-access-log", "--log-level", "warning"),
        ]
        argv[0] = sys.executable
        prefix = "/api"
    else:
        argv = ["node", str(json_server_bin()), str(db), "--port", str(port), "--quiet"]
        prefix = ""
    log = (work / f"{name}.log").open("wb")
    proc = subprocess.Popen(pinned(argv, cpu), stdout=log, stderr=subprocess.STDOUT)
    if not wait_ready(port, proc, timeout_s=120):
        stop(proc)
        raise RuntimeError(f"{name} did not start: {(work / f'{name}.log').read_text()[-500:]}")
    return Server(proc, port, prefix)


def lua(method: str, prefix: str, path: str | None, size: int) -> str:
    if path is not None:
        return f'wrk.method = "{method}"\n' + DONE
    target = f'"{prefix}/items/" .. math.random(1, {size})'
    if method == "PATCH":
        call = f'wrk.format("PATCH", {target}, {{["Content-Type"] = "application/json"}}, body)'
        head = "local body = '{\"done\": true}'\n"
    else:
        call, head = f'wrk.format("GET", {target})', ""
    return head + f"request = function()\n  return {call}\nend\n" + DONE


def wrk(
    server: Server,
    work: Path,
    *,
    method: str,
    path: str | None,
    size: int,
    clients: int,
    seconds: float,
    cpu: int | None,
) -> float:
    script = work / "run.lua"
    script.write_text(lua(method, server.prefix, path, size))
    url = f"http://127.0.0.1:{server.port}" + (server.prefix + path if path else "/")
    argv = pinned(
        [
            find_wrk(),
            "-t1",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
            "-s",
            str(script),
            url,
        ],
        cpu,
    )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=False)
    result = parse(done.stdout)
    if result.non_2xx or result.socket_errors:
        print(
            f"#   {method} {path or 'by id'}: {result.non_2xx} non-2xx, "
            f"{result.socket_errors} socket errors"
        )
    return result.rps


def patch_once(server: Server, item_id: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    began = time.perf_counter()
    connection.request(
        "PATCH",
        f"{server.prefix}/items/{item_id}",
        b'{"done": true}',
        {"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - began
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"PATCH answered {response.status}")
    return elapsed


def bare_write_s(db: Path, repeat: int = 5) -> float:
    """The floor of a durable write of this file: write, fsync, rename, fsync the directory."""
    data = db.read_bytes()
    times = []
    directory = os.open(db.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(repeat):
            began = time.perf_counter()
            temporary = db.with_name(".bare.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.close(fd)
            os.replace(temporary, db.with_name("bare-copy.json"))
            os.fsync(directory)
            times.append(time.perf_counter() - began)
    finally:
        os.close(directory)
    return statistics.median(times)


@dataclass(slots=True)
class Subject:
    name: str
    size: int
    db: Path
    work: Path
    file_bytes: int
    server: Server
    rss_load_mb: float = 0.0
    first_ms: float = 0.0
    next_ms: float = 0.0


def first_writes(subject: Subject) -> None:
    """The first PATCH after start against the median of the five after it."""
    half = subject.size // 2
    subject.first_ms = patch_once(subject.server, half) * 1000
    following = [patch_once(subject.server, half + k) for k in range(1, 6)]
    subject.next_ms = statistics.median(following) * 1000


def measure_reads(
    subjects: list[Subject], args: argparse.Namespace, wrk_cpu: int | None
) -> dict[tuple[str, int, str], float]:
    """Every read on every server, in `args.rounds` interleaved rounds: the median of each,
    so that load from elsewhere on the machine falls on all of them alike."""
    figures: dict[tuple[str, int, str], list[float]] = {}
    for round_number in range(args.rounds):
        for label, path in READS.items():
            for subject in subjects:
                rps = wrk(
                    subject.server,
                    subject.work,
                    method="GET",
                    path=path,
                    size=subject.size,
                    clients=16,
                    seconds=args.seconds,
                    cpu=wrk_cpu,
                )
                figures.setdefault((subject.name, subject.size, label), []).append(rps)
                print(
                    f"# round {round_number + 1} {subject.name:11} {subject.size:>7} "
                    f"{label:22} {rps:10,.1f} req/s",
                    flush=True,
                )
    return {key: statistics.median(values) for key, values in figures.items()}


def measure_writes(subject: Subject, args: argparse.Namespace, wrk_cpu: int | None) -> Writes:
    rss_reads_mb = subject.server.rss_mb()  # the reads' caches, before any write adds its own
    one, many = (
        wrk(
            subject.server,
            subject.work,
            method="PATCH",
            path=None,
            size=subject.size,
            clients=clients,
            seconds=args.seconds,
            cpu=wrk_cpu,
        )
        for clients in (1, 16)
    )
    writes = Writes(
        file_mb=subject.file_bytes / 1e6,
        patch_1=one,
        patch_16=many,
        bare_ms=bare_write_s(subject.db) * 1000,
        first_ms=subject.first_ms,
        next_ms=subject.next_ms,
        rss_load_mb=subject.rss_load_mb,
        rss_reads_mb=rss_reads_mb,
        rss_writes_mb=subject.server.rss_mb(),
    )
    print(f"# writes {subject.size:>7} {writes}", flush=True)
    return writes


def run(args: argparse.Namespace, sizes: list[int], names: list[str], base: Path) -> None:
    server_cpu, wrk_cpu = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)
    subjects: list[Subject] = []
    try:
        for size in sizes:
            for name in names:
                work = base / f"{name}-{size}"
                work.mkdir()
                db = work / "db.json"
                file_bytes = write_db(db, size)
                server = start(name, db, server_cpu, work)
                subject = Subject(name, size, db, work, file_bytes, server)
                subjects.append(subject)
                subject.rss_load_mb = server.rss_mb()
                if name == "minicors":
                    first_writes(subject)
        reads = measure_reads(subjects, args, wrk_cpu)
        writes = {
            s.size: measure_writes(s, args, wrk_cpu) for s in subjects if s.name == "minicors"
        }
    finally:
        for subject in subjects:
            stop(subject.server.proc)
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, wrk -t1 -c16, "
        f"{args.seconds:g} s per figure, median of {args.rounds} interleaved rounds"
    )
    print(report(sizes, reads, writes, "json-server" in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per wrk run (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--sizes", default="100,10000,100000", help="items per FILE")
    parser.add_argument("--dir", default=None, help="where FILE lives (default: the temp dir)")
    parser.add_argument("--no-json-server", action="store_true", help="minicors alone")
    parser.add_argument("--quick", action="store_true", help="100 and 10,000 items, 1 s, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seconds, args.rounds = "100,10000", 1.0, 1
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if not args.no_json_server:
        try:
            json_server_bin()
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"# json-server left out: could not install {JSON_SERVER} with npm ({exc})")
            args.no_json_server = True
    names = ["minicors"] if args.no_json_server else ["minicors", "json-server"]
    with tempfile.TemporaryDirectory(prefix="api-scale-", dir=args.dir) as tmp:
        run(args, sizes, names, Path(tmp))


if __name__ == "__main__":
    main()
