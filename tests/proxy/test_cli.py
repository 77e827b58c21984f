"""--proxy from the command line: a bad target is one line and exit 2, start-up warns about what
deserves it, `minicors check` says where a proxied path goes, and httpcore stays unloaded when
nothing is proxied."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from minicors.cli import build_parser
from minicors.proxy import options_from

from ..procs import run_to_exit, running


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--proxy", "/api=ftp://x"], "http:// or https://"),
        (["--proxy", "api"], "write PREFIX=URL"),
        (["--proxy", "/a=http://x", "--proxy-insecure", "/b"], "no --proxy has that prefix"),
        (["--proxy-timeout", "0"], "invalid duration"),
    ],
)
def test_a_bad_proxy_is_one_line_and_exit_2(tmp_path: Path, flags: list[str], needle: str) -> None:
    done = run_to_exit(["serve", str(tmp_path), "-p", "0", *flags])
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and needle in done.stderr, done.stderr


def test_start_up_warns_about_shadowing_and_unverified_upstreams(tmp_path: Path) -> None:
    db = tmp_path / "db.json"
    db.write_text('{"items": []}\n')
    args = [
        str(tmp_path), "-p", "0", "--api", str(db),
        "--proxy", "/=https://127.0.0.1:9", "--proxy-insecure", "/",
    ]  # fmt: skip
    with running(args) as srv:
        _, _, err = srv.stop(signal.SIGTERM)
    assert "warning: --proxy / shadows the API at /api" in err
    assert "warning: --proxy-insecure /: the certificate of https://127.0.0.1:9" in err


def test_proxy_insecure_without_a_prefix_covers_every_upstream() -> None:
    """The contract's `--proxy-insecure`, given bare: every upstream goes unverified."""
    options = options_from(
        {"proxy": ["/a=https://a.test", "/b=https://b.test"], "proxy_insecure": ["*"]}
    )
    assert options is not None
    assert all(r.insecure for r in options.routes)
    parsed = build_parser().parse_args(
        ["serve", "--proxy", "/a=https://a.test", "--proxy-insecure"]
    )
    assert parsed.proxy_insecure == ["*"]


def test_check_says_a_path_is_proxied() -> None:
    flags = ["check", "--origin", "http://localhost:3000", "--proxy", "/api=http://up.test/v1"]
    proxied = run_to_exit([*flags, "--path", "/api/users"])
    assert proxied.returncode == 0
    assert "proxied: /api/users goes to http://up.test/v1/users" in proxied.stdout
    elsewhere = run_to_exit([*flags, "--path", "/users"])
    assert elsewhere.returncode == 0 and "proxied" not in elsewhere.stdout


def test_httpcore_is_loaded_only_when_something_is_proxied(tmp_path: Path) -> None:
    code = (
        "import sys, minicors\n"
        "from minicors.app import App\n"
        "from minicors.config import load\n"
        "App(load({'root': sys.argv[1]}, None))\n"
        "before = 'httpcore' in sys.modules\n"
        "App(load({'root': sys.argv[1], 'proxy': ('/api=http://x.test',)}, None))\n"
        "print(before, 'httpcore' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True"]
