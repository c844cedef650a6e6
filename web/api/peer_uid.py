"""Which local user opened a loopback TCP connection: Linux's `/proc/net/tcp{,6}` name each socket's
owner, so the API can tell its own user's browser from another account's process on the same machine.

The client end of a connection to us is the row whose local address is the peer's address and port and
whose remote address is ours; its `uid` column is the owner. Only loopback peers are looked up (a remote
peer's socket is not in this machine's table).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

PROC_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(field: str) -> tuple[Address, int]:
    """`0100007F:1F90` -> (127.0.0.1, 8080): the kernel prints each 32-bit word in host (little-endian)
    order, then the port in hex."""
    host_hex, _, port_hex = field.partition(":")
    raw = bytes.fromhex(host_hex)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address, int(port_hex, 16)


def owner_uid(lines: Iterable[str], peer: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the socket `peer` -> `server` in the table's `lines` (header included), or None."""
    peer_addr, server_addr = _ip(peer[0]), _ip(server[0])
    for line in lines:
        cols = line.split()
        if len(cols) < 8 or cols[0] == "sl":
            continue
        try:
            local, remote = parse_address(cols[1]), parse_address(cols[2])
        except ValueError:
            continue
        if local == (peer_addr, peer[1]) and remote[1] == server[1] and _same_host(remote[0], server_addr):
            return int(cols[7])
    return None


def peer_uid(
    peer: tuple[str, int], server: tuple[str, int], tables: Iterable[Path] = PROC_TABLES
) -> int | None:
    """The local user behind a loopback connection, or None when no table names it (not Linux, or gone)."""
    for table in tables:
        try:
            text = table.read_text()
        except OSError:
            continue
        uid = owner_uid(text.splitlines(), peer, server)
        if uid is not None:
            return uid
    return None


def _ip(text: str) -> Address:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _same_host(seen: Address, ours: Address) -> bool:
    # A server bound to 0.0.0.0 or :: reports that as its address; the client's row names the real one.
    return seen == ours or ours.is_unspecified
