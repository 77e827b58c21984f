"""The server's TLS context: a leaf from the local CA (renewed while the server runs), or the
user's own certificate and key, checked before start-up so a bad pair is one line, not a
handshake failure in the browser later.

TLS 1.2 and later only; ALPN offers `http/1.1` alone (minicors speaks no HTTP/2).
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ..errors import ConfigError
from ..options import TlsOptions
from .ca import Leaf, LocalCA, same_key, utc_now
from .files import ca_home
from .names import leaf_names

log = logging.getLogger("minicors.tls")

Clock = Callable[[], datetime]
RETRY_RENEWAL = timedelta(hours=1)  # after a failed renewal (disk full...): try again this late
OWN = "(or drop --tls-cert/--tls-key to use minicors's own CA)"


def server_context(options: TlsOptions, host: str, *, clock: Clock = utc_now) -> ssl.SSLContext:
    """The server's TLS context for `options` on `host` (`--host`); ConfigError, one line
    naming the file and the fix, when it cannot be made."""
    if options.cert_file is None and options.key_file is None:
        return _local_context(host, clock)
    if options.cert_file is None or options.key_file is None:
        raise ConfigError("give both --tls-cert FILE and --tls-key FILE, or neither " + OWN)
    return _own_context(options.cert_file, options.key_file, clock())


def _base_context() -> ssl.SSLContext:
    # PROTOCOL_TLS_SERVER brings no compression, server cipher preference and fresh (EC)DH
    # keys per handshake; TLS 1.0 and 1.1 are refused (RFC 8996).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


def _local_context(host: str, clock: Clock) -> ssl.SSLContext:
    names = leaf_names(host)
    ca = LocalCA.open(now=clock())
    leaf = ca.leaf(names, now=clock())
    context = _base_context()
    context.load_cert_chain(leaf.path)
    context.sni_callback = _Renewal(ca, leaf, clock)
    return context


class _Renewal:
    """Renews the leaf of a running server: every handshake (the SNI callback runs for each,
    with or without a name) compares the clock with the renewal time, and past it a new leaf
    is loaded into the context for the handshakes that follow.  The one in progress keeps the
    old leaf, which still has 30 days to live."""

    def __init__(self, ca: LocalCA, leaf: Leaf, clock: Clock) -> None:
        self._ca = ca
        self._names = leaf.names
        self._renew_at = leaf.renew_at
        self._clock = clock

    def __call__(
        self, conn: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext
    ) -> None:
        now = self._clock()
        if now < self._renew_at:
            return
        try:
            leaf = self._ca.leaf(self._names, now=now)
            context.load_cert_chain(leaf.path)
        except (OSError, ssl.SSLError, ConfigError) as exc:
            self._renew_at = now + RETRY_RENEWAL
            log.warning("minicors: could not renew the TLS certificate (%s); will retry", exc)
            return
        self._renew_at = leaf.renew_at
        log.info("minicors: renewed the TLS certificate, valid until %s", f"{leaf.not_after:%F}")


def _own_context(cert_file: str, key_file: str, now: datetime) -> ssl.SSLContext:
    cert_data = _read(cert_file, "certificate", "--tls-cert")
    key_data = _read(key_file, "key", "--tls-key")
    try:
        cert = x509.load_pem_x509_certificate(cert_data)
    except ValueError:
        raise ConfigError(
            f"--tls-cert {cert_file} holds no PEM certificate; give a certificate file "
            "('-----BEGIN CERTIFICATE-----') " + OWN
        ) from None
    try:
        key = serialization.load_pem_private_key(key_data, password=None)
    except TypeError:
        raise ConfigError(
            f"--tls-key {key_file} is protected by a passphrase; give an unprotected copy "
            "(openssl pkey -in KEY -out KEY.plain.pem) " + OWN
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(
            f"--tls-key {key_file} holds no PEM private key; give the key file "
            "('-----BEGIN PRIVATE KEY-----') " + OWN
        ) from None
    if not same_key(cert.public_key(), key.public_key()):
        raise ConfigError(
            f"--tls-key {key_file} is not the key of --tls-cert {cert_file}; give the key that "
            "was made with that certificate " + OWN
        )
    if now >= cert.not_valid_after_utc:
        raise ConfigError(
            f"--tls-cert {cert_file} expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
            "make a new certificate " + OWN
        )
    if now < cert.not_valid_before_utc:
        raise ConfigError(
            f"--tls-cert {cert_file} is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M} "
            "UTC; check this machine's clock, or make a certificate valid now " + OWN
        )
    context = _base_context()
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot serve --tls-cert {cert_file} with --tls-key {key_file}: "
            f"{getattr(exc, 'reason', None) or exc}"
        ) from None
    return context


def _read(path: str, what: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise ConfigError(
            f"{flag} {path} does not exist; give the path of the TLS {what} (PEM) " + OWN
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {flag} {path}: {exc.strerror or exc}; give a readable PEM file "
            "(chmod u+r, or run minicors as its owner) " + OWN
        ) from None


def check_served_root(root: str, *, dotfiles: bool, options: TlsOptions) -> list[str]:
    """Keep keys out of what ROOT serves: ConfigError when the local CA's directory would be
    served (its key is what the user's browsers trust); a warning when the user's own key
    lies under ROOT."""
    top = os.path.realpath(root)

    def served(path: str) -> bool:
        real = os.path.realpath(path)
        if os.path.commonpath([top, real]) != top:
            return False
        parts = [part for part in os.path.relpath(real, top).split(os.sep) if part != "."]
        if parts[:1] == [".well-known"]:  # served without --dotfiles (RFC 8615 §3)
            parts = parts[1:]
        return dotfiles or not any(part.startswith(".") for part in parts)

    warnings: list[str] = []
    if options.key_file is not None:
        if served(options.key_file):
            warnings.append(
                f"--tls-key {options.key_file} lies under ROOT {root} and would be served to "
                "anyone who asks; keep keys outside ROOT"
            )
        return warnings
    home = ca_home()
    if served(home):
        raise ConfigError(
            f"ROOT {root} holds minicors's CA directory {home}, whose key would be served; "
            "serve a narrower directory or set MINICORS_HOME outside ROOT"
        )
    return warnings
