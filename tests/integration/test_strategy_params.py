"""Operator parameters reach the running model agent: a strategy disabled on `strategy.params` stops
signalling without a restart, and the bandit's allocations are published."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from core.settings import Settings
from services.stack import Stack
from solbot.audit import read_topic
from streams.codec import encode
from streams.records import StrategyParams
from streams.topics import STRATEGY_PARAMS
from tests.integration.harness import running_pipeline, until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _publish(bootstrap: str, record: StrategyParams) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(STRATEGY_PARAMS.name, value=encode(record), key=record.name.encode())
    finally:
        await producer.stop()


async def test_a_disabled_strategy_stops_signalling_in_the_running_agent(
    fresh_stack: Stack, fresh_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOCATION_CYCLE_MS", "5000")
    settings = fresh_settings.model_copy(update={"allocation_cycle_ms": 5_000})
    async with running_pipeline(settings, fresh_stack, seed=7, rate_eps=300, duration_s=90) as p:
        counts = p.monitor.counts
        assert await until(lambda: counts.signals >= 20, 90), "no signals"
        by_strategy = Counter(
            s["strategy"]
            for s in await read_topic(p.bootstrap, "signals")
            if not s["id"].startswith("mark:")  # price marks: no strategy
        )
        target = by_strategy.most_common(1)[0][0]
        off_ms = int(time.time() * 1000)
        record = StrategyParams(
            name=target,
            enabled=False,
            max_position_pct=5.0,
            stop_loss_pct=2.0,
            take_profit_pct=4.0,
            grid_levels=0,
            pairs=[],
            updated_by="test",
            updated_ms=off_ms,
        )
        await _publish(p.bootstrap, record)

        def after(signals: list[dict[str, Any]], disabled: bool) -> list[dict[str, Any]]:
            return [
                s for s in signals if (s["strategy"] == target) == disabled and s["ts_ms"] > off_ms + 2_000
            ]

        # Event time, not arrival: a loaded machine may run seconds behind, so wait for signals that
        # happened after the change rather than for any new ones.
        others: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        while not others and time.monotonic() < deadline:
            await asyncio.sleep(2)
            others = after(await read_topic(p.bootstrap, "signals"), disabled=False)
        await asyncio.sleep(3)
        signals = await read_topic(p.bootstrap, "signals")
        allocations = await read_topic(p.bootstrap, "allocations")
    late = after(signals, disabled=True)
    others = after(signals, disabled=False)
    print(f"disabled {target} ({by_strategy[target]} signals before); {len(others)} other signals after")
    assert late == [], f"{target} kept signalling after it was disabled"
    assert others, "the other strategies stopped too"
    assert allocations, "no allocation published"
    assert all(0.0 < sum(a["weights"].values()) <= 1.0 + 1e-6 for a in allocations)
