"""Who is the client: the TCP peer, or what trusted proxies say in X-Forwarded-For.

Only a peer inside WEB_TRUSTED_PROXIES may speak for someone else. Each proxy appends the address it
received from, so the list is read from the right, skipping trusted hops: the first untrusted address is
the client (anything left of it was written by that client and proves nothing). A malformed entry stops
the walk at the last trusted hop: its writer cannot be told apart from a liar.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from core.web_settings import Network


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def is_trusted(address: str, trusted: Iterable[Network]) -> bool:
    ip = _parse(address)
    return ip is not None and any(ip in network for network in trusted)


def client_address(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The client's address given the TCP peer and every X-Forwarded-For header line, in order."""
    if peer is None:
        return "unknown"
    if not trusted or not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for line in forwarded_for for hop in line.split(",") if hop.strip()]
    current = peer
    for hop in reversed(hops):
        if _parse(hop) is None:
            return current
        current = hop
        if not is_trusted(hop, trusted):
            return hop
    return current  # every hop trusted: the leftmost is as far as anyone vouches


def is_loopback(address: str) -> bool:
    ip = _parse(address)
    return ip is not None and ip.is_loopback
