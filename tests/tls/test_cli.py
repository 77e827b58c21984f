"""`minicors tls path|trust|untrust` and `serve --tls` refusals, as a user meets them: a real
subprocess with a temporary `$HOME` and `$MINICORS_HOME`, and NSS databases read back with
`certutil` (which `make test` installs: without it these tests fail, they do not skip)."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from minicors.tls import Certutil, LocalCA, SystemStore, trust, untrust

from ..procs import minicors_cmd, read_line, run_to_exit


def certutil() -> str:
    program = shutil.which("certutil")
    if program is None:
        pytest.fail("certutil is missing: install Debian's libnss3-tools (make test does)")
    return program


def certutil_listing(db: Path) -> str:
    done = subprocess.run(
        [certutil(), "-L", "-d", f"sql:{db}"], capture_output=True, text=True, check=True
    )
    return done.stdout


def firefox_profile(home: Path) -> Path:
    profile = home / ".mozilla" / "firefox" / "abcd1234.default-release"
    profile.mkdir(parents=True)
    subprocess.run([certutil(), "-N", "--empty-password", "-d", f"sql:{profile}"], check=True)
    return profile


def trusted_line(listing: str, nickname: str) -> str | None:
    for line in listing.splitlines():
        if line.startswith(nickname + " "):
            return line
    return None


def test_path_prints_the_ca_certificate_making_it_once(ca_dir: Path) -> None:
    first = run_to_exit(["tls", "path"])
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{ca_dir / 'ca.pem'}\n"
    assert Path(first.stdout.strip()).is_file()
    assert "made a new local CA" in first.stderr and "trusted nowhere" in first.stderr
    again = run_to_exit(["tls", "path"])
    assert (again.returncode, again.stdout, again.stderr) == (0, first.stdout, "")


def test_trust_then_untrust_change_the_nss_databases(ca_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    profile = firefox_profile(home)
    nssdb = home / ".pki" / "nssdb"
    done = run_to_exit(["tls", "trust", "--no-system-store"])
    assert done.returncode == 0, done.stderr
    nickname = LocalCA.open().nickname
    for db in (nssdb, profile):
        line = trusted_line(certutil_listing(db), nickname)
        assert line is not None and line.split()[-1] == "C,,"  # a CA for server certificates
    assert f"created the NSS database {nssdb}" in done.stdout
    assert f"added it to the NSS database {nssdb}" in done.stdout
    assert f"added it to the NSS database {profile} (Firefox profile" in done.stdout
    assert "the system store is unchanged" in done.stdout

    again = run_to_exit(["tls", "trust", "--no-system-store"])
    assert again.returncode == 0 and "added" not in again.stdout
    assert again.stdout.count(": unchanged") == 2

    gone = run_to_exit(["tls", "untrust", "--no-system-store"])
    assert gone.returncode == 0, gone.stderr
    for db in (nssdb, profile):
        assert trusted_line(certutil_listing(db), nickname) is None
        assert f'removed "{nickname}" from the NSS database {db}' in gone.stdout
    assert (ca_dir / "ca.pem").exists()  # untrust keeps the CA's files


def test_trust_replaces_another_certificate_under_the_cas_name(tmp_path: Path) -> None:
    ca = LocalCA.open()
    impostor = LocalCA.open(str(tmp_path / "impostor"))
    nssdb = tmp_path / "home" / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    base = [certutil(), "-d", f"sql:{nssdb}"]
    subprocess.run([*base, "-N", "--empty-password"], check=True)
    subprocess.run(
        [*base, "-A", "-n", ca.nickname, "-t", "C,,", "-i", impostor.cert_path], check=True
    )
    done = run_to_exit(["tls", "trust", "--no-system-store"])
    assert done.returncode == 0 and f"added it to the NSS database {nssdb}" in done.stdout
    held = subprocess.run(
        [*base, "-L", "-n", ca.nickname, "-a"], capture_output=True, text=True, check=True
    ).stdout
    assert held.count("BEGIN CERTIFICATE") == 1
    assert held.split() == Path(ca.cert_path).read_text().split()


def test_a_missing_certutil_is_one_line_naming_the_package(
    ca_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for action in ("trust", "untrust"):
        done = run_to_exit(["tls", action])
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "libnss3-tools" in done.stderr
    assert not ca_dir.exists() and not (tmp_path / "home" / ".pki").exists()


def test_untrust_without_a_ca_changes_nothing(ca_dir: Path) -> None:
    done = run_to_exit(["tls", "untrust", "--no-system-store"])
    assert done.returncode == 0 and "nothing to remove" in done.stdout
    assert not ca_dir.exists()


def test_the_system_store(tmp_path: Path) -> None:
    """What `trust` and `untrust` do to the system store as root, on a store in a temporary
    directory whose refresh commands leave a mark."""
    certutil()  # the NSS part runs too
    marks = tmp_path / "refreshed"

    def mark(word: str) -> tuple[str, ...]:
        return (sys.executable, "-c", f"open({str(marks)!r}, 'a').write({word!r} + ' ')")

    store = SystemStore(str(tmp_path / "anchors"), mark("added"), mark("removed"))
    (tmp_path / "anchors").mkdir()
    ca = LocalCA.open()
    lines: list[str] = []
    trust(ca, Certutil(), store, change=False, out=lines.append)
    assert not (tmp_path / "anchors" / f"minicors-{ca.ident}.crt").exists()
    assert any("system store is unchanged" in line and "sudo cp" in line for line in lines)

    lines.clear()
    trust(ca, Certutil(), store, change=True, out=lines.append)
    copied = tmp_path / "anchors" / f"minicors-{ca.ident}.crt"
    assert copied.read_bytes() == Path(ca.cert_path).read_bytes()
    assert marks.read_text() == "added "
    assert any(f"copied it to {copied}" in line for line in lines)
    trust(ca, Certutil(), store, change=True, out=lines.append)
    assert marks.read_text() == "added "  # already there: nothing run again

    lines.clear()
    untrust(Certutil(), store, change=True, out=lines.append)
    assert not copied.exists() and marks.read_text() == "added removed "
    assert any(f"removed {copied}" in line for line in lines)


def test_serve_tls_announces_https_and_serves_it(ca_dir: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>over tls</p>")
    proc = subprocess.Popen(
        minicors_cmd("serve", str(site), "--port", "0", "--tls"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        line = read_line(proc, timeout=15)
        match = re.fullmatch(r"minicors: serving \S+ at https://127\.0\.0\.1:(\d+)\n", line)
        assert match is not None, line
        trusting = ssl.create_default_context(cafile=str(ca_dir / "ca.pem"))
        conn = http.client.HTTPSConnection(
            "localhost", int(match.group(1)), context=trusting, timeout=10
        )
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"<p>over tls</p>")
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    leaves = [name for name in os.listdir(ca_dir) if name.startswith("leaf-")]
    assert len(leaves) == 1  # made once, before serving, and used as it was


def test_serve_refuses_a_pair_that_cannot_work(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    key = tmp_path / "key.pem"
    key.write_text("not a key\n")
    done = run_to_exit(
        [
            "serve",
            str(site),
            "--port",
            "0",
            "--tls-cert",
            str(tmp_path / "no.pem"),
            "--tls-key",
            str(key),
        ]
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and str(tmp_path / "no.pem") in done.stderr
    assert "does not exist" in done.stderr and done.stdout == ""


def test_serve_refuses_a_root_that_would_serve_the_ca_key(ca_dir: Path, tmp_path: Path) -> None:
    done = run_to_exit(["serve", str(tmp_path), "--port", "0", "--tls"])
    assert done.returncode == 2 and "whose key would be served" in done.stderr
    assert done.stderr.count("\n") == 1
    assert not ca_dir.exists()  # refused before anything was made


def test_tls_needs_an_action() -> None:
    for args in (["tls"], ["tls", "forget"]):
        done = run_to_exit(args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1
        assert "path" in done.stderr and "untrust" in done.stderr
