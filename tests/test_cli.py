"""The command line as a user meets it: a real subprocess, its stdout, stderr and exit status."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import signal
import socket
import time
from pathlib import Path

import pytest

from minicors import __version__
from minicors.config import LIMIT_KEYS, load
from minicors.errors import ConfigError
from minicors.options import Limits

from .procs import run_to_exit, running


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>\n")
    (root / "data.json").write_text('{"a": 1}\n')
    return root


def test_first_line_access_log_and_port_zero(site: Path) -> None:
    with running([str(site), "--port", "0"]) as srv:
        assert srv.first_line.startswith(f"minicors: serving {site} at http://127.0.0.1:")
        assert srv.port != 0
        status, _, body = srv.request("GET", "/data.json")
        assert status == 200 and body == b'{"a": 1}\n'
        code, _, err = srv.stop()
    assert code == 0
    lines = [ln for ln in err.splitlines() if '"GET /data.json HTTP/1.1"' in ln]
    assert len(lines) == 1
    assert " 200 " in lines[0] and lines[0].startswith("127.0.0.1:")


def test_no_access_log(site: Path) -> None:
    with running([str(site), "--port", "0", "--no-access-log"]) as srv:
        assert srv.request("GET", "/data.json")[0] == 200
        code, _, err = srv.stop()
    assert code == 0
    assert "GET /data.json" not in err


def test_ipv6_host_is_bracketed(site: Path) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.fail("this machine has no IPv6 loopback; the test needs ::1")
    with running([str(site), "--host", "::1", "--port", "0"]) as srv:
        assert f"http://[::1]:{srv.port}" in srv.first_line
        assert srv.request("GET", "/data.json")[0] == 200


def test_version() -> None:
    result = run_to_exit(["--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"minicors {__version__}"


def test_serve_help_lists_flags() -> None:
    result = run_to_exit(["serve", "--help"])
    assert result.returncode == 0
    for flag in ("--port", "--host", "--config", "--allow-origin", "--grace-period", "--api"):
        assert flag in result.stdout


def test_every_limit_has_a_flag_and_a_config_key(tmp_path: Path) -> None:
    """Each Limits field is settable both ways, and what is set reaches the Config."""
    fields = {f.name for f in dataclasses.fields(Limits)}
    assert set(LIMIT_KEYS) == fields
    help_text = run_to_exit(["serve", "--help"]).stdout
    for flag in ("--max-body-chunks", "--body-timeout", "--body-min-rate", "--send-timeout"):
        assert flag in help_text
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[limits]\nmax_body_chunks = 50\nbody_timeout_s = 2\nbody_min_rate = 64\n"
        "send_timeout_s = 3.5\n"
    )
    limits = load({"limits.body_timeout_s": 4.0}, str(cfg)).limits
    assert (limits.max_body_chunks, limits.body_min_rate, limits.send_timeout_s) == (50, 64, 3.5)
    assert limits.body_timeout_s == 4.0  # the flag wins over the file
    cfg.write_text("[limits]\nsend_timeout_s = 0\n")
    with pytest.raises(ConfigError, match="send_timeout_s"):
        load({}, str(cfg))


def _assert_usage_error(result: object, *needles: str) -> None:
    import subprocess

    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_root(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    _assert_usage_error(run_to_exit(["serve", str(missing)]), str(missing), "does not exist")


def test_root_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    _assert_usage_error(run_to_exit(["serve", str(f)]), "not a directory")


def test_port_in_use(site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_to_exit(["serve", str(site), "--port", str(port)])
    _assert_usage_error(result, "already in use", "--port 0")


@pytest.mark.parametrize("port", ["abc", "70000", "-1"])
def test_bad_port(site: Path, port: str) -> None:
    _assert_usage_error(run_to_exit(["serve", str(site), "--port", port]), "invalid port")


def test_unknown_flag(site: Path) -> None:
    _assert_usage_error(run_to_exit(["serve", str(site), "--frobnicate"]), "--frobnicate", "--help")


def test_invalid_toml_names_line_and_column(site: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('port = 8000\nhost = "unterminated\n')
    _assert_usage_error(
        run_to_exit(["serve", str(site), "--config", str(cfg)]), str(cfg), "line 2", "column"
    )


def test_unreadable_toml(site: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    _assert_usage_error(
        run_to_exit(["serve", str(site), "--config", str(missing)]), "does not exist"
    )


def test_unknown_toml_key(site: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[limits]\nmax_head_byte = 100\n")
    _assert_usage_error(
        run_to_exit(["serve", str(site), "--config", str(cfg)]), "max_head_byte", "valid keys"
    )


def test_wrongly_typed_toml_value(site: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('port = "eighty"\n')
    _assert_usage_error(
        run_to_exit(["serve", str(site), "--config", str(cfg)]), "port must be an integer"
    )


def test_config_file_applies_and_flags_win(site: Path, tmp_path: Path) -> None:
    (site / ".secret").write_text("s")
    cfg = tmp_path / "c.toml"
    # port 1 would need privileges: the --port flag must win over it.
    cfg.write_text(
        f'root = "{site.name}"\nport = 1\naccess_log = false\n[static]\ndotfiles = true\n'
    )
    with running(["--config", str(cfg), "--port", "0"]) as srv:
        assert srv.request("GET", "/.secret")[0] == 200  # from the file
        code, _, err = srv.stop()
    assert code == 0
    assert "GET /.secret" not in err  # access_log = false from the file


def test_sigterm_lets_a_slow_download_finish(site: Path) -> None:
    rng = random.Random(7)
    payload = rng.randbytes(8 * 1024 * 1024)
    (site / "big.bin").write_bytes(payload)
    with running([str(site), "--port", "0", "--grace-period", "20"]) as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        received = bytearray(sock.recv(65536))
        srv.proc.send_signal(signal.SIGTERM)  # mid-download
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received.extend(chunk)
            time.sleep(0.001)  # a slow reader: the server must wait, not give up
        sock.close()
        code, _, err = srv.wait()
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(payload).hexdigest()
    assert code == 0, err


def test_sigint_exits_zero(site: Path) -> None:
    with running([str(site), "--port", "0"]) as srv:
        code, _, err = srv.stop(signal.SIGINT)
    assert code == 0, err
    assert "Traceback" not in err


def test_workers_serve_restart_and_stop(site: Path) -> None:
    with running([str(site), "--port", "0", "--workers", "2"]) as srv:
        assert "(2 workers)" in srv.first_line
        assert srv.request("GET", "/data.json")[0] == 200
        children = _children(srv.proc.pid)
        assert len(children) == 2, children
        os.kill(children[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        replaced: list[int] = []
        while time.monotonic() < deadline:
            replaced = _children(srv.proc.pid)
            if len(replaced) == 2 and children[0] not in replaced:
                break
            time.sleep(0.1)
        assert len(replaced) == 2 and children[0] not in replaced, replaced
        for _ in range(20):  # every request is still answered, by whichever worker
            assert srv.request("GET", "/data.json")[0] == 200
        code, _, err = srv.stop()
    assert code == 0, err
    for pid in replaced:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return sorted(out)


def _is_zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except OSError:
        return True


def test_star_with_credentials_refused_at_start(site: Path) -> None:
    result = run_to_exit(["serve", str(site), "--allow-origin", "*", "--allow-credentials"])
    _assert_usage_error(result, "credentials", "--allow-origin")


def test_start_up_warnings_are_printed(site: Path) -> None:
    with running([str(site), "--port", "0", "--allow-origin", "null", "--max-age", "9000"]) as srv:
        code, _, err = srv.stop()
    assert code == 0
    assert "warning" in err and "null" in err and "7200" in err


@pytest.mark.parametrize(
    ("args", "status", "needle"),
    [
        (["--origin", "http://localhost:5173"], 0, "ALLOWED"),
        (["--origin", "https://evil.test"], 1, "add --allow-origin +https://evil.test"),
        (
            ["--origin", "https://app.test", "--allow-origin", "https://app.test",
             "--method", "PUT", "--allow-method", "GET"],
            1,
            "add --allow-method PUT",
        ),
        (["--origin", "not an origin"], 2, "not an origin"),
    ],
)  # fmt: skip
def test_check_exit_status(args: list[str], status: int, needle: str) -> None:
    result = run_to_exit(["check", *args])
    assert result.returncode == status, result.stdout + result.stderr
    assert needle in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_check_reads_the_same_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "team.toml"
    cfg.write_text(
        '[cors]\nallow_origins = ["https://app.test"]\n'
        '[[cors.route]]\npath = "/public/**"\nallow_origins = ["*"]\n'
    )
    public = run_to_exit(
        ["check", "--config", str(cfg), "--origin", "https://x.test", "--path", "/public/a"]
    )
    assert public.returncode == 0, public.stdout
    private = run_to_exit(
        ["check", "--config", str(cfg), "--origin", "https://x.test", "--path", "/api/a"]
    )
    assert private.returncode == 1, private.stdout
