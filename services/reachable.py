"""A TCP connect to an external component before a command leans on it.

Without it the first symptom of a wrong URL is whatever the client library does with a refused
connection: a worker concluded "broker has no transactions", `topics list` printed aiokafka's own error
lines and a traceback. One connect with a short timeout names the setting and the cause instead.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from core.config import mask_url
from core.errors import ServiceError

DEFAULT_PORTS = {"kafka": 9092, "aiokafka": 9092, "postgresql": 5432, "postgres": 5432, "redis": 6379}


def endpoints(url: str) -> list[tuple[str, int]]:
    """host:port pairs of a URL (a broker URL may list several, comma-separated); none for a socket path."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme, 0)
    hosts = parts.netloc.rsplit("@", 1)[-1]
    found = []
    for host in hosts.split(","):
        if not host:
            continue
        name, _, port = host.rpartition(":") if host.rfind(":") > host.rfind("]") else (host, "", "")
        try:
            found.append((name.strip("[]") or "127.0.0.1", int(port) if port else default))
        except ValueError:
            raise ServiceError(f"{mask_url(url)}: bad port {port!r}") from None
    return found


def require_reachable(setting: str, url: str, timeout_s: float = 3.0) -> None:
    """Return when one of the URL's hosts accepts a TCP connection, else raise one ServiceError line."""
    reasons = []
    for host, port in endpoints(url):
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return
        except OSError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
    if reasons:
        raise ServiceError(f"{setting} {mask_url(url)} is unreachable ({'; '.join(reasons)})")
