"""Backtests from the API: one at a time in a child process, listed with their headline figures, a report
opened only through its view cookie (never a token in the URL) and served without script; a failed one
says why; a viewer may not start one."""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from solders.keypair import Keypair

from tests.web.conftest import ClientFactory, bearer, sign_in, signed_in
from web.api.backtest_jobs import SAMPLE, BacktestJobs

SMALL_EVENTS = 3000  # enough for trades to start, a few seconds of backtest


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "small.jsonl.gz"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as src, gzip.open(path, "wt", encoding="utf-8") as out:
        for i, line in enumerate(src):
            if i >= SMALL_EVENTS:
                break
            out.write(line)
    return path


async def until_finished(client: httpx.AsyncClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = (await client.get(f"/api/v1/backtests/{job_id}", headers=headers)).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("the backtest never finished")


async def test_backtest_runs_lists_and_opens_its_report_by_cookie_only(
    make_client: ClientFactory, owner: Keypair, small_sample: Path, tmp_path: Path
) -> None:
    async with make_client() as client:
        client.app.state.api.backtests = BacktestJobs(tmp_path / "reports", sample=small_sample)  # type: ignore[attr-defined]
        session = await signed_in(client, owner)
        headers = bearer(session.tokens)
        started = await client.post(
            "/api/v1/backtests", json={"seed": 1, "stop_loss_pct": 3}, headers=headers
        )
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["status"] == "running" and job["overrides"] == {"stop_loss_pct": 3.0}
        busy = await client.post("/api/v1/backtests", json={}, headers=headers)
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "busy"

        done = await until_finished(client, headers, job["id"])
        assert done["status"] == "done", done
        assert done["headline"]["orders"] >= 0 and "pnl_usdc" in done["headline"]
        listed = (await client.get("/api/v1/backtests", headers=headers)).json()["items"]
        assert [j["id"] for j in listed] == [job["id"]]

        # Without the view cookie the report is refused, even with the bearer token.
        report_url = f"/reports/{job['id']}"
        assert (await client.get(report_url, headers=headers)).status_code == 401
        view = await client.post(f"/api/v1/backtests/{job['id']}/view", headers=headers)
        assert view.status_code == 200 and view.json() == {"url": report_url}
        cookie = view.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and f"path={report_url}" in cookie
        page = await client.get(report_url)
        assert page.status_code == 200 and "<h1>Backtest of small.jsonl.gz" in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert (await client.get("/reports/1700000000000-deadbeef")).status_code == 401


async def test_a_failed_backtest_says_why_and_a_viewer_may_not_start_one(
    make_client: ClientFactory, owner: Keypair, viewer: Keypair, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    async with make_client() as client:
        client.app.state.api.backtests = BacktestJobs(tmp_path / "reports", sample=empty)  # type: ignore[attr-defined]
        headers = bearer((await signed_in(client, owner)).tokens)
        job = (await client.post("/api/v1/backtests", json={}, headers=headers)).json()
        failed = await until_finished(client, headers, job["id"])
        assert failed["status"] == "failed" and "holds no records" in failed["error"]
        refused = await client.post(f"/api/v1/backtests/{job['id']}/view", headers=headers)
        assert refused.status_code == 404

        as_viewer = bearer(await sign_in(client, viewer))
        assert (await client.post("/api/v1/backtests", json={}, headers=as_viewer)).status_code == 403
        bad = await client.post("/api/v1/backtests", json={"seed": -1}, headers=headers)
        assert bad.status_code == 400


HOLDER = """
import asyncio, sys
from pathlib import Path
from web.api.backtest_jobs import BacktestJobs

async def main():
    jobs = BacktestJobs(Path(sys.argv[1]))
    jobs.start(1, {})
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_a_backtest_dies_with_an_api_killed_outright(tmp_path: Path) -> None:
    """The fault: the API process is SIGKILLed mid-backtest (no shutdown runs); its child goes too."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "reports")])
    try:
        deadline = time.monotonic() + 30
        children: list[psutil.Process] = []
        while not children:
            assert time.monotonic() < deadline, "the backtest child never started"
            children = psutil.Process(holder.pid).children()
            time.sleep(0.1)
        child = children[0]
        assert "backtest" in " ".join(child.cmdline())
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        _gone, alive = psutil.wait_procs([child], timeout=10)
        assert not alive, f"backtest child {child.pid} outlived the API"
    finally:
        if holder.poll() is None:
            holder.kill()
