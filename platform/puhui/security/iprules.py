"""Per-client CIDR allow-lists and client-IP resolution behind trusted proxies (JR/T 0185)."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "ForwardedForInvalid",
    "IpAddress",
    "IpAllowList",
    "TrustedProxies",
    "parse_ip",
]

IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class ForwardedForInvalid(ValueError):
    """X-Forwarded-For from a trusted proxy holds an entry that is not an IP address."""


def parse_ip(text: str) -> IpAddress:
    """Parse an address; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the IPv4 address it carries."""
    return _parse_ip(text.strip())


@functools.lru_cache(maxsize=4096)  # a worker sees few distinct peers; parsing costs ~5 µs
def _parse_ip(text: str) -> IpAddress:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _networks(cidrs: Iterable[str]) -> tuple[IpNetwork, ...]:
    # strict: `10.0.0.1/8` (host bits set) is a configuration mistake, not a network.
    return tuple(ipaddress.ip_network(cidr.strip(), strict=True) for cidr in cidrs)


@functools.lru_cache(maxsize=8192)  # (rule, address) pairs repeat on every call of a client
def _contains(networks: tuple[IpNetwork, ...], address: IpAddress) -> bool:
    return any(address.version == net.version and address in net for net in networks)


@dataclass(frozen=True, slots=True)
class IpAllowList:
    """The source networks a client may call from; an empty list admits nobody."""

    networks: tuple[IpNetwork, ...]

    @classmethod
    def parse(cls, cidrs: Iterable[str]) -> IpAllowList:
        return cls(_networks(cidrs))

    def permits(self, address: IpAddress | str) -> bool:
        addr = parse_ip(address) if isinstance(address, str) else address
        return _contains(self.networks, addr)


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """Proxies whose X-Forwarded-For we believe; everything else is the client itself."""

    networks: tuple[IpNetwork, ...]

    @classmethod
    def parse(cls, cidrs: Iterable[str]) -> TrustedProxies:
        return cls(_networks(cidrs))

    def is_trusted(self, address: IpAddress) -> bool:
        return _contains(self.networks, address)

    def client_ip(self, peer: str | IpAddress, forwarded_for: str | None) -> IpAddress:
        """The caller's address: walk X-Forwarded-For right to left, skipping trusted proxies.

        The header is ignored entirely when the TCP peer is not a trusted proxy, since any
        client can send it. Multiple header lines must be joined with "," by the caller.
        """
        current = parse_ip(peer) if isinstance(peer, str) else peer
        if not forwarded_for or not self.is_trusted(current):
            return current
        for entry in reversed(forwarded_for.split(",")):
            text = entry.strip()
            if not text:
                continue
            try:
                current = parse_ip(text)
            except ValueError as exc:
                raise ForwardedForInvalid("X-Forwarded-For holds a non-address entry") from exc
            if not self.is_trusted(current):
                return current
        return current  # every hop is a trusted proxy: the leftmost is the origin
