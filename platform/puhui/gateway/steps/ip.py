"""Step 6, IP rule: resolve the caller's address behind trusted proxies, check the client's list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from puhui.errors import InvalidRequest, ProblemError
from puhui.gateway.client_profiles import ClientProfile
from puhui.gateway.steps.problems import IP_NOT_ALLOWED
from puhui.security.iprules import ForwardedForInvalid, TrustedProxies

if TYPE_CHECKING:
    from litestar.types import Scope

__all__ = ["check_ip", "client_address"]

# Resolved addresses by exact (peer, X-Forwarded-For) text: the same few peers call again and
# again, and parsing plus formatting an address costs more than the lookup. Each entry keeps the
# TrustedProxies it was resolved under and is used only with that same object. Bounded in
# entries and in the length of the header text it keeps.
_resolved: dict[tuple[str, str | None], tuple[TrustedProxies, str]] = {}
_MAX_RESOLVED: Final = 4096
_MAX_CACHED_FORWARDED: Final = 256


def client_address(scope: Scope, headers: dict[str, str], proxies: TrustedProxies) -> str:
    """The caller's IP: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy."""
    peer = (scope.get("client") or ("0.0.0.0", 0))[0]  # noqa: S104 - only when the server gives none
    forwarded = headers.get("x-forwarded-for")
    key = (peer, forwarded)
    hit = _resolved.get(key)
    if hit is not None and hit[0] is proxies:
        return hit[1]
    try:
        address = str(proxies.client_ip(peer, forwarded))
    except ForwardedForInvalid:
        raise InvalidRequest("X-Forwarded-For holds an entry that is not an IP address.") from None
    except ValueError:  # a test transport or unix socket peer that is not an address
        return peer
    if forwarded is None or len(forwarded) <= _MAX_CACHED_FORWARDED:
        if len(_resolved) >= _MAX_RESOLVED:
            _resolved.clear()
        _resolved[key] = (proxies, address)
    return address


def check_ip(profile: ClientProfile, address: str) -> None:
    """JR/T 0185: a client calls only from its registered networks (IPv4 and IPv6 CIDRs)."""
    if not profile.permits_ip(address):
        raise ProblemError(problem=IP_NOT_ALLOWED)
