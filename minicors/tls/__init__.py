"""HTTPS from a local certificate authority the user trusts once, or from the user's own pair.

    ca.py       the CA (one per user, made on first use) and the leaves it issues and renews
    names.py    which names a leaf covers, and how a certificate writes them
    files.py    where the CA lives; atomic, private writes
    context.py  the server's `ssl.SSLContext`; keys kept out of what ROOT serves
    trust.py    `minicors tls path|trust|untrust`: NSS databases and the system store

Imported only with `--tls` or `minicors tls` (it needs the `cryptography` package).
"""

from __future__ import annotations

from .ca import CA_CERT, CA_KEY, LEAF_LIFETIME, RENEW_BEFORE, Leaf, LocalCA, ident
from .context import check_served_root, server_context
from .files import ca_home
from .names import LOOPBACK_NAMES, leaf_names, san_names
from .trust import Certutil, NssDatabase, SystemStore, command, nss_databases, trust, untrust

__all__ = [
    "CA_CERT",
    "CA_KEY",
    "LEAF_LIFETIME",
    "LOOPBACK_NAMES",
    "RENEW_BEFORE",
    "Certutil",
    "Leaf",
    "LocalCA",
    "NssDatabase",
    "SystemStore",
    "ca_home",
    "check_served_root",
    "command",
    "ident",
    "leaf_names",
    "nss_databases",
    "san_names",
    "server_context",
    "trust",
    "untrust",
]
