"""A running pipeline for tests: prepared stack, one worker, the topic monitor, a market feed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from core.settings import Settings
from market.feed import run_feed
from market.simulator import MarketSimulator
from services.process import terminate
from services.stack import Stack
from solbot.monitor import TopicMonitor
from solbot.runner import Worker, prepare, start_worker
from streams.broker import bootstrap_of


@dataclass
class Pipeline:
    settings: Settings
    stack: Stack
    guarantee: str
    bootstrap: str
    worker: Worker
    monitor: TopicMonitor
    feed: asyncio.Task[int]
    restarts: int = 0

    def restart_worker(self) -> None:
        """Start a new worker in place of the current one (which must be dead)."""
        self.restarts += 1
        self.worker = start_worker(self.settings, self.stack, self.guarantee, self.restarts)


@asynccontextmanager
async def running_pipeline(
    settings: Settings,
    stack: Stack,
    *,
    seed: int,
    rate_eps: float,
    duration_s: float,
    market_data_ms: int = 0,
) -> AsyncIterator[Pipeline]:
    bootstrap = bootstrap_of(stack.broker_url)
    guarantee = await prepare(settings, stack)
    worker = start_worker(settings, stack, guarantee, 0)
    monitor = TopicMonitor(bootstrap)
    await monitor.start()
    sim = MarketSimulator(
        seed=seed, pairs=settings.pairs, rate_eps=rate_eps, start_ms=int(time.time() * 1000)
    )
    feed = asyncio.create_task(
        run_feed(bootstrap, sim, duration_s=duration_s, realtime=True, market_data_ms=market_data_ms)
    )
    pipeline = Pipeline(settings, stack, guarantee, bootstrap, worker, monitor, feed)
    try:
        yield pipeline
    finally:
        if not feed.done():
            feed.cancel()
        await monitor.stop()
        terminate(pipeline.worker.proc.pid, timeout_s=15)


async def until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.2)
    return False


async def all_decided(p: Pipeline, timeout_s: float = 60) -> bool:
    """Wait until every signal seen has a risk decision: the drain stops when nothing moves for a while,
    and on a busy box a rebalance's recovery can be such a while (the audit then names what is missing)."""
    counts = p.monitor.counts
    return await until(lambda: counts.signals <= len(counts.decided_signal_ids), timeout_s)
