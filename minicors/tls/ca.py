"""minicors's own certificate authority: one per user, made on first use, and the short-lived
leaf certificates it issues for the names a server answers to.

The CA is an EC P-256 key (0600, never served, never logged) and a self-signed certificate valid
for ten years, named for the user@host it was made for, as mkcert names its CAs.  A leaf lasts
90 days (browsers cap leaves at 398 days), is cached next to the CA per set of names, and is
issued again once fewer than 30 days are left, so a server that runs for months never serves
an expired one.  Everything here takes `now`, so expiry is tested without waiting for it.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import ConfigError
from .files import ca_home, check_private_file, locked, make_private_dir, write_atomic
from .names import general_names, san_names

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
CA_LIFETIME = timedelta(days=3650)
LEAF_LIFETIME = timedelta(days=90)
RENEW_BEFORE = timedelta(days=30)
BACKDATE = timedelta(hours=1)  # a client whose clock is a little behind still accepts a new leaf

PublicKey = ec.EllipticCurvePublicKey


def utc_now() -> datetime:
    return datetime.now(UTC)


def ident(public_key: PublicKey) -> str:
    """A CA's short name: the start of its public key's SHA-256 (the same from its certificate
    or its key, so `untrust` finds it even when one of the two files is damaged)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:12]


def nickname_of(ca_ident: str) -> str:
    """The name NSS databases list the CA under."""
    return f"minicors CA {ca_ident}"


def _who() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = str(os.geteuid())
    return f"{user}@{socket.gethostname()}"


def _start_over(directory: str) -> str:
    return (
        f"to start over, run `minicors tls untrust`, delete {directory}, "
        "and run `minicors tls trust` again"
    )


@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf certificate on disk: `path` holds the certificate, then its key (0600)."""

    path: str
    names: tuple[str, ...]
    not_after: datetime

    @property
    def renew_at(self) -> datetime:
        return self.not_after - RENEW_BEFORE


class LocalCA:
    """The user's CA, loaded (or made) by `LocalCA.open()`; `leaf(names)` issues from it."""

    def __init__(
        self,
        directory: str,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        *,
        created: bool,
    ) -> None:
        self.directory = directory
        self.cert = cert
        self._key = key
        self.created = created  # made by this call to open()
        self.ident = ident(key.public_key())

    @property
    def cert_path(self) -> str:
        return os.path.join(self.directory, CA_CERT)

    @property
    def key_path(self) -> str:
        return os.path.join(self.directory, CA_KEY)

    @property
    def nickname(self) -> str:
        return nickname_of(self.ident)

    def __repr__(self) -> str:  # never the key
        return f"LocalCA({self.directory!r}, {self.nickname!r})"

    @classmethod
    def open(cls, directory: str | None = None, *, now: datetime | None = None) -> LocalCA:
        """The CA in `directory` (default `ca_home()`), made there first if it is missing."""
        directory = directory or ca_home()
        now = now or utc_now()
        try:
            make_private_dir(directory)
            with locked(directory):
                # The key is written before the certificate, so a key without a certificate
                # is a CA whose making was cut short: made again, whole.
                if not os.path.exists(os.path.join(directory, CA_CERT)):
                    ca = cls._make(directory, now)
                else:
                    ca = cls._load(directory)
        except OSError as exc:
            raise ConfigError(
                f"cannot keep minicors's CA in {directory}: {exc.strerror or exc}"
                f"{f' ({exc.filename})' if exc.filename else ''}; make it writable by this user "
                "or set MINICORS_HOME to a directory that is"
            ) from None
        expires = ca.cert.not_valid_after_utc
        if expires <= now:
            raise ConfigError(
                f"minicors's CA {ca.cert_path} expired on {expires:%Y-%m-%d}; "
                + _start_over(directory)
            )
        return ca

    @classmethod
    def _make(cls, directory: str, now: datetime) -> LocalCA:
        key = ec.generate_private_key(ec.SECP256R1())
        who = _who()
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "minicors development CA"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, who),
                x509.NameAttribute(NameOID.COMMON_NAME, f"minicors {who}"),
            ]
        )
        public = key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now - BACKDATE + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_atomic(os.path.join(directory, CA_KEY), key_pem, mode=0o600)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        write_atomic(os.path.join(directory, CA_CERT), cert_pem, mode=0o644)
        return cls(directory, cert, key, created=True)

    @classmethod
    def _load(cls, directory: str) -> LocalCA:
        cert_path = os.path.join(directory, CA_CERT)
        key_path = os.path.join(directory, CA_KEY)
        cert = load_ca_cert(directory)
        try:
            check_private_file(key_path)
            with open(key_path, "rb") as file:
                key = serialization.load_pem_private_key(file.read(), password=None)
        except FileNotFoundError:
            raise ConfigError(
                f"minicors's CA key {key_path} is missing; " + _start_over(directory)
            ) from None
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"minicors's CA key {key_path} is unreadable or damaged ({_reason(exc)}); "
                + _start_over(directory)
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not same_key(
            cert.public_key(), key.public_key()
        ):
            raise ConfigError(
                f"minicors's CA key {key_path} does not belong to {cert_path}; "
                + _start_over(directory)
            )
        return cls(directory, cert, key, created=False)

    def leaf(self, names: Sequence[str], *, now: datetime | None = None) -> Leaf:
        """A leaf for `names` with more than 30 days to live: the cached one, or a new one."""
        now = now or utc_now()
        names = tuple(names)
        digest = hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:16]
        path = os.path.join(self.directory, f"leaf-{digest}.pem")
        with locked(self.directory):
            leaf = self._cached(path, names, now)
            if leaf is None:
                leaf = self._issue(path, names, now)
        return leaf

    def _cached(self, path: str, names: tuple[str, ...], now: datetime) -> Leaf | None:
        """The leaf at `path` if it is whole, ours, for `names` and not due for renewal."""
        try:
            with open(path, "rb") as file:
                data = file.read()
            cert = x509.load_pem_x509_certificate(data)
            key = serialization.load_pem_private_key(data, password=None)
            cert.verify_directly_issued_by(self.cert)
        except (OSError, ValueError, TypeError, InvalidSignature):
            return None  # missing, damaged, or from a CA made before this one: issue anew
        leaf = Leaf(path=path, names=names, not_after=cert.not_valid_after_utc)
        if (
            set(san_names(cert)) != set(names)
            or not isinstance(key, ec.EllipticCurvePrivateKey)
            or not same_key(cert.public_key(), key.public_key())
            or cert.not_valid_before_utc > now
            or now >= leaf.renew_at
        ):
            return None
        return leaf

    def _issue(self, path: str, names: tuple[str, ...], now: datetime) -> Leaf:
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key()
        not_before = now - BACKDATE
        not_after = min(not_before + LEAF_LIFETIME, self.cert.not_valid_after_utc)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "minicors development certificate"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, _who()),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(general_names(names)), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_atomic(path, pem, mode=0o600)  # it holds the leaf's key
        return Leaf(path=path, names=names, not_after=not_after)


def load_ca_cert(directory: str) -> x509.Certificate:
    """The CA certificate in `directory` (ConfigError naming the file when it is damaged)."""
    path = os.path.join(directory, CA_CERT)
    try:
        with open(path, "rb") as file:
            return x509.load_pem_x509_certificate(file.read())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"minicors's CA certificate {path} is unreadable or damaged ({_reason(exc)}); "
            + _start_over(directory)
        ) from None


def existing_ident(directory: str) -> str | None:
    """The ident of the CA in `directory` without making one: None when there is none, read
    from the certificate or else from the key (ConfigError when neither can be read)."""
    cert_path = os.path.join(directory, CA_CERT)
    key_path = os.path.join(directory, CA_KEY)
    if not os.path.exists(cert_path) and not os.path.exists(key_path):
        return None
    public: PublicKeyTypes
    try:
        public = load_ca_cert(directory).public_key()
    except ConfigError:
        try:
            with open(key_path, "rb") as file:
                public = serialization.load_pem_private_key(file.read(), None).public_key()
        except (OSError, ValueError, TypeError):
            raise ConfigError(
                f"both {cert_path} and {key_path} are damaged, so the CA they held cannot be "
                "named: list the trusted ones with `certutil -L -d sql:$HOME/.pki/nssdb`, "
                f"remove each 'minicors CA ...' with `certutil -D -n NAME`, then delete {directory}"
            ) from None
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ConfigError(f"{cert_path} is not minicors's CA; " + _start_over(directory))
    return ident(public)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,  # a leaf signs the handshake (ECDSA)
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def same_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    """Whether two public keys are the same key (a certificate's and a private key's)."""
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return a.public_bytes(*spki) == b.public_bytes(*spki)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc).split("\n")[0] or type(exc).__name__
