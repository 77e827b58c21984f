"""The flags people reach for, as a user meets them in a real subprocess: short forms, "did
you mean", no silent prefixes, `--open` (with a stand-in browser, never a real one) and the
loopback-then-LAN URLs of `--host 0.0.0.0` / `::`."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from minicors.server import BoundAddress
from minicors.server.interfaces import lan_urls, machine_addresses

from .procs import URL_RE, minicors_cmd, read_line, run_to_exit, running


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<h1>app</h1>\n")
    (root / ".secret").write_text("s")
    return root


def _usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- short forms -----------------------------------------------------------------------------


def test_short_forms_of_port_spa_and_config(site: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'root = "{site}"\n[static]\ndotfiles = true\n')
    with running(["-c", str(cfg), "-p", "0", "-s"]) as srv:
        assert srv.port != 0  # -p 0: a free port
        assert srv.request("GET", "/.secret")[0] == 200  # -c: the file's dotfiles = true
        status, _, body = srv.request("GET", "/some/page", headers={"Accept": "text/html"})
        assert (status, body) == (200, b"<h1>app</h1>\n")  # -s: the SPA fallback


def test_check_takes_short_config(tmp_path: Path) -> None:
    cfg = tmp_path / "team.toml"
    cfg.write_text('[cors]\nallow_origins = ["https://app.test"]\n')
    allowed = run_to_exit(["check", "-c", str(cfg), "--origin", "https://app.test"])
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    refused = run_to_exit(["check", "-c", str(cfg), "--origin", "http://localhost:5173"])
    assert refused.returncode == 1, refused.stdout + refused.stderr  # the file replaced loopback


def test_help_shows_the_short_forms() -> None:
    serve = run_to_exit(["serve", "--help"]).stdout
    for pair in ("-p PORT, --port PORT", "-s, --spa", "-o, --open", "-c FILE.toml, --config"):
        assert pair in serve, pair
    assert "-c FILE.toml, --config" in run_to_exit(["check", "--help"]).stdout


# --- misspelt flags and prefixes -------------------------------------------------------------


SERVE_HELP = "(see 'minicors serve --help')"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["serve", "{site}", "--prot", "0"], ["--prot", "did you mean --port?", SERVE_HELP]),
        (["serve", "{site}", "--allow-orgin=https://a.test"], ["did you mean --allow-origin?"]),
        (["serve", "{site}", "--prot", "0", "--sap"], ["--port (for --prot)", "--spa (for --sap)"]),
        (["check", "--origin", "https://a.test", "--metod", "PUT"],
         ["did you mean --method?", "(see 'minicors check --help')"]),
        (["serve", "{site}", "--frobnicate"], ["unrecognized arguments: --frobnicate", SERVE_HELP]),
    ],
)  # fmt: skip
def test_a_misspelt_flag_gets_the_nearest_one(
    site: Path, args: list[str], needles: list[str]
) -> None:
    line = _usage_error(run_to_exit([a.replace("{site}", str(site)) for a in args]), *needles)
    if "frobnicate" in line:
        assert "did you mean" not in line  # nothing near: no made-up suggestion


def test_a_prefix_of_a_flag_is_not_taken_for_it(site: Path) -> None:
    """`--po 0` would serve on a free port with prefixes allowed, and turn into an
    "ambiguous option" error the day a second `--po...` flag appears."""
    _usage_error(run_to_exit(["serve", str(site), "--po", "0"]), "--po", "did you mean --port?")


# --- --open ----------------------------------------------------------------------------------


@contextmanager
def _serving(
    args: Sequence[str], env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`minicors serve ARGS` under `env`; yields the process and its URL."""
    proc = subprocess.Popen(
        minicors_cmd("serve", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = read_line(proc, 15)
        match = URL_RE.search(line)
        assert match is not None, line
        yield proc, f"{match.group(1)}:{match.group(2)}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def _browser_env(tmp_path: Path, display: bool) -> tuple[dict[str, str], Path]:
    """An environment whose $BROWSER (which webbrowser runs first) only writes down the URL it
    was given, so no test ever starts a real browser."""
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "fake-browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{opened}"\n')
    browser.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["BROWSER"] = str(browser)
    if display:
        env["DISPLAY"] = ":99"
    return env, opened


def _wait_for_lines(path: Path, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            break
        time.sleep(0.05)
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("how", ["flag", "toml-with-workers"])
def test_open_runs_the_browser_once_with_the_url(site: Path, tmp_path: Path, how: str) -> None:
    env, opened = _browser_env(tmp_path, display=True)
    args = [str(site), "--port", "0"]
    if how == "flag":
        args.append("-o")
    else:  # `open = true` in the file; with workers, only the supervisor opens it
        cfg = tmp_path / "c.toml"
        cfg.write_text("open = true\n")
        args += ["--config", str(cfg), "--workers", "2"]
    with _serving(args, env) as (proc, url):
        assert _wait_for_lines(opened) == [url]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert opened.read_text().splitlines() == [url]  # once, not once per worker


def test_open_is_skipped_without_a_display(site: Path, tmp_path: Path) -> None:
    env, opened = _browser_env(tmp_path, display=False)
    with _serving([str(site), "--port", "0", "--open"], env) as (proc, url):
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    skipped = [ln for ln in err.splitlines() if "--open" in ln]
    assert len(skipped) == 1, err
    assert "no display" in skipped[0] and url in skipped[0]
    assert not opened.exists()


# --- --host 0.0.0.0 / :: ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "extra", "loopback"),
    [
        ("0.0.0.0", [], "http://127.0.0.1:"),
        ("0.0.0.0", ["--workers", "2"], "http://127.0.0.1:"),
        ("::", [], "http://[::1]:"),
    ],
)
def test_every_interface_announces_loopback_then_the_lan(
    site: Path, host: str, extra: list[str], loopback: str
) -> None:
    with running([str(site), "--host", host, "--port", "0", *extra]) as srv:
        assert srv.first_line.startswith(f"minicors: serving {site} at {loopback}{srv.port}")
        assert srv.request("GET", "/")[0] == 200  # the announced URL works
        code, _, err = srv.stop()
    assert code == 0, err
    expected = lan_urls(BoundAddress(host=host, port=srv.port), machine_addresses())
    announced = [ln.split(": ", 2)[2] for ln in err.splitlines() if "on your network: " in ln]
    assert announced == expected
    assert all(f":{srv.port}" in url for url in announced)


# --- make run ARGS=... -----------------------------------------------------------------------


def test_make_run_passes_args_after_its_own_flags() -> None:
    """`make run ARGS='...'` reaches `minicors serve`, after the example's flags so it wins
    (`make -n` prints the commands without running them)."""
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        ["make", "-n", "-C", str(repo), "run", "ARGS=--allow-origin https://app.test -p 9"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    serve = [ln for ln in done.stdout.splitlines() if "minicors serve" in ln]
    assert len(serve) == 1, done.stdout
    assert serve[0].endswith("--reload --allow-origin https://app.test -p 9"), serve[0]
