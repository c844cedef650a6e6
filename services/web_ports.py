"""A web port for each worker started by hand: the first free one from the base port up.

`solbot worker &` twice must give two workers, not one and an `address already in use`. Each worker claims
its port with an exclusive lock on a per-user claim file it holds for its whole life, and takes it only if
nothing else listens there; so workers started at the same instant never pick the same port, and the first
one keeps the documented port (6066).
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import ServiceError
from services.process import free_port

SPAN = 64  # ports tried from the base port up


@dataclass
class PortClaim:
    """A port this process holds until `release()` or its exit (the kernel drops the lock)."""

    port: int
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def claims_dir() -> Path:
    """Machine-wide (ports are), one per user (so no one else's files get in the way)."""
    path = Path(tempfile.gettempdir()) / f"solbot-{os.getuid()}-web-ports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def bindable(host: str, port: int) -> bool:
    """Nothing listens on (host, port); TIME_WAIT is no obstacle (aiohttp binds with SO_REUSEADDR too)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _claim(port: int, where: Path) -> int | None:
    fd = os.open(where / f"{port}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def claim_web_port(base: int, host: str = "127.0.0.1", *, where: Path | None = None) -> PortClaim:
    """The first port from `base` that no other worker claimed and nothing listens on; 0: any free one."""
    where = where or claims_dir()
    candidates = [free_port() for _ in range(SPAN)] if base == 0 else range(base, min(base + SPAN, 65536))
    for port in candidates:
        fd = _claim(port, where)
        if fd is None:
            continue
        if bindable(host, port):
            return PortClaim(port, fd)
        os.close(fd)
    last = base + SPAN - 1 if base else 0
    raise ServiceError(f"no free worker web port in {base}..{last} on {host}; set WORKER_WEB_PORT")
