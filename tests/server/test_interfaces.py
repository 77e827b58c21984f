"""The URLs announced for `--host 0.0.0.0` / `::` and the `--open` display rule: the pure parts
as tables (no sockets), and the machine's own address lookup once for real."""

from __future__ import annotations

import ipaddress
import sys

import pytest

from minicors.server import BoundAddress
from minicors.server.announce import no_display
from minicors.server.interfaces import (
    is_wildcard,
    lan_addresses,
    lan_urls,
    local_url,
    machine_addresses,
    parse_if_inet6,
)

IF_INET6 = """\
00000000000000000000000000000001 01 80 10 80       lo
fd000000000000000000000000000002 04 40 00 82     eth0
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
20010db8000000000000000000000042 05 40 00 00    wlan0

not-hex-at-all-xxxxxxxxxxxxxxxxx 06 40 00 00     bad0
1234 07 40 00 00     short0
"""


def test_parse_if_inet6_reads_each_address_and_skips_junk() -> None:
    assert parse_if_inet6(IF_INET6) == ["::1", "fd00::2", "fe80::fc:ff:fe00:1", "2001:db8::42"]
    assert parse_if_inet6("") == []


@pytest.mark.parametrize(
    ("candidates", "version", "expected"),
    [
        (["127.0.0.1", "192.168.1.20", "10.0.0.5"], 4, ["192.168.1.20", "10.0.0.5"]),
        (["169.254.3.4", "0.0.0.0", "224.0.0.1", "192.168.1.20"], 4, ["192.168.1.20"]),
        (["192.168.1.20", "192.168.1.20"], 4, ["192.168.1.20"]),  # once each
        (["::1", "fe80::1%eth0", "fe80::2", "fd00::2", "2001:db8::42"], 6,
         ["fd00::2", "2001:db8::42"]),
        (["192.168.1.20", "fd00::2"], 4, ["192.168.1.20"]),  # the other family is left out
        (["192.168.1.20", "fd00::2"], 6, ["fd00::2"]),
        (["", "eth0", "300.1.1.1", "::ffff::1"], 4, []),  # text that is no address
    ],
)  # fmt: skip
def test_lan_addresses_keep_what_another_machine_can_reach(
    candidates: list[str], version: int, expected: list[str]
) -> None:
    assert lan_addresses(candidates, version) == [ipaddress.ip_address(e) for e in expected]


@pytest.mark.parametrize(
    ("host", "scheme", "expected"),
    [
        ("0.0.0.0", "http", "http://127.0.0.1:8000"),
        ("::", "http", "http://[::1]:8000"),
        ("0.0.0.0", "https", "https://127.0.0.1:8000"),
        ("::", "https", "https://[::1]:8000"),
        ("192.168.1.20", "http", "http://192.168.1.20:8000"),  # a named host stays as it is
        ("::1", "http", "http://[::1]:8000"),
        ("localhost", "http", "http://localhost:8000"),
    ],
)
def test_local_url_turns_a_wildcard_into_loopback(host: str, scheme: str, expected: str) -> None:
    assert local_url(BoundAddress(host=host, port=8000, scheme=scheme)) == expected


def test_wildcards() -> None:
    assert is_wildcard("0.0.0.0") and is_wildcard("::")
    assert not any(is_wildcard(h) for h in ("127.0.0.1", "::1", "localhost", "", "192.168.1.2"))


def test_lan_urls_follow_family_scheme_and_bracket_ipv6() -> None:
    candidates = ["127.0.0.1", "192.168.1.20", "::1", "fd00::2", "fe80::1"]
    assert lan_urls(BoundAddress(host="0.0.0.0", port=8000), candidates) == [
        "http://192.168.1.20:8000"
    ]
    assert lan_urls(BoundAddress(host="::", port=8443, scheme="https"), candidates) == [
        "https://[fd00::2]:8443"
    ]


def test_machine_addresses_finds_loopback_and_only_addresses() -> None:
    """The real lookup: on Linux the ioctl decoding must yield lo's 127.0.0.1 (a wrong offset
    in struct ifreq would yield garbage); everywhere every entry is an address."""
    found = machine_addresses()
    for text in found:
        ipaddress.ip_address(text.partition("%")[0])
    if sys.platform.startswith("linux"):
        assert "127.0.0.1" in found


@pytest.mark.parametrize(
    ("environ", "platform", "shown"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ""}, "linux", False),  # set but empty is no display
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({}, "freebsd14", False),
        ({}, "darwin", True),
        ({}, "win32", True),
    ],
)
def test_a_browser_needs_a_display_on_linux_and_bsd(
    environ: dict[str, str], platform: str, shown: bool
) -> None:
    why = no_display(environ, platform)
    assert (why is None) == shown
    if why is not None:
        assert "DISPLAY" in why and "WAYLAND_DISPLAY" in why
