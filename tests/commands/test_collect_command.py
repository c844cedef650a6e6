"""`solbot collect`: refuses to run with nothing enabled, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from core.settings import load_settings
from solbot.commands import collect

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_enabled_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(
        data_dir=tmp_path, collect_chain=False, collect_jupiter=False, collect_drift=False
    )
    assert collect.main(settings, argparse.Namespace(duration=1.0)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no collector enabled" in err


def test_enabled_collectors_are_named(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, collect_chain=True, collect_drift=True)
    assert collect.enabled_collectors(settings) == ["chain", "drift"]


@pytest.mark.integration
def test_ctrl_c_stops_cleanly(tmp_path: Path, broker_url: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BROKER_URL": broker_url,
        "DATA_DIR": str(tmp_path),
        "COLLECT_CHAIN": "true",
        "SOLANA_WS_URL": "ws://127.0.0.1:9",  # nothing listens: the client backs off and retries
        "COLLECT_JUPITER": "false",
        "COLLECT_DRIFT": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "solbot.cli", "collect"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("solbot: collecting chain into kafka://")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    summary = orjson.loads(out.strip().splitlines()[-1])
    assert summary["chain"]["swaps"] == 0 and "duration_s" in summary
