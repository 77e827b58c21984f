"""Local Network Access (Chrome >= 142) in `minicors check`: address spaces, the lattice, the
permission asked for, the silent refusal of an insecure page, and the CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from minicors.cli import main
from minicors.cors import CheckQuery, CorsPolicy, CorsRouter, explain
from minicors.cors.lna import Space, assess, is_secure_origin, space_of_host


@pytest.mark.parametrize(
    ("host", "space"),
    [
        ("127.0.0.1", Space.LOOPBACK),
        ("127.8.9.10", Space.LOOPBACK),
        ("[::1]", Space.LOOPBACK),
        ("localhost", Space.LOOPBACK),
        ("app.localhost", Space.LOOPBACK),
        ("10.1.2.3", Space.LOCAL),
        ("172.16.0.1", Space.LOCAL),
        ("172.31.255.255", Space.LOCAL),
        ("192.168.1.1", Space.LOCAL),
        ("169.254.1.1", Space.LOCAL),
        ("[fe80::1]", Space.LOCAL),
        ("[fc00::1]", Space.LOCAL),
        ("[::ffff:192.168.1.1]", Space.LOCAL),
        ("0.0.0.0", Space.LOCAL),
        ("printer.local", Space.LOCAL),
        ("172.32.0.1", Space.PUBLIC),
        ("8.8.8.8", Space.PUBLIC),
        ("[2001:db8::1]", Space.PUBLIC),
        ("[::ffff:8.8.8.8]", Space.PUBLIC),
        ("app.example.com", None),
    ],
)
def test_address_space_of_a_host(host: str, space: Space | None) -> None:
    assert space_of_host(host)[0] is space


@pytest.mark.parametrize(
    ("origin", "secure"),
    [
        ("https://app.test", True),
        ("wss://app.test", True),
        ("http://localhost:3000", True),
        ("http://127.0.0.1:8000", True),
        ("http://[::1]:8000", True),
        ("http://app.test", False),
        ("http://192.168.1.5", False),
        ("null", False),
    ],
)
def test_secure_context(origin: str, secure: bool) -> None:
    assert is_secure_origin(origin) is secure


LATTICE = [
    # (page, target, the permission a secure page is asked for, or None: not a local request)
    (Space.PUBLIC, Space.LOCAL, "local-network"),
    (Space.PUBLIC, Space.LOOPBACK, "loopback-network"),
    (Space.LOCAL, Space.LOOPBACK, "loopback-network"),
    (Space.PUBLIC, Space.PUBLIC, None),
    (Space.LOCAL, Space.LOCAL, None),
    (Space.LOCAL, Space.PUBLIC, None),
    (Space.LOOPBACK, Space.LOOPBACK, None),
    (Space.LOOPBACK, Space.LOCAL, None),
    (Space.LOOPBACK, Space.PUBLIC, None),
]


@pytest.mark.parametrize(("page", "target", "permission"), LATTICE)
def test_only_a_more_private_target_is_a_local_network_request(
    page: Space, target: Space, permission: str | None
) -> None:
    secure = assess("https://app.test", page=page, target=target, target_why="t")
    assert secure.prompt == permission
    assert not secure.blocked
    insecure = assess("http://app.test", page=page, target=target, target_why="t")
    assert insecure.prompt is None
    assert insecure.blocked is (permission is not None)
    if permission is not None:
        assert any(f'allow="{permission}"' in line for line in secure.lines)


def _check(origin: str) -> tuple[bool, str]:
    router = CorsRouter(CorsPolicy(allow_origins=[origin]))
    result = explain(router, CheckQuery(origin=origin))
    return result.allowed, result.report


def test_an_insecure_local_page_is_refused_before_cors() -> None:
    allowed, report = _check("http://192.168.1.20:3000")
    assert not allowed
    assert "fails the request before CORS, without asking" in report
    assert "reason: local network access" in report
    assert "fix: serve the page over https://" in report
    # CORS itself would pass: the refusal is Local Network Access's alone.
    assert "browser: CORS check passes" in report


def test_a_secure_public_page_asks_for_loopback() -> None:
    allowed, report = _check("https://203.0.113.7")
    assert allowed
    assert "asks the user for the 'loopback-network' permission" in report
    assert "Access-Control-Request-Private-Network" in report  # the legacy preflight is named


def test_a_dns_name_is_reported_both_ways_and_decides_nothing() -> None:
    allowed, report = _check("http://app.example.com")
    assert allowed
    assert "app.example.com is a DNS name" in report
    assert "if the page's address is local or public" in report


def test_the_flags_set_both_spaces(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["check", "--origin", "http://10.0.0.5:3000", "--allow-origin", "http://10.0.0.5:3000"]
    assert main(base) == 1
    capsys.readouterr()
    assert main([*base, "--page-address-space", "loopback"]) == 0
    assert "not a local network request" in capsys.readouterr().out
    assert main([*base, "--target-address-space", "public"]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["check", "--origin", "https://a.test", "--page-address-space", "lan"])
    assert exc.value.code == 2
    assert "--page-address-space" in capsys.readouterr().err


def test_the_server_space_comes_from_the_configured_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text('host = "0.0.0.0"\n[cors]\nallow_origins = ["http://10.0.0.5:3000"]\n')
    assert main(["check", "-c", str(toml), "--origin", "http://10.0.0.5:3000"]) == 0
    out = capsys.readouterr().out
    assert "server local (listening on 0.0.0.0" in out
    assert "not a local network request" in out
