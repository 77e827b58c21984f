"""The local CA and its leaves: made once, private on disk, the right fields, renewed in time
(with an injected `now`, never by waiting), and a damaged file named with the way out."""

from __future__ import annotations

import getpass
import os
import socket
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from minicors.errors import ConfigError
from minicors.tls import (
    CA_CERT,
    CA_KEY,
    LEAF_LIFETIME,
    RENEW_BEFORE,
    LocalCA,
    ca_home,
    leaf_names,
    san_names,
)

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def read_leaf(path: str) -> x509.Certificate:
    with open(path, "rb") as file:
        return x509.load_pem_x509_certificate(file.read())


def test_home_is_minicors_home_else_the_user_data_directory(
    ca_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ca_home() == str(ca_dir)
    monkeypatch.delenv("MINICORS_HOME")
    assert ca_home() == str(tmp_path / "home" / ".local" / "share" / "minicors")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert ca_home() == str(tmp_path / "data" / "minicors")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")  # ignored, as the XDG spec says
    assert ca_home() == str(tmp_path / "home" / ".local" / "share" / "minicors")


def test_ca_is_made_once_and_reused(ca_dir: Path) -> None:
    first = LocalCA.open(now=T0)
    assert first.created and first.directory == str(ca_dir)
    stamps = {name: os.stat(ca_dir / name).st_mtime_ns for name in (CA_CERT, CA_KEY)}
    again = LocalCA.open(now=T0 + timedelta(days=400))
    assert not again.created
    assert again.cert == first.cert and again.ident == first.ident
    assert {name: os.stat(ca_dir / name).st_mtime_ns for name in (CA_CERT, CA_KEY)} == stamps


def test_ca_certificate_fields() -> None:
    ca = LocalCA.open(now=T0)
    cert = ca.cert
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=3650) <= lifetime <= timedelta(days=3660)
    assert cert.not_valid_before_utc <= T0 < cert.not_valid_after_utc
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == f"minicors {who}"
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # self-signed by its own key
    assert ca.nickname == f"minicors CA {ca.ident}" and len(ca.ident) == 12
    assert "BEGIN" not in repr(ca)


def test_files_are_private_from_the_first_instant(
    ca_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a umask that hides nothing, the key is 0600 already when it is renamed into place
    (it never exists under its name with other bits), the directory 0700."""
    renamed: dict[str, int] = {}
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        renamed[os.path.basename(dst)] = mode(src)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    old_umask = os.umask(0)
    try:
        ca = LocalCA.open(now=T0)
        leaf = ca.leaf(leaf_names("127.0.0.1"), now=T0)
    finally:
        os.umask(old_umask)
    assert mode(ca_dir) == 0o700
    assert renamed[CA_KEY] == mode(ca.key_path) == 0o600
    assert renamed[CA_CERT] == mode(ca.cert_path) == 0o644
    assert renamed[os.path.basename(leaf.path)] == mode(leaf.path) == 0o600  # it holds a key
    assert sorted(os.listdir(ca_dir)) == sorted([CA_CERT, CA_KEY, os.path.basename(leaf.path)])


def test_a_failed_write_leaves_the_old_file_and_no_litter(
    ca_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = LocalCA.open(now=T0)
    names = leaf_names("127.0.0.1")
    old = ca.leaf(names, now=T0)
    with open(old.path, "rb") as file:
        before = file.read()

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        ca.leaf(names, now=T0 + LEAF_LIFETIME)  # due for renewal: a write is attempted
    with open(old.path, "rb") as file:
        assert file.read() == before
    assert not [name for name in os.listdir(ca_dir) if name.startswith(".tmp-")]


def test_a_key_readable_by_others_is_refused(ca_dir: Path) -> None:
    LocalCA.open(now=T0)
    os.chmod(ca_dir / CA_KEY, 0o644)
    with pytest.raises(ConfigError, match=r"may be read by other users") as caught:
        LocalCA.open(now=T0)
    assert f"chmod 600 {ca_dir / CA_KEY}" in str(caught.value)


def test_a_directory_others_may_write_is_refused(ca_dir: Path) -> None:
    ca_dir.mkdir(mode=0o700)
    os.chmod(ca_dir, 0o777)  # noqa: S103 - the mistake this test is about
    with pytest.raises(ConfigError, match=r"may be written by other users") as caught:
        LocalCA.open(now=T0)
    assert f"chmod 700 {ca_dir}" in str(caught.value)
    assert not (ca_dir / CA_KEY).exists()  # nothing was made there


@pytest.mark.parametrize("damaged", [CA_CERT, CA_KEY])
def test_a_damaged_ca_file_is_named_with_the_way_to_start_over(ca_dir: Path, damaged: str) -> None:
    LocalCA.open(now=T0)
    (ca_dir / damaged).write_bytes(b"-----BEGIN garbage\n")
    with pytest.raises(ConfigError) as caught:
        LocalCA.open(now=T0)
    message = str(caught.value)
    assert str(ca_dir / damaged) in message and "\n" not in message
    assert "minicors tls untrust" in message and f"delete {ca_dir}" in message


def test_a_key_from_another_ca_is_refused(ca_dir: Path, tmp_path: Path) -> None:
    LocalCA.open(now=T0)
    other = LocalCA.open(str(tmp_path / "other"), now=T0)
    os.replace(other.key_path, ca_dir / CA_KEY)
    with pytest.raises(ConfigError, match=r"does not belong to .*ca\.pem"):
        LocalCA.open(now=T0)


def test_a_key_left_without_its_certificate_is_a_ca_made_again(ca_dir: Path) -> None:
    first = LocalCA.open(now=T0)
    os.unlink(first.cert_path)  # as if the making stopped between the two writes
    again = LocalCA.open(now=T0)
    assert again.created and again.ident != first.ident


def test_an_expired_ca_says_how_to_start_over(ca_dir: Path) -> None:
    LocalCA.open(now=T0)
    with pytest.raises(ConfigError, match=r"expired on 2040-.*minicors tls untrust"):
        LocalCA.open(now=T0 + timedelta(days=3660))


@pytest.mark.parametrize(
    ("host", "extra"),
    [
        ("127.0.0.1", ()),
        ("localhost", ()),
        ("LocalHost.", ()),
        ("::1", ()),
        ("[::1]", ()),
        ("0.0.0.0", ()),
        ("::", ()),
        ("", ()),
        ("192.168.1.20", ("192.168.1.20",)),
        ("fe80::1%eth0", ("fe80::1",)),
        ("dev.example.test", ("dev.example.test",)),
        ("Dev.Example.TEST.", ("dev.example.test",)),
        ("bücher.test", ("xn--bcher-kva.test",)),
    ],
)
def test_leaf_names(host: str, extra: tuple[str, ...]) -> None:
    assert leaf_names(host) == ("localhost", "127.0.0.1", "::1", *extra)


def test_a_host_no_certificate_can_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot be named in a certificate"):
        leaf_names("a" * 64 + ".test")  # a DNS label has at most 63 octets


@pytest.mark.parametrize("host", ["192.168.1.20", "dev.example.test", "0.0.0.0"])
def test_leaf_certificate(host: str) -> None:
    ca = LocalCA.open(now=T0)
    leaf = ca.leaf(leaf_names(host), now=T0)
    cert = read_leaf(leaf.path)
    cert.verify_directly_issued_by(ca.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [
        name for name in leaf_names(host) if not name[0].isdigit() and ":" not in name
    ]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    assert ips[:2] == ["127.0.0.1", "::1"]
    assert ("192.168.1.20" in ips) == (host == "192.168.1.20")
    assert "0.0.0.0" not in ips and "::" not in ips
    assert set(san_names(cert)) == set(leaf_names(host))
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime <= LEAF_LIFETIME <= timedelta(days=398)  # browsers' cap on leaves
    assert cert.not_valid_before_utc <= T0 and cert.not_valid_after_utc > T0 + timedelta(days=89)
    assert leaf.not_after == cert.not_valid_after_utc
    assert leaf.renew_at == leaf.not_after - RENEW_BEFORE


def serial_at(ca: LocalCA, names: tuple[str, ...]) -> Callable[[datetime], int]:
    def serial(now: datetime) -> int:
        return read_leaf(ca.leaf(names, now=now).path).serial_number

    return serial


def test_leaf_is_cached_per_set_of_names() -> None:
    ca = LocalCA.open(now=T0)
    loopback = ca.leaf(leaf_names("127.0.0.1"), now=T0)
    again = ca.leaf(leaf_names("localhost"), now=T0 + timedelta(days=1))
    lan = ca.leaf(leaf_names("192.168.1.20"), now=T0)
    assert again.path == loopback.path and lan.path != loopback.path
    assert read_leaf(again.path) == read_leaf(loopback.path)
    assert read_leaf(lan.path) != read_leaf(loopback.path)


def test_leaf_is_renewed_when_fewer_than_30_days_are_left() -> None:
    ca = LocalCA.open(now=T0)
    names = leaf_names("127.0.0.1")
    serial = serial_at(ca, names)
    first = serial(T0)
    renew_at = ca.leaf(names, now=T0).renew_at  # 60 days in, less the hour it is backdated
    assert serial(renew_at - timedelta(seconds=1)) == first
    later = renew_at + timedelta(seconds=1)
    assert serial(later) != first
    renewed = ca.leaf(names, now=later)
    assert renewed.not_after > later + RENEW_BEFORE
    assert read_leaf(renewed.path).not_valid_before_utc <= later
    assert serial(later + timedelta(days=1)) == serial(later)  # the new one is cached in turn


def test_a_leaf_from_an_earlier_ca_is_not_served(ca_dir: Path, tmp_path: Path) -> None:
    names = leaf_names("127.0.0.1")
    old = LocalCA.open(now=T0).leaf(names, now=T0)
    kept = tmp_path / "old-leaf.pem"
    os.replace(old.path, kept)
    for name in os.listdir(ca_dir):
        os.unlink(ca_dir / name)
    new_ca = LocalCA.open(now=T0)
    os.replace(kept, old.path)  # the old CA's leaf, under the name the new one would use
    leaf = new_ca.leaf(names, now=T0)
    read_leaf(leaf.path).verify_directly_issued_by(new_ca.cert)


def test_a_damaged_leaf_is_issued_again() -> None:
    ca = LocalCA.open(now=T0)
    names = leaf_names("127.0.0.1")
    path = ca.leaf(names, now=T0).path
    with open(path, "wb") as file:
        file.write(b"half a certif")
    read_leaf(ca.leaf(names, now=T0).path).verify_directly_issued_by(ca.cert)
