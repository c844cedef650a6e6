"""The stack file: liveness of a recorded server (real processes), the lock, the record round trip."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.process import start_time, terminate
from services.stack_file import (
    Component,
    Liveness,
    liveness,
    locked,
    read_state,
    started_component,
    write_state,
)

LISTEN = (
    "import socket, sys, time\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "time.sleep(120)\n"
)


@pytest.fixture
def server() -> Iterator[tuple[int, int]]:
    """(pid, port) of a real process listening on a loopback port."""
    proc = subprocess.Popen([sys.executable, "-c", LISTEN], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    yield proc.pid, port
    proc.kill()
    proc.wait()


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def test_a_recorded_server_that_answers_is_running(server: tuple[int, int]) -> None:
    pid, port = server
    comp = started_component("redis", f"redis://127.0.0.1:{port}/0", pid, port, detached=False)
    assert comp.owner == os.getpid() and comp.since == start_time(pid)
    assert liveness(comp) is Liveness.RUNNING
    detached = started_component("redis", "u", pid, port, detached=True)
    assert detached.owner is None and liveness(detached) is Liveness.RUNNING


def test_a_dead_or_recycled_pid_is_gone(server: tuple[int, int]) -> None:
    pid, port = server
    dead = _sleeper()
    dead.kill()
    dead.wait()
    assert liveness(Component("redis", "u", pid=dead.pid, port=port)) is Liveness.GONE
    since = start_time(pid)
    assert since is not None
    recycled = Component("redis", "u", pid=pid, port=port, since=since + 1)  # same pid, another process
    assert liveness(recycled) is Liveness.GONE
    assert liveness(Component("redis", "u")) is Liveness.GONE  # external: no process of ours


def test_a_server_whose_owner_was_killed_is_orphaned(server: tuple[int, int]) -> None:
    pid, port = server
    owner = _sleeper()
    comp = Component("postgres", "u", pid=pid, port=port, since=start_time(pid), owner=owner.pid)
    comp.owner_since = start_time(owner.pid)
    assert liveness(comp) is Liveness.RUNNING
    owner.kill()
    owner.wait()
    assert liveness(comp) is Liveness.ORPHANED


def test_a_live_server_that_does_not_answer_is_silent() -> None:
    quiet = _sleeper()
    try:
        from services.process import free_port

        comp = Component("postgres", "u", pid=quiet.pid, port=free_port(), since=start_time(quiet.pid))
        assert liveness(comp) is Liveness.SILENT
    finally:
        terminate(quiet.pid)


def test_records_round_trip_and_an_empty_stack_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "services.json"
    comps = {"redis": Component("redis", "redis://x", pid=1, port=2, since=3, owner=4, owner_since=5)}
    write_state(path, comps)
    assert read_state(path) == comps
    path.write_text("{not json")
    assert read_state(path) == {}
    path.write_text('{"redis": {"unknown_field": 1}}')
    assert read_state(path) == {}
    write_state(path, {})
    assert not path.exists()


HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from services.stack_file import locked\n"
    "with locked(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(float(sys.argv[2]))\n"
)


def test_the_lock_makes_a_second_command_wait(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "1.5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    t0 = time.monotonic()
    with locked(tmp_path):
        waited = time.monotonic() - t0
    holder.wait()
    assert waited > 0.5


def test_the_lock_of_a_killed_holder_is_free_at_once(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "60"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    t0 = time.monotonic()
    with locked(tmp_path):
        assert time.monotonic() - t0 < 1.0
