"""Local Network Access: what Chrome (142 and later) does before CORS when a page reaches a
server in a more private address space than its own.

Sources: the Local Network Access draft (https://wicg.github.io/local-network-access/), Chrome's
"New permission prompt for Local Network Access" (developer.chrome.com/blog/local-network-access)
and the chromestatus entry 5152728072060928.  Address spaces form a lattice public -> local ->
loopback; a request is a local network request when its target is more private than the page:
public->local, public->loopback, local->loopback.  Then, before any CORS check:

- a secure-context page (https:, or a potentially trustworthy http://localhost page) makes the
  browser ask the user for the permission (`local-network` for a local target, `loopback-network`
  for loopback; Chrome 145 split the single `local-network-access`, which stays an alias); a
  refusal fails the fetch exactly like a network error;
- an insecure page cannot ask: the request fails without a prompt;
- in an iframe, the embedding page must delegate the permission (`allow="loopback-network"`, or
  `Permissions-Policy: loopback-network=(...)`), else the request fails.

Private Network Access preflights (`Access-Control-Request-Private-Network`) are no longer sent
by Chrome 142 and later; older Chromium versions still send them.  The server answering them
(`--allow-private-network`) is kept for those.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum

from ..errors import ConfigError
from .origins import is_loopback_host, parse_request_origin

CHROME_LNA = 142  # the first Chrome that asks the user instead of sending PNA preflights


class Space(IntEnum):
    """IP address spaces, most private first (the order is the lattice)."""

    LOOPBACK = 0
    LOCAL = 1
    PUBLIC = 2

    @property
    def word(self) -> str:
        return self.name.lower()


SPACES = tuple(s.word for s in Space)
_LOCAL_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
)  # RFC 1918 §3 private ranges, and link-local (RFC 3927)
_PUBLIC_V6 = (ipaddress.IPv6Network("2000::/3"), ipaddress.IPv6Network("ff00::/8"))


def parse_space(text: str, flag: str) -> Space:
    if text not in SPACES:
        raise ConfigError(
            f"{flag} {text!r} is not an address space: use one of {', '.join(SPACES)}"
        )
    return Space[text.upper()]


def space_of_host(host: str) -> tuple[Space | None, str]:
    """The address space of `host` (an origin's host or a listen address) and how it was told;
    None for a DNS name, whose space is that of the address it resolves to (which only the
    browser learns).

    IP literals are classified as the draft and Chrome do (loopback 127.0.0.0/8 and ::1; local:
    RFC 1918, link-local, and IPv6 outside 2000::/3 and ff00::/8, IPv4-mapped by the mapped
    address); `localhost` names are loopback and `.local` (mDNS) names local.
    """
    bare = host.strip("[]").rstrip(".")
    if is_loopback_host(host.rstrip(".")):
        return Space.LOOPBACK, "a loopback host"
    try:
        addr = ipaddress.ip_address(bare)
    except ValueError:
        if bare.endswith(".local"):
            return Space.LOCAL, "an mDNS .local name"
        return None, "a DNS name: the address it resolves to decides"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_unspecified:
        return Space.LOCAL, "every interface: another device reaches it over the local network"
    if addr.is_loopback:
        return Space.LOOPBACK, "a loopback address"
    if isinstance(addr, ipaddress.IPv4Address):
        private = any(addr in net for net in _LOCAL_V4)
    else:
        private = not any(addr in net for net in _PUBLIC_V6)
    if private:
        return Space.LOCAL, "a local-network address"
    return Space.PUBLIC, "a public address"


def is_secure_origin(origin: str) -> bool:
    """Whether a page of `origin` is a secure context (HTML §"secure context", Secure Contexts
    §"potentially trustworthy origin": https/wss, or a loopback host such as http://localhost)."""
    parsed = parse_request_origin(origin)
    if isinstance(parsed, str):
        return False  # `null` (opaque) or not an origin: not potentially trustworthy
    return parsed.scheme in ("https", "wss") or is_loopback_host(parsed.host)


def assess_query(origin: str, page: str | None, target: str | None, server_host: str) -> LnaVerdict:
    """`assess` for `minicors check`: the page's space from --page-address-space or its
    origin; the server's from --target-address-space or the address minicors listens on."""
    page_space = None if page is None else parse_space(page, "--page-address-space")
    if target is not None:
        target_space, why = parse_space(target, "--target-address-space"), "as given"
    else:
        found, why = space_of_host(server_host)
        # A name minicors listens on resolves on this machine: most often to loopback.
        target_space = Space.LOOPBACK if found is None else found
        why = f"listening on {server_host}: {why}"
    return assess(origin, page=page_space, target=target_space, target_why=why)


REFUSED_LINES = (
    "reason: local network access: an insecure page cannot ask for a more private address "
    "space, so the browser fails the request before CORS",
    "fix: serve the page over https:// (a secure context can ask the user), or from the same "
    "address space as the server",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LnaVerdict:
    page: Space | None  # None: a DNS name, whose address decides
    target: Space
    lines: tuple[str, ...]  # what the report says, before CORS
    blocked: bool  # the browser fails the request without asking (insecure page)
    prompt: str | None  # the permission the user is asked for, when asked


def assess(origin: str, *, page: Space | None, target: Space, target_why: str) -> LnaVerdict:
    """What Chrome >= 142 does with a fetch from a page of `origin` (in `page`'s space, or the
    one its host names) to a server in `target`'s space."""
    page_why = "as given by --page-address-space"
    if page is None:
        parsed = parse_request_origin(origin)
        if isinstance(parsed, str):
            # `null`: a sandboxed or file: document; its address and context are not in it.
            page_why = "null is an opaque origin: its document's address decides"
        else:
            page, page_why = space_of_host(parsed.host)
            page_why = page_why if page is not None else f"{parsed.host} is {page_why}"
    server = f"server {target.word} ({target_why})"
    if page is None:
        # Unknown until resolved: say both outcomes; the verdict stays CORS's.
        cases = [s for s in Space if s > target]
        if not cases:
            return _verdict(None, target, (f"local network access: {server}: nothing to ask",))
        worse = " or ".join(s.word for s in cases)
        what = _permission_lines(origin, target)[0] if is_secure_origin(origin) else _INSECURE
        if origin == "null":  # a secure context or not, as the document that made it
            what = (
                f"{_permission_lines(origin, target)[0].strip()}, if the document is a secure "
                "context; otherwise the request fails without asking"
            )
        maybe: tuple[str, ...] = (
            f"local network access: page {page_why}; {server}",  # (a DNS name)
            f"  if the page's address is {worse} (--page-address-space): {what.strip()}",
        )
        return _verdict(None, target, maybe)
    head = f"local network access: page {page.word} ({page_why}), {server}"
    if target >= page:
        return _verdict(page, target, (f"{head}: not a local network request",))
    if not is_secure_origin(origin):
        return _verdict(page, target, (head, _INSECURE), blocked=True)
    lines = (head, *_permission_lines(origin, target))
    return _verdict(page, target, lines, prompt=_permission(target))


_INSECURE = (
    f"  browser (Chrome {CHROME_LNA}+): fails the request before CORS, without asking: "
    "only a secure context (https:) may ask for local network access"
)


def _permission(target: Space) -> str:
    return "loopback-network" if target is Space.LOOPBACK else "local-network"


def _permission_lines(origin: str, target: Space) -> tuple[str, ...]:
    permission = _permission(target)
    return (
        f"  browser (Chrome {CHROME_LNA}+): asks the user for the '{permission}' permission "
        "before CORS; if refused, the fetch fails as a network error",
        f"  in an iframe: the embedding page must delegate it (Permissions Policy): <iframe "
        f'allow="{permission}"> ("local-network-access" before Chrome 145)',
        "  older Chromium: a Private Network Access preflight instead "
        "(Access-Control-Request-Private-Network), answered with --allow-private-network",
    )


def _verdict(
    page: Space | None,
    target: Space,
    lines: tuple[str, ...],
    *,
    blocked: bool = False,
    prompt: str | None = None,
) -> LnaVerdict:
    return LnaVerdict(page=page, target=target, lines=lines, blocked=blocked, prompt=prompt)
