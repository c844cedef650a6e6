"""One stack per data dir, as a user meets it: `solbot run` in one shell, `solbot web`, `db migrate`,
`retention` and `simulate` in others; a stack left by a kill -9; a foreign server on the data dir; two
workers started by hand. Every command is a real process on the real embedded servers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from core.settings import Settings
from services.postgres import start_postgres
from services.process import pid_alive, spawn, terminate
from services.stack import Stack
from services.stack_file import read_state
from services.web_ports import bindable
from solbot.runner import prepare
from tests.integration.conftest import FAST_ENV

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]  # ~40 s each on a quiet machine


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(FAST_ENV)
    env.update(extra)
    env["DATA_DIR"] = str(data_dir)
    return env


def _solbot(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "solbot.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


class Lines:
    """A child's output, read in a thread so its pipe never fills."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        assert proc.stdout is not None
        stream = proc.stdout
        threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True).start()

    def wait_for(self, pattern: str, timeout_s: float, after: int = 0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if re.search(pattern, line):
                    return line
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {''.join(self.lines)[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} within {timeout_s} s: {''.join(self.lines)[-3000:]}")

    def exit_code(self, timeout_s: float) -> int:
        """The child's exit code; its output (how far its shutdown got) if it has not exited in time."""
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout_s} s on: {''.join(self.lines)[-3000:]}") from None


@contextmanager
def _started(args: list[str], env: dict[str, str]) -> Iterator[Lines]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "solbot.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield Lines(proc)
    finally:
        if proc.poll() is None:
            terminate(proc.pid, timeout_s=20)


def _until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _select_one(url: str) -> int:
    async def go() -> int:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            return int(await conn.fetchval("select 1"))
        finally:
            await conn.close()

    return asyncio.run(go())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
def test_run_web_migrate_retention_and_simulate_share_one_stack(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _env(data_dir)
    with _started(["run", "--seed", "1", "--rate", "100"], env) as run:
        run.wait_for(r"worker 0: http", 90)
        recorded = read_state(data_dir / "services.json")
        assert set(recorded) == {"broker", "postgres", "redis"}
        assert {c.owner for c in recorded.values()} == {run.proc.pid}
        postgres = recorded["postgres"]
        pid_file = data_dir / "pgdata" / "postmaster.pid"
        lock = pid_file.read_text()
        assert lock.splitlines()[0] == str(postgres.pid)

        web_port = _free_port()
        with _started(["web", "--port", str(web_port)], env) as web:
            assert _until(lambda: _answers(f"http://127.0.0.1:{web_port}/docs"), 45), "".join(web.lines)
            assert any("reusing the broker, postgres, redis" in line for line in web.lines), web.lines
            # Side by side, all at once: they queue on the stack lock and all reuse the same servers.
            side = [["db", "migrate"], ["retention"], ["simulate", "--duration", "1", "--rate", "50"]]
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "solbot.cli", *args],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for args in side
            ]
            outs = [p.communicate(timeout=60) for p in procs]
            for args, p, (out, err) in zip(side, procs, outs, strict=True):
                assert p.returncode == 0, (args, out, err[-3000:])
            assert "nothing (schema up to date)" in outs[0][0]
            web.proc.send_signal(signal.SIGINT)
            assert web.exit_code(20) in (0, 130), "".join(web.lines)  # 130: Ctrl-C

        # The bot's stack is untouched by the commands that came and went.
        assert pid_file.read_text() == lock
        assert read_state(data_dir / "services.json") == recorded
        assert all(pid_alive(c.pid or 0) for c in recorded.values())
        assert _select_one(postgres.url) == 1
        seen = len(run.lines)
        run.wait_for(r"events=\d+", 15, after=seen)  # and it keeps trading
        assert run.proc.poll() is None
        run.proc.send_signal(signal.SIGINT)
        run.exit_code(40)
    assert not (data_dir / "services.json").exists()
    assert not any(pid_alive(c.pid or 0) for c in recorded.values())


def _crash(data_dir: Path, owner: subprocess.Popen[str], *, servers_too: bool) -> list[int]:
    """kill -9 the command that owns the stack (and, for a machine-wide crash, every server)."""
    recorded = read_state(data_dir / "services.json")
    pids = [c.pid for c in recorded.values() if c.pid]
    if servers_too:  # first, or the owner's death signal would let them shut down cleanly
        for pid in pids:
            os.killpg(pid, signal.SIGKILL)  # each server leads its own process group
        assert _until(lambda: not any(pid_alive(p) for p in pids), 10)
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    return pids


@pytest.mark.slow  # 33 s for both (`make test-slow`, CI runs it)
@pytest.mark.parametrize("servers_too", [False, True], ids=["owner-killed", "everything-killed"])
def test_a_stack_left_by_kill_9_is_recovered(tmp_path: Path, servers_too: bool) -> None:
    data_dir = tmp_path / "data"
    env = _env(data_dir)
    web_port = _free_port()
    with _started(["web", "--port", str(web_port)], env) as web:
        assert _until(lambda: _answers(f"http://127.0.0.1:{web_port}/docs"), 60), "".join(web.lines)
        old = _crash(data_dir, web.proc, servers_too=servers_too)
    assert (data_dir / "services.json").exists()  # stale now
    if servers_too:
        assert (data_dir / "pgdata" / "postmaster.pid").exists()  # as a killed postmaster leaves it
    res = _solbot(["db", "migrate"], env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "applied" in res.stdout
    assert not any(pid_alive(p) for p in old)
    assert not (data_dir / "services.json").exists()  # migrate started its own stack and stopped it


def test_a_foreign_server_on_the_data_dir_is_one_line_and_left_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    foreign = start_postgres(data_dir)  # started outside any stack: nothing records it
    try:
        pid_file = data_dir / "pgdata" / "postmaster.pid"
        lock = pid_file.read_text()
        env = _env(data_dir, BROKER_URL="kafka://127.0.0.1:1", REDIS_URL="redis://127.0.0.1:1/0")
        res = _solbot(["db", "migrate"], env)
        assert res.returncode == 3
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "in use by a server" in lines[0] and str(foreign.pid) in lines[0], (
            res.stderr
        )
        assert pid_file.read_text() == lock
        assert _select_one(foreign.url) == 1
    finally:
        terminate(foreign.pid)


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
def test_two_workers_started_by_hand_both_serve_their_web_view(
    tmp_path: Path, fresh_settings: Settings, fresh_stack: Stack
) -> None:
    asyncio.run(prepare(fresh_settings, fresh_stack))
    base = next(
        p for p in range(21000, 31000, 89) if bindable("127.0.0.1", p) and bindable("127.0.0.1", p + 1)
    )
    env = _env(tmp_path / "by-hand", WORKER_WEB_PORT=str(base), **fresh_stack.env())
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    procs = [
        spawn([sys.executable, "-m", "solbot.cli", "worker"], log_path=log, detached=False, env=env)
        for log in logs
    ]
    try:
        urls: list[str] = []
        for log in logs:
            assert _until(lambda log=log: "worker web view on" in log.read_text(), 30), log.read_text()[
                -2000:
            ]
            found = re.search(r"worker web view on (http://\S+)", log.read_text())
            assert found is not None
            urls.append(found.group(1))
        assert sorted(urls) == [f"http://127.0.0.1:{base}/status/", f"http://127.0.0.1:{base + 1}/status/"]
        for url in urls:
            assert _until(lambda url=url: _answers(url), 60), url
        assert all(p.poll() is None for p in procs)
    finally:
        for proc in procs:
            terminate(proc.pid, timeout_s=15)
