"""Jupiter quotes and the Drift book reach the models through the real pipeline: the simulated market
publishes them (`SIM_MARKET_DATA_MS`) onto raw.quotes and raw.perps, the features agent reads them with
each pair's swaps, and the snapshots on `features` carry them."""

from __future__ import annotations

import pytest

from core.settings import Settings
from services.stack import Stack
from solbot.audit import read_topic
from solbot.runner import drain
from tests.integration.harness import running_pipeline, until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_snapshots_carry_the_quote_and_perp_features(
    fresh_stack: Stack, fresh_settings: Settings
) -> None:
    async with running_pipeline(
        fresh_settings, fresh_stack, seed=7, rate_eps=200, duration_s=25, market_data_ms=1_000
    ) as p:
        assert await until(lambda: p.monitor.counts.signals > 0, 90)
        await p.feed
        await drain(p.monitor, quiet_s=3, limit_s=20)
        bootstrap = p.bootstrap
    snapshots = [s for s in await read_topic(bootstrap, "features") if "features" in s]
    by_pair: dict[str, list[dict[str, float]]] = {}
    for snap in snapshots:
        by_pair.setdefault(snap["pair"], []).append(snap["features"])
    sol, jup = by_pair["SOL/USDC"], by_pair["JUP/USDC"]
    assert sum(f.get("has_perp", 0.0) for f in sol) > len(sol) / 2  # SOL-PERP priced SOL/USDC
    assert sum(f.get("has_quote", 0.0) for f in sol) > len(sol) / 2
    assert sum(f.get("has_quote", 0.0) for f in jup) > len(jup) / 2 and not any("has_perp" in f for f in jup)
    letters = await read_topic(bootstrap, "dlq.raw")
    assert [d for d in letters if d.get("topic") in ("raw.quotes", "raw.perps")] == []
