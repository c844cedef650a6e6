"""`solbot run` restarts a worker that dies (SIGKILL here, as the OOM killer would), and the run trades on:
orders keep filling after the restart, and the summary counts it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.integration.conftest import FAST_ENV

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]


def _worker(data_dir: Path, index: int) -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = proc.info["cmdline"] or []
            env = proc.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "worker" in cmd and env.get("DATA_DIR") == str((data_dir / f"worker-{index}").resolve()):
            return proc
    return None


def _fills(lines: list[str]) -> int:
    found = [int(m.group(1)) for line in lines if (m := re.search(r"\] events=\d+ .* fills=(\d+) ", line))]
    return found[-1] if found else 0


def test_a_killed_worker_is_restarted_and_the_run_trades_on(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(FAST_ENV)
    env.update({"DATA_DIR": str(data_dir), "WORKER_RESTART_BACKOFF_S": "0.5"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "solbot.cli", "run", "--duration", "100", "--seed", "1", "--rate", "300"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Both pipes are drained by threads of their own: `communicate()` beside a reader of stdout raced it
    # for the last lines, and took the summary away from `lines` when it won.
    lines: list[str] = []
    errors: list[str] = []
    readers = [
        threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: errors.extend(iter(proc.stderr.readline, "")), daemon=True),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()

    def wait_for(what: str, ok: object, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while not ok():  # type: ignore[operator]
            assert proc.poll() is None, f"the run ended while waiting for {what}: {lines[-20:]}"
            assert time.monotonic() < deadline, f"no {what} within {limit_s:g} s: {lines[-20:]}"
            time.sleep(0.5)

    try:
        wait_for("fill before the kill", lambda: _fills(lines) > 0, 180)
        victim = _worker(data_dir, 0)
        assert victim is not None, "worker 0 not found"
        victim.send_signal(signal.SIGKILL)
        wait_for("restart", lambda: any("solbot: worker 0 restarted" in line for line in lines), 60)
        restarted = _worker(data_dir, 0)
        assert restarted is not None and restarted.pid != victim.pid
        at_restart = _fills(lines)
        wait_for("fill after the restart", lambda: _fills(lines) > at_restart, 120)
        proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(timeout=5)
    assert proc.returncode == 0, "".join(errors)[-3000:]
    assert any("solbot: worker 0 exited with signal 9; restarting it in 0.5 s" in line for line in lines)
    summary = json.loads(lines[-1])
    assert summary["worker_restarts"] == 1
    assert summary["fills"] > at_restart
    assert _worker(data_dir, 0) is None  # stopped with the run
