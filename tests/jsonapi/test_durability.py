"""SIGKILL storm: the real server, writes from several threads, killed at a random moment.

After every kill FILE must parse and hold every acknowledged write (CONTRACT "JSON API"); the
only writes it may hold beyond those are the ones in flight when the process died.  Each round
restarts on the file the previous kill left behind.  `MINICORS_SOAK=1` runs a longer storm.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..procs import run_to_exit, running

SOAK = os.environ.get("MINICORS_SOAK") == "1"
ROUNDS = 200 if SOAK else 20
POSTERS = 3  # threads appending to /api/items
HEADERS = {"Content-Type": "application/json"}


@dataclass
class Ledger:
    """What the clients were told (acknowledged) and what they tried (attempted)."""

    acked: dict[tuple[int, int], int] = field(default_factory=dict)  # (thread, n) -> id
    attempted: set[tuple[int, int]] = field(default_factory=set)
    counter_acked: int = -1  # the highest n acknowledged by PUT /api/counter
    counter_attempted: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)


def poster(port: int, thread: int, start: int, ledger: Ledger, stop: threading.Event) -> None:
    n = start
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            with ledger.lock:
                ledger.attempted.add((thread, n))
            body = json.dumps({"thread": thread, "n": n}).encode()
            conn.request("POST", "/api/items", body=body, headers=HEADERS)
            response = conn.getresponse()
            data = response.read()
            if response.status != 201:
                raise AssertionError(f"POST answered {response.status}: {data!r}")
            with ledger.lock:
                ledger.acked[(thread, n)] = json.loads(data)["id"]
        except (OSError, http.client.HTTPException):
            return  # the server is gone
        finally:
            conn.close()
        n += 1


def counter(port: int, start: int, ledger: Ledger, stop: threading.Event) -> None:
    n = start
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            ledger.counter_attempted = n
            conn.request("PUT", "/api/counter", body=json.dumps({"n": n}).encode(), headers=HEADERS)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise AssertionError(f"PUT answered {response.status}")
            ledger.counter_acked = n
        except (OSError, http.client.HTTPException):
            return
        finally:
            conn.close()
        n += 1


def check(db_file: Path, ledger: Ledger, earlier: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Assert FILE against the ledger; return the unacknowledged writes found in it."""
    document = json.loads(db_file.read_text())  # FILE is valid JSON after the kill
    items = document["items"]
    on_disk = {(item["thread"], item["n"]): item["id"] for item in items if "thread" in item}
    assert len(on_disk) == len(items) - 1  # plus the seed item; no duplicates, no garbage
    assert len({item["id"] for item in items}) == len(items)
    for key, item_id in ledger.acked.items():
        assert on_disk.get(key) == item_id, f"acknowledged write {key} (id {item_id}) lost"
    unacknowledged = set(on_disk) - set(ledger.acked)
    assert unacknowledged <= ledger.attempted  # only writes that were in flight ...
    assert len(unacknowledged - earlier) <= POSTERS  # ... at most one per thread per kill
    n = document["counter"]["n"]
    assert ledger.counter_acked <= n <= max(ledger.counter_attempted, ledger.counter_acked)
    return unacknowledged


@pytest.mark.slow
def test_sigkill_never_loses_an_acknowledged_write(tmp_path: Path) -> None:
    db_file = tmp_path / "db.json"
    db_file.write_text('{"items": [{"id": 1, "seed": true}], "counter": {"n": -1}}\n')
    rnd = random.Random(9)
    ledger = Ledger()
    deadline = time.monotonic() + (1200 if SOAK else 60)
    rounds = 0
    in_flight: set[tuple[int, int]] = set()
    for round_number in range(ROUNDS):
        args = [str(tmp_path), "--api", str(db_file), "--port", "0", "--no-access-log"]
        with running(args) as server:
            stop = threading.Event()
            base = round_number * 1_000_000
            threads = [
                threading.Thread(target=poster, args=(server.port, t, base, ledger, stop))
                for t in range(POSTERS)
            ]
            threads.append(threading.Thread(target=counter, args=(server.port, base, ledger, stop)))
            for thread in threads:
                thread.start()
            time.sleep(rnd.uniform(0.05, 0.4))
            server.proc.send_signal(signal.SIGKILL)
            server.proc.communicate(timeout=10)  # reaps it and closes the pipes
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
                assert not thread.is_alive()
        in_flight = check(db_file, ledger, in_flight)
        rounds += 1
        assert time.monotonic() < deadline, f"storm too slow: {rounds} rounds"
    assert rounds == ROUNDS
    assert len(ledger.acked) > ROUNDS  # the storm really wrote
    # A restart removes the temporary files a kill may have left behind.
    with running([str(tmp_path), "--api", str(db_file), "--port", "0", "--no-access-log"]):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.json"]


@pytest.mark.slow
def test_two_worker_processes_share_one_file_safely(tmp_path: Path) -> None:
    """`--workers 2`: each write reads what the other process wrote (under a directory flock),
    and every read sees FILE as it is, so ids stay distinct and a client reads its own write."""
    db_file = tmp_path / "db.json"
    db_file.write_text('{"items": []}\n')
    acked: list[int] = []
    failures: list[str] = []
    args = [str(tmp_path), "--api", str(db_file), "--port", "0", "--no-access-log"]
    with running([*args, "--workers", "2"]) as server:

        def writer(thread: int) -> None:
            for n in range(20):
                status, _, body = server.request(
                    "POST", "/api/items", headers=HEADERS, body=json.dumps({"n": n}).encode()
                )
                if status != 201:
                    failures.append(f"POST {status}")
                    return
                item_id = json.loads(body)["id"]
                acked.append(item_id)
                if server.request("GET", f"/api/items/{item_id}")[0] != 200:
                    failures.append(f"GET /api/items/{item_id} after its POST was not 200")

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    assert sorted(acked) == list(range(1, 121))
    items = json.loads(db_file.read_text())["items"]
    assert sorted(item["id"] for item in items) == list(range(1, 121))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{\n  "items": [1,\n}\n',
            "bad.json is not valid JSON: Expecting value at line 3, column 1",
        ),
        (None, "bad.json cannot be read (No such file or directory)"),
        ("[]", "bad.json holds an array at the top level, not an object"),
    ],
)
def test_a_bad_file_at_start_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    db_file = tmp_path / "bad.json"
    if content is not None:
        db_file.write_text(content)
    done = run_to_exit(["serve", str(tmp_path), "--api", str(db_file), "--port", "0"])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert expected in lines[0]
