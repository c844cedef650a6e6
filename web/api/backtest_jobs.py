"""Backtests started from the dashboard: `solbot backtest` on the bundled sample, one at a time, in a child
process (a backtest is seconds of CPU that must not stall the API's event loop), its report kept in
`$DATA_DIR/reports/<id>.html` with the summary beside it (`<id>.json`), so reports outlive the API.

Risk overrides from the page reach the child as its settings (environment keys), nothing else changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from services.process import die_with_parent

log = logging.getLogger(__name__)

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sim-seed1.jsonl.gz"
JOB_ID = re.compile(r"^[0-9]{13}-[0-9a-f]{8}$")
TIMEOUT_S = 600.0
KEEP = 50  # reports listed; older files stay on disk
HEADLINE = (
    "orders", "trades", "pnl_usdc", "trading_pnl_usdc", "inventory_revaluation_usdc", "return_pct",
    "max_drawdown_pct", "win_rate",
)  # fmt: skip


class JobBusy(Exception):
    """A backtest is already running (one at a time: the machine's cores belong to the bot)."""


@dataclass
class Job:
    id: str
    seed: int
    overrides: dict[str, float]
    started_ms: int
    status: str = "running"  # running | done | failed
    finished_ms: int | None = None
    error: str | None = None
    headline: dict[str, Any] = field(default_factory=dict)  # the summary's figures a list shows


class BacktestJobs:
    def __init__(self, directory: Path, sample: Path = SAMPLE, env: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.sample = sample
        self._env = env
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def report_path(self, job_id: str) -> Path | None:
        if not JOB_ID.match(job_id):
            return None
        path = self.directory / f"{job_id}.html"
        return path if path.is_file() else None

    def start(self, seed: int, overrides: dict[str, float]) -> Job:
        if any(j.status == "running" for j in self._jobs.values()):
            raise JobBusy("a backtest is already running")
        now = int(time.time() * 1000)
        job = Job(id=f"{now}-{uuid.uuid4().hex[:8]}", seed=seed, overrides=overrides, started_ms=now)
        self._jobs[job.id] = job
        task = asyncio.create_task(self._run(job), name=f"backtest-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id) or self._from_disk(job_id)

    def list(self) -> list[Job]:
        ids = {p.stem for p in self.directory.glob("*.json")} | set(self._jobs)
        jobs = [j for j in (self.get(i) for i in sorted(ids, reverse=True)[:KEEP]) if j is not None]
        return sorted(jobs, key=lambda j: j.started_ms, reverse=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _from_disk(self, job_id: str) -> Job | None:
        if not JOB_ID.match(job_id):
            return None
        try:
            return Job(**json.loads((self.directory / f"{job_id}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    async def _run(self, job: Job) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        html = self.directory / f"{job.id}.html"
        env = dict(self._env if self._env is not None else os.environ)
        env.update({key.upper(): str(value) for key, value in job.overrides.items()})
        argv = [sys.executable, "-m", "solbot.cli", "backtest", str(self.sample), "--seed", str(job.seed)]
        proc = await asyncio.create_subprocess_exec(
            *argv, "--html", str(html), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            preexec_fn=die_with_parent(signal.SIGKILL),  # an API killed outright leaves no backtest behind
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
            if proc.returncode == 0:
                summary = json.loads(out.decode().strip().splitlines()[-1])
                job.headline = {k: summary[k] for k in HEADLINE if k in summary}
                job.status = "done"
            else:
                lines = err.decode(errors="replace").strip().splitlines()
                job.status, job.error = "failed", (lines[-1] if lines else f"exit {proc.returncode}")[:300]
        except (TimeoutError, ValueError, IndexError) as exc:
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"[:300]
        except asyncio.CancelledError:
            job.status, job.error = "failed", "the API stopped"
            raise
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            job.finished_ms = int(time.time() * 1000)
            self._save(job)
            log.info("backtest %s %s", job.id, job.status)

    def _save(self, job: Job) -> None:
        with contextlib.suppress(OSError):
            (self.directory / f"{job.id}.json").write_text(json.dumps(asdict(job)), encoding="utf-8")
