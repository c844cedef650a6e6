"""`solbot run --duration` end to end on the embedded stack, as a user runs it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
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


async def _sign_in_checks(data_dir: Path) -> None:
    """While the run trades: a client without the data dir's credential is refused by its broker; one
    that finds the credential as a hand-run command does (the stack's record) gets in."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    from core.settings import load_settings
    from services.stack_file import read_state
    from streams.broker_auth import broker_auth

    broker = read_state(data_dir / "services.json")["broker"]
    bootstrap = broker.url.removeprefix("kafka://")
    plain = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3_000)
    with pytest.raises((KafkaError, OSError, TimeoutError)):
        await asyncio.wait_for(plain.start(), 10)
    await plain.close()
    settings = load_settings(data_dir=data_dir, broker_url=broker.url)
    auth = broker_auth(settings)
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    signed = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
    await signed.start()
    try:
        for _ in range(120):  # the run creates its topics before its workers start
            if "signals" in await signed.list_topics():
                break
            await asyncio.sleep(0.5)
        assert "signals" in await signed.list_topics()
    finally:
        await signed.close()


def test_run_trades_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """`solbot run` on its defaults: the embedded Kafka takes SASL/SCRAM clients only, and the run trades."""
    import asyncio
    import stat

    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(FAST_ENV)
    env["DATA_DIR"] = str(data_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "solbot.cli", "run", "--duration", "45", "--seed", "1", "--rate", "300"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (data_dir / "services.json").exists() or "broker" not in (
            (data_dir / "services.json").read_text()
        ):
            assert proc.poll() is None and time.monotonic() < deadline, "no broker recorded"
            time.sleep(0.5)
        asyncio.run(_sign_in_checks(data_dir))
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    res = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert res.returncode == 0, res.stderr[-3000:]
    credential = data_dir / "kafka" / "credential.json"
    assert stat.S_IMODE(credential.stat().st_mode) == 0o600
    password = json.loads(credential.read_text())["password"]
    logs = [p.read_text(errors="replace") for p in data_dir.rglob("*.log")]
    assert all(password not in text for text in [res.stdout, res.stderr, *logs])
    assert "SASL/SCRAM-SHA-512 only" in res.stdout + res.stderr
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
    # The dashboard was served (its own browser test: tests/web/test_first_hour_browser.py) and stopped.
    assert re.search(r"^solbot: dashboard http://127\.0\.0\.1:\d+/ ", res.stdout, re.MULTILINE), res.stdout
    assert res.stdout.count("solbot: stopped (duration)") == 1 and summary["stopped_by"] == "duration"
    assert summary["equity_usdc"] == summary["equity_quote"]
    assert summary["pnl_usdc"] == pytest.approx(
        summary["inventory_revaluation_usdc"] + summary["trading_pnl_usdc"], abs=0.011
    )
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


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
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


@pytest.mark.slow  # `make test-slow` (CI runs it): keeps `make test` within its 15 minutes
def test_ctrl_c_stops_the_run_with_its_summary_printed_once(tmp_path: Path) -> None:
    """Ctrl-C as a terminal sends it (SIGINT to the whole foreground group, servers and workers too): the
    run stops within seconds, prints the summary once, and leaves nothing behind."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(FAST_ENV, DATA_DIR=str(data_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "solbot.cli", "run", "--rate", "300"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a shell gives a foreground job
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()[-3000:] if proc.stderr else "no output"
            lines.append(line)
            if line.startswith("[") and " orders=0 " not in line:
                break
        assert any(line.startswith("[") for line in lines), lines
        os.killpg(proc.pid, signal.SIGINT)
        stopped = time.monotonic()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - stopped < 30
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err
    assert "equity=0.00" not in "".join(lines) + out  # unpriced, not zero
    assert out.count("solbot: stopped (signal)") == 1
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stopped_by"] == "signal" and summary["orders"] > 0
    for key in ("fills", "equity_usdc", "pnl_usdc", "trading_pnl_usdc", "inventory_revaluation_usdc", "lag"):
        assert key in summary
    assert summary["latency_ms"]["p99"] > 0
    assert _ours(data_dir) == []
