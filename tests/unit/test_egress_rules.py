"""The one egress rule the URL arguments and the egress proxy share."""

from __future__ import annotations

import ipaddress

import pytest

from kubehelm_mcp.egress.rules import internal_reason, refusal, resolve


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("168.63.129.16", "a cloud metadata address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64
        ("2002:a9fe:a9fe::", "a cloud metadata address"),  # 6to4
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("100.127.255.254", "a shared (carrier-grade NAT) address"),
        ("127.0.0.3", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("64:ff9b::7f00:1", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104
        ("0.1.2.3", "a private address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("10.0.0.1", "a private address"),
        ("fc00::1", "a private address"),
        ("224.0.0.251", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("192.0.2.10", "a private address"),
        ("fec0::1", "a site-local address"),
    ],
)
def test_internal_addresses(address: str, reason: str) -> None:
    assert internal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "2002:5db8:d70e::"])
def test_public_addresses(address: str) -> None:
    assert internal_reason(ipaddress.ip_address(address)) is None


def test_names_under_localhost_are_loopback_without_a_lookup() -> None:
    assert resolve("Allowed.LOCALHOST.") == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


def test_allowed_hosts_by_name_or_network() -> None:
    loopback = [ipaddress.ip_address("127.0.0.3")]
    refused = refusal("x.localhost", loopback, ())
    assert refused is not None and refused.sentence("host x") == (
        "host x is a loopback address (127.0.0.3), refused unless --allowed-hosts permits it"
    )
    assert refusal("x.localhost", loopback, ("*.localhost",)) is None
    assert refusal("x.localhost", loopback, ("127.0.0.0/29",)) is None
    assert refusal("x.localhost", loopback, ("127.0.0.2",)) is not None
