"""The one egress rule: a host may be reached when every address it resolves to is public, or when
--allowed-hosts names the host or one of its addresses. The argument validators and the egress proxy
both decide with `refusal`, so a URL argument and a fetch helm makes later meet the same rule.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata and platform endpoints: AWS (IMDS v4/v6, ECS task and EKS pod identity agents),
# GCP/Azure/OpenStack/Oracle (169.254.169.254), Alibaba Cloud, Azure's WireServer (a public address).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "100.100.100.200",
        "168.63.129.16",
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; cloud providers put services here
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_LOOPBACK_NAMES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_KINDS = (
    ("is_loopback", "a loopback address"),
    ("is_unspecified", "an unspecified address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
    ("is_site_local", "a site-local address"),
)


class Unresolvable(Exception):
    """The host name has no address."""


@dataclass(frozen=True)
class Refusal:
    """Why a host may not be reached: the first address that is not public, and what it is."""

    reason: str
    address: Address

    def sentence(self, host: str) -> str:
        return f"{host} is {self.reason} ({self.address}), refused unless --allowed-hosts permits it"


def literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_localhost_name(host: str) -> bool:
    """'localhost' and every name under it (RFC 6761): loopback, whatever a DNS server might answer."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def resolve(host: str) -> list[Address]:
    """The addresses of a host (blocking: callers run it in a worker thread)."""
    found = literal(host)
    if found is not None:
        return [found]
    if is_localhost_name(host):
        return list(_LOOPBACK_NAMES)
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise Unresolvable(host) from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped, NAT64 (RFC 6052/8215) or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def internal_reason(address: Address) -> str | None:
    """What makes an address one a fetch may not reach by default, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return internal_reason(inner)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for attr, what in _KINDS:
        if getattr(address, attr, False):
            return what
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if not address.is_global:
        return "a special-purpose address"
    return None


def host_allowed(host: str, addresses: Iterable[Address], allowed_hosts: Iterable[str]) -> bool:
    """Whether --allowed-hosts names the host (a glob) or holds one of its addresses (a CIDR)."""
    addresses = list(addresses)
    for pattern in allowed_hosts:
        try:
            network = ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            if fnmatch.fnmatch(host.lower().rstrip("."), pattern.lower()):
                return True
            continue
        if any(address.version == network.version and address in network for address in addresses):
            return True
    return False


def refusal(host: str, addresses: list[Address], allowed_hosts: Iterable[str]) -> Refusal | None:
    """None when the host may be reached at these addresses; else why not."""
    if host_allowed(host, addresses, allowed_hosts):
        return None
    for address in addresses:
        reason = internal_reason(address)
        if reason:
            return Refusal(reason, address)
    return None
