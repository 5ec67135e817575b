"""CIDR allow-lists and client IP resolution behind trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest

from puhui.security.iprules import ForwardedForInvalid, IpAllowList, TrustedProxies, parse_ip


def test_allow_list_admits_v4_and_v6_members_only() -> None:
    allow = IpAllowList.parse(["203.0.113.0/24", "2001:db8:abcd::/48"])
    assert allow.permits("203.0.113.77")
    assert allow.permits("2001:db8:abcd:12::1")
    assert allow.permits("::ffff:203.0.113.5")  # IPv4-mapped IPv6 is the IPv4 client
    assert not allow.permits("203.0.114.1")
    assert not allow.permits("2001:db8:abce::1")
    assert not IpAllowList.parse([]).permits("203.0.113.1")


def test_allow_list_refuses_ambiguous_cidrs() -> None:
    with pytest.raises(ValueError, match="host bits"):
        IpAllowList.parse(["10.0.0.1/8"])


PROXIES = TrustedProxies.parse(["10.0.0.0/8", "fd00::/8"])


def test_header_is_ignored_when_the_peer_is_not_a_trusted_proxy() -> None:
    assert PROXIES.client_ip("198.51.100.9", "203.0.113.5") == parse_ip("198.51.100.9")


def test_walks_right_to_left_skipping_trusted_proxies() -> None:
    chain = "1.2.3.4, 203.0.113.5, 10.1.1.1, fd00::7"
    assert PROXIES.client_ip("10.0.0.2", chain) == ipaddress.ip_address("203.0.113.5")


def test_spoofed_leftmost_entries_never_win() -> None:
    spoofed = "127.0.0.1, 10.9.9.9, 198.51.100.20"
    assert PROXIES.client_ip("10.0.0.2", spoofed) == ipaddress.ip_address("198.51.100.20")


def test_all_trusted_hops_yield_the_leftmost_and_missing_header_the_peer() -> None:
    assert PROXIES.client_ip("10.0.0.2", "10.3.3.3, 10.4.4.4") == ipaddress.ip_address("10.3.3.3")
    assert PROXIES.client_ip("10.0.0.2", None) == ipaddress.ip_address("10.0.0.2")


def test_garbage_from_a_trusted_proxy_is_an_error() -> None:
    with pytest.raises(ForwardedForInvalid):
        PROXIES.client_ip("10.0.0.2", "203.0.113.5, not-an-ip")
