"""Who the client is (X-Forwarded-For only from trusted proxies, read from the right) and which budget a
request counts against."""

from __future__ import annotations

import ipaddress

import pytest

from web.api.client_address import client_address
from web.api.ratelimit import group_of

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


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("POST", "/api/v1/auth/nonce", "auth"),
        ("GET", "/api/v1/auth/me", "default"),
        ("POST", "/api/v1/system/halt", "kill_switch"),
        ("GET", "/api/v1/system/status", "default"),
        ("POST", "/api/v1/portfolio/rebalance", "orders"),
        ("GET", "/api/v1/portfolio", "portfolio"),
        ("PUT", "/api/v1/strategy", "strategy"),
        ("POST", "/api/v1/strategy/test", "strategy"),
        ("GET", "/api/v1/market-data", "market_data"),
        ("GET", "/docs", "default"),
        ("GET", "/docs-assets/swagger-ui.css", None),
        ("GET", "/static/app.js", None),
        ("GET", "/metrics", None),
    ],
)
def test_endpoint_budgets(method: str, path: str, group: str | None) -> None:
    assert group_of(method, path) == group
