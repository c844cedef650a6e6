"""`solbot run` watches its embedded broker: killed mid-run, it comes back on the same port and data, the
workers carry on, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from core.settings import load_settings
from services.stack import Stack
from solbot.audit import audit_run, read_topic
from streams.broker import bootstrap_of
from streams.broker_auth import broker_auth
from tests.integration.conftest import FAST_ENV

# In make test-slow (88 s): make test kept under its 15 minutes; CI runs both.
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _kafka_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "kafka.Kafka" in cmd and str(data_dir) in cmd:
            found.append(proc)
    return found


def test_a_killed_broker_is_restarted_and_the_run_completes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(FAST_ENV)
    env.update({"DATA_DIR": str(data_dir), "EMBEDDED_BROKER": "kafka"})
    out_path = tmp_path / "run.out"
    with open(out_path, "w") as out_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "solbot.cli", "run", "--duration", "50", "--seed", "1", "--rate", "300"],
            env=env,
            stdout=out_file,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:  # kill once the pipeline has made orders
            made = [int(n) for n in re.findall(r"orders=(\d+)", out_path.read_text())]
            if made and made[-1] > 0:
                break
            assert proc.poll() is None, out_path.read_text() + (proc.stderr.read() if proc.stderr else "")
            time.sleep(0.5)
        else:
            pytest.fail("no order within 150 s:\n" + out_path.read_text())
        brokers = _kafka_of(data_dir)
        assert len(brokers) == 1
        brokers[0].send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = out_path.read_text()
    assert proc.returncode == 0, stderr[-3000:] + out[-3000:]
    assert "the broker exited; restarting it on port" in out, out
    ports = re.findall(r"at kafka://127\.0\.0\.1:(\d+)", out)
    assert len(ports) == 2 and ports[0] == ports[1], out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["orders"] > 0 and summary["fills"] > 0, summary
    assert summary["orders"] == summary["fills"] + summary["failed_fills"], summary
    assert _kafka_of(data_dir) == []

    async def audit() -> tuple[list[str], list[str], list[str], list[str]]:
        settings = load_settings(data_dir=data_dir, broker_url=None, database_url=None, redis_url=None)
        with Stack(settings) as stack:
            bootstrap, auth = bootstrap_of(stack.broker_url), broker_auth(settings, stack.broker_url)
            assert auth, "the broker `solbot run` started takes SASL clients only"
            found = await audit_run(bootstrap, stack.database_url, settings.portfolio, auth)
            ids = [str(o["id"]) for o in await read_topic(bootstrap, "orders", auth)]
        unfilled = [m for m in found.missing if "no terminal outcome" in m]
        doubled = sorted({i for i in ids if ids.count(i) > 1})
        return found.duplicates, found.position_mismatches, unfilled, doubled

    duplicates, mismatches, unfilled, doubled = asyncio.run(audit())
    assert (duplicates, mismatches, unfilled) == ([], [], [])
    assert doubled == []
