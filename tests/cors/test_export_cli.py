"""`minicors export nginx|caddy` on the command line: what it prints, and every setting it
refuses to export (exit status 2, one line naming the setting), rather than approximating it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from minicors.cli import main
from minicors.version import __version__

from . import proxies

UP = ("--upstream", "http://127.0.0.1:9000")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_nginx_output_names_version_source_and_passes_nginx_t(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "nginx", *UP, "--allow-origin", "https://app.test",
                         "--allow-credentials", "--listen", "127.0.0.1:8080")  # fmt: skip
    assert (code, err) == (0, "")
    assert f"minicors {__version__}" in out.splitlines()[0]
    assert "the flags --allow-credentials --allow-origin https://app.test" in out
    assert "proxy_pass http://127.0.0.1:9000;" in out
    assert "listen 127.0.0.1:8080;" in out
    conf = tmp_path / "nginx.conf"
    conf.write_text(proxies.nginx_temp_paths(out, tmp_path))
    checked = subprocess.run(
        [
            proxies.NGINX,
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(conf),
            "-e",
            str(tmp_path / "e"),
            "-g",
            f"pid {tmp_path / 'pid'};",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_caddy_output_from_a_config_file_is_a_valid_caddyfile(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    toml = tmp_path / "cors.toml"
    toml.write_text('root = "."\n[cors]\nallow_origins = ["https://*.example.com"]\n')
    code, out, err = run(capsys, "caddy", *UP, "-c", str(toml), "--max-age", "60")
    assert (code, err) == (0, "")
    assert f"the [cors] table of {toml}, then the flags --max-age 60" in out
    assert "reverse_proxy http://127.0.0.1:9000 {" in out
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(out)
    checked = subprocess.run(
        [proxies.CADDY, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode == 0, checked.stderr[-2000:]


def test_defaults_are_named_as_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "nginx", *UP)
    assert code == 0
    assert "minicors's defaults (no CORS flag, no --config)" in out


LONG_REGEX = "https://(" + "|".join(f"{i}z" for i in range(2000)) + r")\.test"

REFUSALS = [
    # (target, arguments, words the one line must contain)
    ("nginx", ("--allow-method", "PU$H"), ("allowed method", "'$'")),
    ("nginx", ("--expose-header", "X-$id"), ("exposed header", "'$'")),
    ("nginx", ("--allow-origin-regex", LONG_REGEX), ("regex_ok", "4000-byte")),
    ("nginx", ("--allow-origin-regex", "https://ä\\.test"), ("non-ASCII",)),
    ("caddy", ("--allow-origin-regex", "https://ä\\.test"), ("non-ASCII",)),
    ("caddy", ("--allow-origin-regex", r"https://(?<=h)a\.test"), ("lookahead or lookbehind",)),
    ("caddy", ("--allow-origin-regex", r"https://(?!x)a\.test"), ("lookahead or lookbehind",)),
    ("caddy", ("--allow-origin-regex", r"https://(a)\1\.test"), ("a backreference",)),
    ("caddy", ("--allow-origin-regex", r"https://(a)?(?(1)b|c)\.test"), ("conditional",)),
    ("caddy", ("--allow-origin-regex", r"https://a++\.test"), ("possessive",)),
    ("caddy", ("--allow-origin-regex", r"https://(?>a)\.test"), ("atomic",)),
    ("caddy", ("--allow-origin-regex", r"https://a{1001}\.test"), ("above 1000",)),
    ("nginx", ("--upstream", "http://127.0.0.1:9000/api"), ("--upstream", "no path")),
    ("caddy", ("--listen", "127.0.0.1:99999"), ("--listen",)),
]


@pytest.mark.parametrize(("target", "args", "words"), REFUSALS, ids=[" ".join(r[1])[:40]
                         for r in REFUSALS])  # fmt: skip
def test_refused_with_one_line(
    capsys: pytest.CaptureFixture[str], target: str, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    given = args if args[0] == "--upstream" else (*UP, *args)
    code, out, err = run(capsys, target, *given)
    assert (code, out) == (2, "")
    assert err.startswith("minicors export: error: ")
    assert err.count("\n") == 1, err
    for word in words:
        assert word in err


def test_per_route_policies_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    toml = tmp_path / "cors.toml"
    toml.write_text(
        '[cors]\nallow_origins = ["https://app.test"]\n'
        '[[cors.route]]\npath = "/api/**"\nallow_credentials = true\n'
    )
    for target in ("nginx", "caddy"):
        code, out, err = run(capsys, target, *UP, "--config", str(toml))
        assert (code, out) == (2, "")
        assert err.count("\n") == 1
        assert "per-route CORS policies ([[cors.route]] /api/**" in err


def test_the_same_regex_is_exported_to_nginx_where_caddy_refuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The refusals above are the target's, not a blanket one: PCRE has lookaround."""
    code, out, _ = run(capsys, "nginx", *UP, "--allow-origin-regex", r"https://(?!x)a\.test")
    assert code == 0
    assert "(?!x)" in out
