"""`solbot run --duration` end to end on the embedded stack, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.integration.conftest import FAST_ENV

pytestmark = pytest.mark.integration


def _solbot(
    args: list[str], data_dir: Path, extra_env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(extra_env)
    env["DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "solbot.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _ours(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            env = proc.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(data_dir) in cmd or env.get("DATA_DIR", "").startswith(str(data_dir)):
            found.append(proc)
    return found


def test_run_trades_and_leaves_nothing_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    res = _solbot(
        ["run", "--duration", "45", "--seed", "1", "--rate", "300"], data_dir, FAST_ENV, timeout=240
    )
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    for key in (
        "events",
        "signals",
        "orders",
        "fills",
        "rejected",
        "dead_letters",
        "equity_quote",
        "latency_ms",
    ):
        assert key in summary
    assert summary["events"] > 5000
    assert summary["orders"] > 0 and summary["fills"] > 0, summary
    assert summary["latency_ms"]["p99"] > 0
    assert summary["equity_quote"] > 0
    assert "events=" in res.stdout  # the progress lines
    assert _ours(data_dir) == []


def test_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    res = _solbot(["run", "--duration", "5"], tmp_path, {"FETCH_MAX_WAIT_MS": "1"}, timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "FETCH_MAX_WAIT_MS" in lines[0], res.stderr


def _summary(res: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert res.returncode == 0, res.stderr[-3000:]
    summary: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return summary


def test_two_runs_in_a_row_both_fill_their_orders(tmp_path: Path) -> None:
    """The broker's data stay on disk under the data dir: the second run resumes where the first stopped
    (sink offsets, model checkpoints, risk state) instead of deciding on orders that never fill."""
    data_dir = tmp_path / "data"
    runs = []
    for seed in (1, 2):
        res = _solbot(
            ["run", "--duration", "30", "--seed", str(seed), "--rate", "300"], data_dir, FAST_ENV, timeout=240
        )
        runs.append(_summary(res))
    for summary in runs:
        assert summary["orders"] > 0 and summary["fills"] > 0, runs
        assert summary["orders"] == summary["fills"] + summary["failed_fills"], runs
    assert _ours(data_dir) == []
