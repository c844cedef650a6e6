"""SIGKILL a worker mid-stream, restart it, and check that nothing was lost or done twice."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from market.feed import run_feed
from market.simulator import MarketSimulator
from services.process import terminate
from services.stack import Stack
from solbot.monitor import TopicMonitor
from solbot.runner import drain, prepare, start_worker
from solbot.settings import Settings
from streams.broker_compat import bootstrap_of
from tests.integration.pipeline_checks import audit_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _until(predicate, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_sigkill_and_restart_keeps_every_invariant(
    fresh_stack: Stack, fresh_settings: Settings
) -> None:
    settings, stack = fresh_settings, fresh_stack
    bootstrap = bootstrap_of(stack.broker_url)
    guarantee = await prepare(settings, stack)
    worker = start_worker(settings, stack, guarantee, 0)
    monitor = TopicMonitor(bootstrap)
    await monitor.start()
    sim = MarketSimulator(seed=7, pairs=settings.pairs, rate_eps=400, start_ms=int(time.time() * 1000))
    feed = asyncio.create_task(run_feed(bootstrap, sim, duration_s=60, realtime=True))
    kills = 0
    try:
        assert await _until(lambda: monitor.counts.orders >= 3, 90), "no orders before the first kill"
        for _ in range(2):
            os.kill(worker.proc.pid, signal.SIGKILL)
            worker.proc.wait()
            kills += 1
            worker = start_worker(settings, stack, guarantee, kills)
            before = monitor.counts.orders + monitor.counts.rejected
            await _until(lambda b=before: monitor.counts.orders + monitor.counts.rejected > b + 2, 60)
        await feed
        await drain(monitor, quiet_s=10, limit_s=60)
    finally:
        if not feed.done():
            feed.cancel()
        await monitor.stop()
        terminate(worker.proc.pid, timeout_s=15)
    audit = await audit_run(bootstrap, stack.database_url, settings.portfolio)
    assert kills == 2
    assert audit.orders > 0 and audit.terminal > 0
    assert audit.duplicates == []
    assert audit.missing == []
    assert audit.position_mismatches == []
