"""The embedded PostgreSQL's lock file: a live server's is never touched, a dead one's is cleared."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from core.errors import StackConflict
from services.postgres import live_postmaster, start_postgres
from services.process import terminate
from services.stack import Stack

pytestmark = pytest.mark.integration


def _write_pid_file(pgdata: Path, pid: int, port: int) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    (pgdata / "postmaster.pid").write_text(f"{pid}\n{pgdata}\n0\n{port}\n/tmp\n127.0.0.1\n0 0\nready\n")


def test_a_lock_file_of_a_dead_or_recycled_pid_names_no_live_server(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _write_pid_file(tmp_path, dead.pid, 5432)
    assert live_postmaster(tmp_path) is None
    _write_pid_file(tmp_path, os.getpid(), 5432)  # alive, but not a postgres: a recycled pid
    assert live_postmaster(tmp_path) is None


def test_a_second_start_on_a_live_data_dir_refuses_and_leaves_the_server_alone(stack: Stack) -> None:
    pgdata = stack.settings.data_dir / "pgdata"
    before = (pgdata / "postmaster.pid").read_text()
    holder = live_postmaster(pgdata)
    assert holder == (stack.components["postgres"].pid, stack.components["postgres"].port)
    with pytest.raises(StackConflict, match="in use by a server"):
        start_postgres(stack.settings.data_dir)
    assert (pgdata / "postmaster.pid").read_text() == before
    assert asyncio.run(_select_one(stack.database_url)) == 1


def test_a_lock_file_left_by_a_killed_server_is_cleared(tmp_path: Path) -> None:
    handle = start_postgres(tmp_path)
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    terminate(handle.pid)
    # As a kill -9 leaves it, after its pid went to another program (which postgres takes for a live owner).
    recycled = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    _write_pid_file(tmp_path / "pgdata", recycled.pid, handle.port)
    again = start_postgres(tmp_path)
    recycled.kill()
    recycled.wait()
    try:
        assert pid_file.read_text().splitlines()[0] == str(again.pid)
        assert asyncio.run(_select_one(again.url)) == 1
    finally:
        terminate(again.pid)
    shutil.rmtree(tmp_path / "pgdata", ignore_errors=True)


async def _select_one(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("select 1"))
    finally:
        await conn.close()


async def test_embedded_postgres_listens_on_loopback_only(database_url: str) -> None:
    """Its trust auth is for this machine's development stack: nothing off the host may reach it."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await conn.close()
