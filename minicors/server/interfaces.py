"""The machine's own addresses, for the URLs announced when the server listens on every
interface (`--host 0.0.0.0` or `::`): the loopback URL first, then the LAN URLs, as Vite does.

Standard library only.  On Linux the IPv4 addresses come from each interface by
ioctl(SIOCGIFADDR) and the IPv6 ones from /proc/net/if_inet6; elsewhere from resolving the
machine's own name.  Any failure means "no LAN URL", never an error: the URLs are a courtesy.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from collections.abc import Iterable

from .listen import BoundAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SIOCGIFADDR = 0x8915  # <linux/sockios.h>: an interface's (primary) IPv4 address
IF_INET6 = "/proc/net/if_inet6"
IFNAMSIZ = 16  # <net/if.h>: an interface name and its NUL fit in this many bytes


def is_wildcard(host: str) -> bool:
    """`0.0.0.0` or `::`: every interface of one family."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def local_url(address: BoundAddress) -> str:
    """The URL to announce first.  A wildcard host becomes the loopback address of its family:
    `http://0.0.0.0:8000` is not an address to share, and not every browser opens it."""
    if is_wildcard(address.host):
        loopback = "::1" if ":" in address.host else "127.0.0.1"
        address = BoundAddress(host=loopback, port=address.port, scheme=address.scheme)
    return address.url


def lan_urls(address: BoundAddress, candidates: Iterable[str]) -> list[str]:
    """The URLs other machines on the network can use to reach a server listening on the
    wildcard `address`, given the machine's addresses (`machine_addresses()`).  Only the
    wildcard's own family: trio listens on `::` IPv6-only, so the IPv4 addresses would fail."""
    version = 6 if ":" in address.host else 4
    return [
        BoundAddress(host=str(ip), port=address.port, scheme=address.scheme).url
        for ip in lan_addresses(candidates, version)
    ]


def lan_addresses(candidates: Iterable[str], version: int) -> list[IPAddress]:
    """The addresses of IP `version` another machine could reach, each once, in order.  Left
    out: loopback, link-local (it needs a zone such as `%eth0`, which a URL cannot carry to
    a browser), unspecified and multicast addresses, and text that is no address."""
    out: list[IPAddress] = []
    for text in candidates:
        try:
            ip = ipaddress.ip_address(text.partition("%")[0])
        except ValueError:
            continue
        unreachable = ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast
        if ip.version == version and not unreachable and ip not in out:
            out.append(ip)
    return out


def parse_if_inet6(text: str) -> list[str]:
    """The addresses listed in /proc/net/if_inet6, one a line, 32 hex digits first:
    `fe800000000000000000000000000001 02 40 20 80     eth0` (index, prefix, scope, flags, name)."""
    out: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or len(fields[0]) != 32:
            continue
        try:
            out.append(str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))))
        except ValueError:
            continue
    return out


def machine_addresses() -> list[str]:
    """Every address of this machine that can be found, as text; [] when none can."""
    found: list[str] = []
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            found += _linux_ipv4()
        with contextlib.suppress(OSError, UnicodeDecodeError), open(IF_INET6, "rb") as f:
            found += parse_if_inet6(f.read().decode("ascii"))
        if found:
            return found
    # Elsewhere (and on a Linux without /proc): what the machine's own name resolves to.
    with contextlib.suppress(OSError, UnicodeError):
        found = [str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)]
    return found


def _linux_ipv4() -> list[str]:
    import fcntl  # POSIX only, and only needed here

    out: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            # struct ifreq: the name in 16 bytes, then a struct sockaddr_in, whose address
            # sits at offset 4 (after family and port): bytes 20..24 of the answer.
            request = struct.pack("256s", name.encode()[: IFNAMSIZ - 1])
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # no IPv4 address on this interface (EADDRNOTAVAIL)
            out.append(socket.inet_ntoa(answer[IFNAMSIZ + 4 : IFNAMSIZ + 8]))
    return out
