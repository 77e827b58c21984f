"""The names a leaf certificate covers, and how they are written in one (RFC 5280 §4.2.1.6:
an address as an iPAddress, a name as a dNSName in its ASCII form)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cryptography import x509

from ..errors import ConfigError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def leaf_names(host: str) -> tuple[str, ...]:
    """The names a leaf covers: the loopback ones and `host` (`--host`), unless that is a
    wildcard address (0.0.0.0, ::), which no client connects to by name."""
    names = list(LOOPBACK_NAMES)
    host = host.strip().removeprefix("[").removesuffix("]")
    if not host:
        return tuple(names)
    try:
        address = ipaddress.ip_address(host.partition("%")[0])  # drop an IPv6 zone (%eth0)
    except ValueError:
        try:
            name = host.rstrip(".").encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise ConfigError(
                f"--host {host!r} cannot be named in a certificate; give a host name or address"
            ) from None
    else:
        if address.is_unspecified:
            return tuple(names)
        name = str(address)
    if name not in names:
        names.append(name)
    return tuple(names)


def general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def san_names(cert: x509.Certificate) -> tuple[str, ...]:
    """A certificate's subject alternative names as text (IP addresses in their short form)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)
