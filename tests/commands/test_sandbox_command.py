"""`solbot sandbox` as a script meets it: four URL lines once ready, the RPC answering over HTTP, exit 0
on Ctrl-C; bad options are one line and a non-zero exit."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import httpx
import pytest
from websockets.asyncio.client import connect

from solbot.commands.sandbox import KEYS
from venues.raydium.schemas import PROGRAM_ID as RAYDIUM_AMM_V4

SOLBOT = [sys.executable, "-m", "solbot.cli"]


def _env(tmp_path: object) -> dict[str, str]:
    return {**os.environ, "DATA_DIR": str(tmp_path), "LOG_LEVEL": "warning"}


def test_prints_the_four_urls_serves_and_stops_on_sigint(tmp_path: object) -> None:
    proc = subprocess.Popen(
        [*SOLBOT, "sandbox", "--port", "0", "--ws-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in KEYS]
        urls = dict(line.split("=", 1) for line in lines)
        assert list(urls) == list(KEYS)
        assert urls["SOLANA_WS_URL"].startswith("ws://") and urls["JITO_URL"].endswith("/api/v1/bundles")
        slot = httpx.post(urls["SOLANA_RPC_URL"], json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"})
        assert isinstance(slot.json()["result"], int)
        body = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "getLatestBlockhash",
            "params": [{"commitment": "confirmed"}],
        }
        latest = httpx.post(urls["SOLANA_RPC_URL"], json=body).json()["result"]
        assert len(latest["value"]["blockhash"]) >= 32 and latest["value"]["lastValidBlockHeight"] >= 0
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in stderr


async def test_traders_put_a_moving_market_in_the_logs(tmp_path: object) -> None:
    """With --traders, Raydium `ray_log` swaps arrive on a logsSubscribe of the AMM program."""
    proc = subprocess.Popen(  # noqa: ASYNC220  (a child that outlives the test's event loop calls)
        [*SOLBOT, "sandbox", "--port", "0", "--ws-port", "0", "--traders", "2", "--rate", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    try:
        assert proc.stdout is not None
        urls = dict(proc.stdout.readline().strip().split("=", 1) for _ in KEYS)
        async with connect(urls["SOLANA_WS_URL"]) as ws:
            params = [{"mentions": [RAYDIUM_AMM_V4]}, {"commitment": "confirmed"}]
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe", "params": params})
            )
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            note = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(ack["result"], int) and note["method"] == "logsNotification"
        logs = note["params"]["result"]["value"]["logs"]
        assert any(line.startswith("Program log: ray_log: ") for line in logs)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "bad option --port: 70000 is outside 0..65535"),
        (["--seed", "x"], "bad option --seed: 'x' is not an integer"),
        (["--fault", "drop=1.5"], "bad option --fault: drop probability 1.5 is outside 0..1"),
        (["--fault", "meteor=0.1"], "bad option --fault: 'meteor=0.1'"),
        (["--fault", "drop=0.6", "--fault", "rate_limit=0.6"], "add up to more than 1"),
        (["--fault", "lag_slots=-1"], "bad option --fault lag_slots: -1 is outside 0..10000"),
        (["--traders", "many"], "bad option --traders: 'many' is not an integer"),
        (["--traders", "65"], "bad option --traders: 65 is outside 0..64"),
        (["--rate", "fast"], "bad option --rate: 'fast' is not a number"),
        (["--rate", "0"], "bad option --rate: 0.0 is outside 0.1..500"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: object, args: list[str], message: str) -> None:
    done = subprocess.run(
        [*SOLBOT, "sandbox", *args], capture_output=True, text=True, env=_env(tmp_path), timeout=60
    )
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""
