"""Who the client is: X-Forwarded-For only from trusted proxies, read from the right."""

from __future__ import annotations

import ipaddress

import pytest

from web.api.client_address import client_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("127.0.0.1", ["6.6.6.6"], (), "127.0.0.1"),  # nothing trusted: the header is a claim
        ("203.0.113.5", ["6.6.6.6"], PROXIES, "203.0.113.5"),  # untrusted peer: ignored
        ("10.0.0.2", ["198.51.100.7"], PROXIES, "198.51.100.7"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.7"], PROXIES, "198.51.100.7"),  # the spoofed left part is skipped
        ("10.0.0.2", ["6.6.6.6", "198.51.100.7, 10.0.0.9"], PROXIES, "198.51.100.7"),  # two header lines
        ("10.0.0.2", ["198.51.100.7, not-an-ip, 10.0.0.9"], PROXIES, "10.0.0.9"),  # stop at a malformed hop
        ("10.0.0.2", [], PROXIES, "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.3, 127.0.0.1"], PROXIES, "10.0.0.3"),  # all trusted: the leftmost
        (None, ["6.6.6.6"], PROXIES, "unknown"),
    ],
)
def test_client_address(
    peer: str | None, forwarded: list[str], trusted: tuple[ipaddress.IPv4Network, ...], client: str
) -> None:
    assert client_address(peer, forwarded, trusted) == client
