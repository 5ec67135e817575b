"""Step 6, IP rule: resolve the caller's address behind trusted proxies, check the client's list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from puhui.errors import InvalidRequest, ProblemError
from puhui.gateway.client_profiles import ClientProfile
from puhui.gateway.steps.problems import IP_NOT_ALLOWED
from puhui.security.iprules import ForwardedForInvalid, TrustedProxies

if TYPE_CHECKING:
    from litestar.types import Scope

__all__ = ["check_ip", "client_address"]


def client_address(scope: Scope, headers: dict[str, str], proxies: TrustedProxies) -> str:
    """The caller's IP: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy."""
    peer = (scope.get("client") or ("0.0.0.0", 0))[0]  # noqa: S104 - only when the server gives none
    try:
        return str(proxies.client_ip(peer, headers.get("x-forwarded-for")))
    except ForwardedForInvalid:
        raise InvalidRequest("X-Forwarded-For holds an entry that is not an IP address.") from None
    except ValueError:  # a test transport or unix socket peer that is not an address
        return peer


def check_ip(profile: ClientProfile, address: str) -> None:
    """JR/T 0185: a client calls only from its registered networks (IPv4 and IPv6 CIDRs)."""
    rule = profile.ip_allowlist
    if rule is None:
        return
    try:
        permitted = rule.permits(address)
    except ValueError:
        permitted = False
    if not permitted:
        raise ProblemError(problem=IP_NOT_ALLOWED)
