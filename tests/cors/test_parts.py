"""The pure helpers under the CORS engine, as tables: grammar, lists, Vary, escaping, paths."""

from __future__ import annotations

import ipaddress

import pytest

from minicors.cors import CorsPolicy, CorsSettings
from minicors.cors.headers import merge_vary, parse_header_names, show, split_list
from minicors.cors.origins import ParsedOrigin, _ipv6_text, parse_request_origin


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test", ParsedOrigin(scheme="https", host="a.test", port="")),
        ("http://localhost:3000", ParsedOrigin(scheme="http", host="localhost", port="3000")),
        ("http://[::1]:80", "browsers omit the default port :80"),
        ("http://[::1]:8080", ParsedOrigin(scheme="http", host="[::1]", port="8080")),
        ("http://[2001:db8::1]", ParsedOrigin(scheme="http", host="[2001:db8::1]", port="")),
        ("http://[2001:DB8::1]", "not a serialised origin: lower-case scheme://host[:port]"),
        ("http://[2001:db8:0:0:0:0:0:1]", "IPv6 is serialised as [2001:db8::1]"),
        ("http://[::ffff:1.2.3.4]", "not a serialised origin: lower-case scheme://host[:port]"),
        ("http://[::ffff:102:304]", ParsedOrigin(scheme="http", host="[::ffff:102:304]", port="")),
        ("http://10.0.0.1:8000", ParsedOrigin(scheme="http", host="10.0.0.1", port="8000")),
        ("http://010.0.0.1", "a numeric host must be a dotted-quad IPv4 address"),
        ("http://10.1", "a numeric host must be a dotted-quad IPv4 address"),
        ("http://a.0x1f", "a numeric host must be a dotted-quad IPv4 address"),
        ("http://1.2.3.4.", "a numeric host must be a dotted-quad IPv4 address"),
        ("http://a.test.", ParsedOrigin(scheme="http", host="a.test.", port="")),
        ("http://a.test:0", ParsedOrigin(scheme="http", host="a.test", port="0")),
        ("http://a.test:65536", "port is not a decimal number up to 65535 without leading zeros"),
        ("http://a.test:080", "port is not a decimal number up to 65535 without leading zeros"),
        ("wss://a.test:443", "browsers omit the default port :443"),
        ("custom+x.y-z://host", ParsedOrigin(scheme="custom+x.y-z", host="host", port="")),
        ("https://a-.test", "host label 'a-' is not letters, digits and inner '-'"),
        ("https://a..test", "empty label in host"),
        ("null", "not a serialised origin: lower-case scheme://host[:port]"),
    ],
)
def test_request_origin_grammar(value: str, expected: ParsedOrigin | str) -> None:
    assert parse_request_origin(value) == expected


@pytest.mark.parametrize(
    ("address", "text"),
    [
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),  # the longest run of zeros
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),  # the first of two equal runs
        ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),  # a single zero is not compressed
        ("ABCD:0:0:0:0:0:0:EF", "abcd::ef"),
    ],
)
def test_ipv6_is_serialised_like_the_url_standard(address: str, text: str) -> None:
    assert _ipv6_text(ipaddress.IPv6Address(address)) == text


@pytest.mark.parametrize(
    ("value", "names", "invalid"),
    [
        ("x-a,x-b", ("x-a", "x-b"), ()),
        ("x-a, x-b", ("x-a", "x-b"), ()),
        ("X-A ,\tx-b", ("x-a", "x-b"), ()),
        ("x-a, X-A", ("x-a",), ()),
        ("", (), ()),
        (", ,", (), ()),
        ("x-a, x b, x:c", ("x-a",), ("x b", "x:c")),
        ("x-a\r\nx-b", (), ("x-a\r\nx-b",)),
    ],
)
def test_request_header_list(value: str, names: tuple[str, ...], invalid: tuple[str, ...]) -> None:
    assert parse_header_names(value) == (names, invalid)


def test_split_list_drops_empty_elements() -> None:
    assert split_list(" a ,, b,\t") == ["a", "b"]


@pytest.mark.parametrize(
    ("existing", "ours", "merged"),
    [
        ([], b"Origin", b"Origin"),
        ([b"Accept-Encoding"], b"Origin", b"Accept-Encoding, Origin"),
        ([b"origin"], b"Origin", b"origin"),
        ([b"A", b"B, a"], b"Origin", b"A, B, Origin"),
        ([b"*"], b"Origin", b"*"),
        ([b"Accept"], b"*", b"*"),
        ([b"Accept"], b"", b"Accept"),
        (
            [b"Origin, Accept"],
            b"Origin, Access-Control-Request-Method",
            b"Origin, Accept, Access-Control-Request-Method",
        ),
    ],
)
def test_merge_vary(existing: list[bytes], ours: bytes, merged: bytes) -> None:
    assert merge_vary(existing, ours) == merged


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("https://a.test", "https://a.test"),
        ("", '""'),
        ("a b", '"a b"'),
        ("a,b", '"a,b"'),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ('say "hi"', '"say \\x22hi\\x22"'),
        ("back\\slash", "back\\x5cslash"),
        ("\x1b[31m", "\\x1b[31m"),
        ("caf\xe9", "caf\\xe9"),
        ("\u2028", "\\u2028"),
        ("a" * 250, "a" * 200 + "..."),
    ],
)
def test_show_neutralises_request_text(value: str, shown: str) -> None:
    assert show(value) == shown


def test_settings_round_trip() -> None:
    policy = CorsPolicy(allow_origins=["https://a.test"], allow_headers=["x-a"], max_age_s=5)
    assert policy.settings == CorsSettings(
        allow_origins=("https://a.test",), allow_headers=("x-a",), max_age_s=5
    )
    again = CorsPolicy.from_settings(policy.settings)
    assert again.settings == policy.settings
