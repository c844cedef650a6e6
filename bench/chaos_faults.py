"""The fault kinds of `make chaos` and how each is injected into a running stack (issue 16, "Deliver").

A run is cut into windows, one per fault kind, in a fixed order after a warm-up; within its window a kind
is injected several times, and nothing else is. So every difference the audit finds can be told apart by
the event time of the signal or order it names (`window_of`), and the state checks taken at a window's end
(positions = fills, chain = database) belong to that kind. Kinds:

- `worker_kill`: SIGKILL of a random worker, restarted at once;
- `broker_kill`: SIGKILL of the embedded Kafka broker, restarted on the same port and data;
- `exception`: the workers restarted with `FAULT_INJECT` raising at every side-effect boundary, then
  restarted without it at the window's end;
- `postgres`: every connection reset (twice), then the server stopped and started again;
- `redis`: the server stopped for most of the window, then started again;
- `pause`: the worker that owns the risk inputs SIGSTOPped beyond its session, then resumed;
- `cpu_hog`: one busy process per core for most of the window.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from core.settings import Settings
from services.postgres import start_postgres
from services.process import terminate
from services.redis import start_redis
from services.stack import Stack
from solbot.runner import Worker, start_worker

KINDS = ("worker_kill", "broker_kill", "exception", "postgres", "redis", "pause", "cpu_hog")
# Every boundary of core/faults.py, at rates that fire a few times a window without stalling the run.
EXCEPTIONS = "sink.apply:0.1,sink.publish:0.1,risk.decide:0.05,risk.publish:0.1,model.publish:0.02"
_MS = re.compile(r"\d{13}")


@dataclass(frozen=True)
class Window:
    kind: str
    start_s: float  # seconds after the feed started
    end_s: float


def schedule(warmup_s: float, seconds: dict[str, float]) -> list[Window]:
    """The windows in `KINDS` order, back to back after the warm-up."""
    out, at = [], warmup_s
    for kind in KINDS:
        out.append(Window(kind, at, at + seconds[kind]))
        at += seconds[kind]
    return out


def window_of(text: str, windows: list[Window], start_ms: int) -> str:
    """The kind whose window holds the event time named in `text` (an id), else `warmup`/`after`."""
    found = _MS.search(text)
    if found is None:
        return "unknown"
    at_s = (int(found.group()) - start_ms) / 1000
    for w in windows:
        if w.start_s <= at_s < w.end_s:
            return w.kind
    return "warmup" if windows and at_s < windows[0].start_s else "after"


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return orjson.loads(response.read())


def get_text(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return str(response.read().decode())


@dataclass
class Faults:
    """The running stack and workers, and what was done to them (counts per kind)."""

    settings: Settings
    stack: Stack
    guarantee: str
    workers: list[Worker]
    rng: random.Random
    next_index: int = 0
    injected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    worker_kills: int = 0  # every SIGKILL of a worker, whatever the window
    restarted: list[int] = field(default_factory=list)  # servers started here, to stop at the end
    exceptions_raised: dict[str, float] = field(default_factory=dict)  # scraped from workers before a kill
    env: dict[str, str] = field(default_factory=dict)  # set for the workers started now (FAULT_INJECT)
    worker_exits: int = 0  # workers that exited on their own (restarted by `supervise`)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one worker replacement at a time

    def start(self, index: int | None = None) -> Worker:
        i = self.next_index if index is None else index
        self.next_index = max(self.next_index, i + 1)
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return start_worker(self.settings, self.stack, self.guarantee, i)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    async def kill_worker(self, at: int | None = None) -> None:
        """SIGKILL one worker (random unless `at`) and start another in its place."""
        async with self.lock:
            victim = self.rng.randrange(len(self.workers)) if at is None else at
            os.kill(self.workers[victim].proc.pid, signal.SIGKILL)
            await asyncio.to_thread(self.workers[victim].proc.wait)
            self.worker_kills += 1
            self.workers[victim] = self.start()

    async def supervise(self) -> None:
        """Restart a worker that exited on its own, as a process supervisor would (a worker starting while
        the broker is down cannot bootstrap and exits); each is counted."""
        while True:
            await asyncio.sleep(1.0)
            async with self.lock:
                for i, w in enumerate(self.workers):
                    if w.proc.poll() is not None:
                        self.worker_exits += 1
                        self.workers[i] = self.start()

    async def kill_broker(self) -> None:
        broker = self.stack.components["broker"]
        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGKILL)
        await asyncio.to_thread(self.stack.restart_broker)

    async def reset_postgres_connections(self) -> int:
        conn = await asyncpg.connect(self.stack.database_url)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        finally:
            await conn.close()

    async def restart_postgres(self, down_s: float) -> None:
        pg = self.stack.components["postgres"]
        assert pg.pid is not None and pg.port is not None
        terminate(pg.pid, sig=signal.SIGINT)  # a fast shutdown: every client is cut off
        await asyncio.sleep(down_s)
        handle = await asyncio.to_thread(start_postgres, self.settings.data_dir, port=pg.port)
        self.restarted.append(handle.pid)

    async def stop_redis(self) -> None:
        redis = self.stack.components["redis"]
        assert redis.pid is not None
        terminate(redis.pid)

    async def start_redis(self) -> None:
        redis = self.stack.components["redis"]
        assert redis.port is not None
        handle = await asyncio.to_thread(start_redis, self.settings.data_dir, port=redis.port)
        self.restarted.append(handle.pid)

    async def risk_owner(self) -> Worker | None:
        for w in self.workers:
            try:
                status = await asyncio.to_thread(get_json, w.web_port, "/status/")
            except OSError:
                continue
            if 0 in status.get("partitions", {}).get("signals", []):
                return w
        return None

    async def raised_now(self) -> dict[str, float]:
        """The running workers' injected-exception counters, by point."""
        raised: dict[str, float] = {}
        for w in self.workers:
            try:
                page = await asyncio.to_thread(get_text, w.web_port, "/metrics")
            except OSError:
                continue
            for point, n in re.findall(
                r'^solbot_faults_injected_total\{point="([^"]+)"\} ([0-9.e+]+)$', page, re.M
            ):
                raised[point] = raised.get(point, 0.0) + float(n)
        return raised

    async def scrape_exceptions(self) -> None:
        """Add the workers' injected-exception counters (before they are killed, which loses them)."""
        for point, n in (await self.raised_now()).items():
            self.exceptions_raised[point] = self.exceptions_raised.get(point, 0.0) + n

    async def chain_check(self) -> bool | None:
        """The chain against the database on the worker that settles (None: no worker could say)."""
        for _ in range(20):
            for w in self.workers:
                try:
                    payload = await asyncio.to_thread(get_json, w.web_port, "/balances/check/")
                except OSError:
                    continue  # a 409 (not the settling worker) is an HTTPError, an OSError
                if payload.get("available"):
                    return bool(payload["ok"])
            await asyncio.sleep(1.0)
        return None

    def stop_restarted(self) -> None:
        for pid in self.restarted:
            terminate(pid, sig=signal.SIGINT)


async def _every(
    window: Window, clock: Callable[[], float], n: int, act: Callable[[], Awaitable[None]]
) -> int:
    """`act` `n` times spread over the window's first 80 % (the rest lets the pipeline recover)."""
    span = (window.end_s - window.start_s) * 0.8
    done = 0
    for i in range(n):
        await _until(clock, window.start_s + span * i / n)
        await act()
        done += 1
    return done


async def _until(clock: Callable[[], float], at_s: float) -> None:
    await asyncio.sleep(max(0.0, at_s - clock()))


async def inject(f: Faults, window: Window, clock: Callable[[], float], plan: dict[str, int]) -> None:
    """Inject `window`'s kind `plan[kind]` times within it (see the module doc)."""
    kind = window.kind
    await _until(clock, window.start_s)
    if kind == "worker_kill":
        f.injected[kind] = await _every(window, clock, plan[kind], f.kill_worker)
    elif kind == "broker_kill":
        f.injected[kind] = await _every(window, clock, plan[kind], f.kill_broker)
    elif kind == "exception":
        f.env = {"FAULT_INJECT": EXCEPTIONS}
        for i in range(len(f.workers)):
            await f.kill_worker(i)
        await _until(clock, window.start_s + (window.end_s - window.start_s) * 0.7)
        # A window in which no batch happened to fail proves nothing (one run raised none in 21 s of
        # restarted workers): it goes on until one has, for at most another minute.
        deadline = clock() + 60.0
        for _ in range(60):
            if sum((await f.raised_now()).values()) or clock() >= deadline:
                break
            await asyncio.sleep(1.0)
        await f.scrape_exceptions()
        f.env = {}
        for i in range(len(f.workers)):
            await f.kill_worker(i)
        f.injected[kind] = int(sum(f.exceptions_raised.values()))
    elif kind == "postgres":
        for _ in range(plan[kind] - 1):
            await f.reset_postgres_connections()
            await asyncio.sleep(3)
        await f.restart_postgres(down_s=f.settings.session_timeout_s / 2 + 1)
        f.injected[kind] = plan[kind]
    elif kind == "redis":
        await f.stop_redis()
        await _until(clock, window.start_s + (window.end_s - window.start_s) * 0.6)
        await f.start_redis()
        f.injected[kind] = 1
    elif kind == "pause":
        for _ in range(plan[kind]):
            owner = await f.risk_owner()
            if owner is None:
                await asyncio.sleep(1)
                continue
            os.kill(owner.proc.pid, signal.SIGSTOP)
            await asyncio.sleep(f.settings.session_timeout_s + 4)  # beyond the session: the group moves on
            os.kill(owner.proc.pid, signal.SIGCONT)
            f.injected[kind] += 1
    elif kind == "cpu_hog":
        hogs = [
            await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
            for _ in range(os.cpu_count() or 2)
        ]
        try:
            await _until(clock, window.start_s + (window.end_s - window.start_s) * 0.7)
        finally:
            for hog in hogs:
                hog.kill()
                await hog.wait()
        f.injected[kind] = len(hogs)


def monotonic_clock(started: float) -> Callable[[], float]:
    return lambda: time.monotonic() - started
