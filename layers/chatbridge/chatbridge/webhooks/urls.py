"""Which URLs a subscription may point at: the SSRF guard.

Deployed (`public`): https only, and every address the host resolves to must be a public one, so
never loopback (the Lambda runtime API listens there), private, shared (100.64/10), link-local (the
instance metadata address 169.254.169.254), unique-local (fc00::/7), multicast or reserved; IPv4
embedded in IPv6 (mapped, 6to4, Teredo) is judged as the IPv4 it carries. Local (`local`, the local
stack): http is allowed and so is loopback, nothing else. A URL is checked when a subscription is
created or changed, and again at every delivery, since DNS answers change: the delivery client also
checks the address it is about to connect to (chatbridge.webhooks.sender), so a name that resolved
to a public address a moment ago cannot lead a new connection to a private one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Policy = Literal["public", "local"]
Resolver = Callable[[str, int], list[str]]
MAX_URL_LENGTH = 2048
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")


class UnsafeUrlError(ValueError):
    """The URL may not receive deliveries; the message says why (and never echoes credentials)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_resolver: list[Resolver] = [system_resolver]


def set_resolver(resolver: Resolver | None) -> None:
    """Tests resolve names without DNS; None puts the system resolver back."""
    _resolver[0] = resolver or system_resolver


def resolve(host: str, port: int) -> list[str]:
    try:
        return _resolver[0](host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrlError(f"the host {host} does not resolve") from exc


def target_of(url: str, policy: Policy) -> Target:
    """The scheme, host and port of an acceptable URL (its syntax only)."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"a URL has at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError("not a valid URL") from exc
    allowed = ("https",) if policy == "public" else ("https", "http")
    if parts.scheme not in allowed:
        raise UnsafeUrlError("the URL must use https" if policy == "public" else "the URL must use http or https")
    if not parts.hostname:
        raise UnsafeUrlError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("credentials in the URL are not accepted: authenticate the signature instead")
    if parts.fragment:
        raise UnsafeUrlError("the URL must not have a fragment")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def _embedded(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if carried is not None:
            return carried
    return address


def refusal(address_text: str, policy: Policy) -> str | None:
    """Why an address may not be connected to, or None when it may."""
    try:
        address = _embedded(ipaddress.ip_address(address_text.split("%", 1)[0]))
    except ValueError:
        return f"{address_text} is not an IP address"
    if address.is_loopback:
        return None if policy == "local" else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if isinstance(address, ipaddress.IPv6Address) and address in UNIQUE_LOCAL:
        return "a unique-local address"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_reserved or address.is_unspecified or not address.is_global:
        return "an address that is not public"
    return None


def allowed_addresses(host: str, port: int, policy: Policy) -> list[str]:
    """The addresses `host` resolves to, all of which must be acceptable (one bad answer is enough
    to refuse: an attacker controls which of several answers a client picks)."""
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeUrlError(f"the host {host} does not resolve")
    for address in addresses:
        reason = refusal(address, policy)
        if reason:
            raise UnsafeUrlError(f"the host {host} resolves to {reason} ({address})")
    return addresses


def check_url(url: str, policy: Policy) -> Target:
    """Syntax and addresses: what a subscription's URL must pass when created and at each delivery."""
    target = target_of(url, policy)
    allowed_addresses(target.host, target.port, policy)
    return target
