"""`server_context`: real handshakes against a client that trusts only the local CA (over a
socket pair, and through minicors on a port), the leaf renewed while serving, and the user's
own pair refused with one line naming the file when it cannot work."""

from __future__ import annotations

import os
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from minicors.config import Config
from minicors.errors import ConfigError
from minicors.options import TlsOptions
from minicors.tls import LocalCA, check_served_root, leaf_names, san_names, server_context

from ..conftest import live_server, parse_responses


@dataclass
class Seen:
    cert: x509.Certificate
    alpn: str | None
    version: str | None


def handshake(server: ssl.SSLContext, name: str, cafile: str) -> Seen:
    """One TLS handshake over a socket pair: `server` on one end, on the other a client that
    trusts `cafile` alone and checks the certificate against `name`."""
    client = ssl.create_default_context(cafile=cafile)
    client.set_alpn_protocols(["h2", "http/1.1"])
    ours, theirs = socket.socketpair()
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            with server.wrap_socket(theirs, server_side=True):
                pass
        except (OSError, ssl.SSLError) as exc:
            failures.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client.wrap_socket(ours, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            return Seen(
                x509.load_der_x509_certificate(der), tls.selected_alpn_protocol(), tls.version()
            )
    finally:
        thread.join(10)
        theirs.close()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "::1"])
def test_a_client_trusting_the_ca_completes_a_handshake(name: str) -> None:
    context = server_context(TlsOptions(), "127.0.0.1")
    ca = LocalCA.open()
    seen = handshake(context, name, ca.cert_path)
    seen.cert.verify_directly_issued_by(ca.cert)
    assert seen.alpn == "http/1.1"
    assert seen.version in {"TLSv1.2", "TLSv1.3"}


def test_the_leaf_names_the_host_and_no_other_name_passes() -> None:
    context = server_context(TlsOptions(), "dev.example.test")
    cafile = LocalCA.open().cert_path
    assert "dev.example.test" in san_names(handshake(context, "dev.example.test", cafile).cert)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(context, "other.example.test", cafile)


def test_tls_1_2_or_later_only() -> None:
    context = server_context(TlsOptions(), "127.0.0.1")
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE  # clients bring no certificate


def test_a_client_that_does_not_trust_the_ca_fails(tmp_path: Path) -> None:
    context = server_context(TlsOptions(), "127.0.0.1")
    stranger = LocalCA.open(str(tmp_path / "another-users-ca"))
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(context, "localhost", stranger.cert_path)


def test_the_leaf_is_renewed_while_the_server_runs() -> None:
    """A handshake past the renewal time loads a new leaf into the running context; the one
    in progress keeps the old leaf (still 30 days from expiry), every later one gets the new.
    The server's clock starts 70 days ago, so both leaves are valid for the client's."""
    now = datetime.now(UTC)
    clock = Clock(now - timedelta(days=70))
    context = server_context(TlsOptions(), "127.0.0.1", clock=clock)
    ca = LocalCA.open()
    first = handshake(context, "localhost", ca.cert_path).cert
    clock.now = now - timedelta(days=11)  # 59 days on: 31 left
    assert handshake(context, "localhost", ca.cert_path).cert == first
    clock.now = now  # 70 days on: 20 left
    assert handshake(context, "127.0.0.1", ca.cert_path).cert == first  # no SNI: renews too
    renewed = handshake(context, "localhost", ca.cert_path).cert
    assert renewed.serial_number != first.serial_number
    assert renewed.not_valid_after_utc > now + timedelta(days=89)
    assert handshake(context, "::1", ca.cert_path).cert == renewed


async def test_minicors_serves_https_to_a_client_trusting_the_ca(tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<p>secure</p>")
    async with live_server(Config(root=str(root), tls=TlsOptions())) as live:
        assert live.address.url.startswith("https://127.0.0.1:")
        cafile = LocalCA.open().cert_path
        for name in ("localhost", "127.0.0.1"):
            client = ssl.create_default_context(cafile=cafile)
            tcp = await trio.open_tcp_stream("127.0.0.1", live.address.port)
            stream = trio.SSLStream(tcp, client, server_hostname=name, https_compatible=True)
            request = f"GET /index.html HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n"
            await stream.send_all(request.encode())
            data = b""
            while chunk := await stream.receive_some():
                data += chunk
            await stream.aclose()
            [response] = parse_responses(data)
            assert response.status == 200 and response.body == b"<p>secure</p>"
        untrusting = ssl.create_default_context(cafile=LocalCA.open(str(tmp_path / "x")).cert_path)
        tcp = await trio.open_tcp_stream("127.0.0.1", live.address.port)
        stream = trio.SSLStream(tcp, untrusting, server_hostname="localhost")
        with pytest.raises(trio.BrokenResourceError) as caught:
            await stream.do_handshake()
        assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
        await tcp.aclose()


# --- the user's own pair -----------------------------------------------------------------


def make_pair(
    directory: Path,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    password: bytes | None = None,
) -> tuple[str, str]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "localhost")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(exist_ok=True)
    cert_file = directory / "localhost.pem"
    key_file = directory / "localhost-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return str(cert_file), str(key_file)


def test_the_users_own_pair_is_served(tmp_path: Path, ca_dir: Path) -> None:
    cert_file, key_file = make_pair(tmp_path / "mine")
    context = server_context(TlsOptions(cert_file=cert_file, key_file=key_file), "127.0.0.1")
    seen = handshake(context, "localhost", cert_file)  # the self-signed leaf is its own anchor
    assert seen.cert.public_bytes(serialization.Encoding.PEM) == Path(cert_file).read_bytes()
    assert seen.alpn == "http/1.1"
    assert not ca_dir.exists()  # the local CA is not made for a user's own pair


Breakage = Callable[[Path, str, str], tuple[str, str, str]]


def missing_cert(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    return str(tmp / "nope.pem"), key, "does not exist"


def missing_key(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    return cert, str(tmp / "nope-key.pem"), "does not exist"


def unreadable_cert(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    (tmp / "a-directory.pem").mkdir()
    return str(tmp / "a-directory.pem"), key, "cannot read"


def unreadable_key(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    os.chmod(key, 0)
    if os.access(key, os.R_OK):  # root reads any file: a directory is unreadable to all
        (tmp / "key-dir.pem").mkdir()
        key = str(tmp / "key-dir.pem")
    return cert, key, "cannot read"


def not_pem_cert(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    return key, key, "holds no PEM certificate"


def not_pem_key(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    return cert, cert, "holds no PEM private key"


def mismatched(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    _, other_key = make_pair(tmp / "other")
    return cert, other_key, "is not the key of"


def expired(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    now = datetime.now(UTC)
    old_cert, old_key = make_pair(
        tmp / "old", not_before=now - timedelta(days=400), not_after=now - timedelta(days=2)
    )
    return old_cert, old_key, "expired on"


def not_yet_valid(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    now = datetime.now(UTC)
    new_cert, new_key = make_pair(tmp / "future", not_before=now + timedelta(days=2))
    return new_cert, new_key, "is not valid until"


def passphrase(tmp: Path, cert: str, key: str) -> tuple[str, str, str]:
    locked_cert, locked_key = make_pair(tmp / "locked", password=b"secret")
    return locked_cert, locked_key, "protected by a passphrase"


@pytest.mark.parametrize(
    "breakage",
    [
        missing_cert,
        missing_key,
        unreadable_cert,
        unreadable_key,
        not_pem_cert,
        not_pem_key,
        mismatched,
        expired,
        not_yet_valid,
        passphrase,
    ],
)
def test_a_pair_that_cannot_work_is_one_line_naming_the_file(
    tmp_path: Path, breakage: Breakage
) -> None:
    good_cert, good_key = make_pair(tmp_path / "good")
    cert, key, says = breakage(tmp_path, good_cert, good_key)
    with pytest.raises(ConfigError) as caught:
        server_context(TlsOptions(cert_file=cert, key_file=key), "127.0.0.1")
    message = str(caught.value)
    assert says in message and "\n" not in message
    named = key if breakage in (missing_key, unreadable_key, not_pem_key, passphrase) else cert
    assert named in message
    assert "--tls-cert" in message or "--tls-key" in message


def test_half_a_pair_is_refused() -> None:
    with pytest.raises(ConfigError, match="give both --tls-cert FILE and --tls-key FILE"):
        server_context(TlsOptions(cert_file="cert.pem"), "127.0.0.1")


# --- keys stay out of ROOT -----------------------------------------------------------------


def test_a_root_holding_the_ca_directory_is_refused(ca_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="whose key would be served"):
        check_served_root(str(tmp_path), dotfiles=False, options=TlsOptions())
    assert check_served_root(str(tmp_path / "site"), dotfiles=False, options=TlsOptions()) == []


def test_the_default_ca_directory_under_root_is_hidden_unless_dotfiles_are_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINICORS_HOME")
    home = str(tmp_path / "home")  # ~/.local/share/minicors: under a dot-directory
    assert check_served_root(home, dotfiles=False, options=TlsOptions()) == []
    with pytest.raises(ConfigError, match="whose key would be served"):
        check_served_root(home, dotfiles=True, options=TlsOptions())


def test_a_users_key_under_root_is_warned_about(tmp_path: Path) -> None:
    options = TlsOptions(cert_file=str(tmp_path / "c.pem"), key_file=str(tmp_path / "k.pem"))
    [warning] = check_served_root(str(tmp_path), dotfiles=False, options=options)
    assert "k.pem" in warning and "would be served" in warning
    assert check_served_root(str(tmp_path / "site"), dotfiles=False, options=options) == []


def test_a_key_under_well_known_is_served_so_it_is_warned_about(tmp_path: Path) -> None:
    """`/.well-known/` is served without --dotfiles (RFC 8615), so a key there would leak;
    one in another dot-directory would not be served."""
    served = TlsOptions(
        cert_file=str(tmp_path / "c.pem"), key_file=str(tmp_path / ".well-known" / "k.pem")
    )
    [warning] = check_served_root(str(tmp_path), dotfiles=False, options=served)
    assert "k.pem" in warning and "would be served" in warning
    hidden = TlsOptions(
        cert_file=str(tmp_path / "c.pem"), key_file=str(tmp_path / ".tls" / "k.pem")
    )
    assert check_served_root(str(tmp_path), dotfiles=False, options=hidden) == []


def test_leaf_names_are_what_the_context_serves() -> None:
    context = server_context(TlsOptions(), "192.168.1.20")
    ca = LocalCA.open()
    cert = handshake(context, "192.168.1.20", ca.cert_path).cert
    assert set(san_names(cert)) == set(leaf_names("192.168.1.20"))
