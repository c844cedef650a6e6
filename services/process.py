"""Child-process handling shared by the embedded services: start, wait until ready, stop for sure."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import ServiceError

_PR_SET_PDEATHSIG = 1


def die_with_parent(death_signal: int = signal.SIGTERM) -> Callable[[], None]:
    """What runs in the child before exec: ask the kernel to signal us when our parent exits."""

    def prepare() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, death_signal)
        os.setpgrp()

    return prepare


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    detached: bool,
    user: str | None = None,
    env: dict[str, str] | None = None,
    death_signal: int = signal.SIGTERM,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start a server. Attached children die with us (PDEATHSIG: `death_signal`); detached ones get their
    own session.

    Must be called from the main thread: the kernel ties PDEATHSIG to the thread that forked.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if detached else die_with_parent(death_signal),
            start_new_session=detached,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            env=env,
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise ServiceError(f"cannot start {argv[0]}: {exc}") from None
    finally:
        log.close()


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    proc: subprocess.Popen[bytes] | None,
    log_path: Path | None = None,
) -> None:
    """Poll `ready` until it holds; fail fast, with the log's tail, if the child exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode} during start-up{_tail(log_path)}")
        if ready():
            return
        time.sleep(0.05)
    raise ServiceError(f"{what} was not ready within {timeout_s:.0f} s{_tail(log_path)}")


def _tail(log_path: Path | None) -> str:
    if log_path is None or not log_path.exists():
        return ""
    lines = log_path.read_text(errors="replace").strip().splitlines()[-3:]
    return (": " + " | ".join(lines)) if lines else ""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks after boot): with the pid, it names one process for good."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[-1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def same_process(pid: int, since: int | None) -> bool:
    """`pid` is alive and is still the process that started at `since` (not a recycled pid)."""
    if not pid_alive(pid):
        return False
    return since is None or start_time(pid) == since


def process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def terminate(pid: int, *, timeout_s: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Stop a process (and its process group when it leads one): signal, wait, then SIGKILL."""
    targets = [pid]
    try:
        if os.getpgid(pid) == pid:
            targets = [-pid]
    except ProcessLookupError:
        return
    for target in targets:
        try:
            os.kill(target, sig)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    for target in targets:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _reap(pid)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
