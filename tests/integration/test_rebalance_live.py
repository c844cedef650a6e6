"""Rebalancing on the running pipeline: ask for a target, the positions reach it within 30 s."""

from __future__ import annotations

import json
import time
from collections import Counter

import asyncpg
import pytest
import redis.asyncio as aioredis

from services.stack import Stack
from solbot.audit import read_topic
from solbot.commands.control import publish
from solbot.commands.rebalance import rebalance_record
from solbot.runner import equity_usdc
from solbot.settings import Settings
from store import latest_prices
from tests.integration.harness import running_pipeline, until
from web.alerts import ALERTS_KEY

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TARGET = 0.03  # of equity: under MAX_POSITION_PCT (5 %), so no cap


async def _alerts(redis_url: str) -> list[dict[str, object]]:
    redis = aioredis.Redis.from_url(redis_url)
    try:
        return [json.loads(a) for a in await redis.lrange(ALERTS_KEY, 0, -1)]
    finally:
        await redis.aclose()


async def test_rebalance_reaches_the_target_within_30_s(fresh_stack: Stack, fresh_settings: Settings) -> None:
    async with running_pipeline(fresh_settings, fresh_stack, seed=7, rate_eps=300, duration_s=150) as p:
        counts = p.monitor.counts
        assert await until(lambda: counts.orders + counts.rejected >= 5, 90), "risk never decided"
        signalled = Counter(s["pair"] for s in await read_topic(p.bootstrap, "signals"))
        pair = max((x for x in signalled if x.endswith("/USDC")), key=lambda x: signalled[x])
        control = rebalance_record({pair: TARGET}, "integration")
        asked = time.monotonic()
        await publish(p.bootstrap, fresh_settings.portfolio, control, 4)
        ended: list[dict[str, object]] = []

        async def poll() -> bool:
            ended[:] = [a for a in await _alerts(fresh_stack.redis_url) if control.id in str(a["message"])]
            return bool(ended)

        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not await poll():
            await until(lambda: False, 0.3)
        took_s = time.monotonic() - asked
        # Cross-check in the books right away (a later model signal may trade the pair again).
        equity = await equity_usdc(fresh_stack.database_url, fresh_stack.redis_url, fresh_settings.portfolio)
        prices = await latest_prices.read(fresh_stack.redis_url)
        row = await _position(fresh_stack.database_url, pair)
    assert ended, "the rebalance never ended"
    alert = ended[0]
    print(f"rebalance {pair} -> {TARGET:.0%}: {alert['code']} {took_s:.1f} s after the request")
    print(f"  {alert['message']}")
    assert alert["code"] == "rebalance_done", alert
    assert took_s < 30.0
    orders = [
        o for o in await read_topic(p.bootstrap, "orders") if o["id"].startswith(f"rebal:{control.id}:")
    ]
    fills = {f["order_id"]: f for f in await read_topic(p.bootstrap, "fills")}
    assert orders and all(fills[o["id"]]["status"] == "filled" for o in orders)
    assert all(o["kind"] == "rebalance" and o["reason"].startswith("rebalance: ") for o in orders)
    assert row is not None
    value = int(row["base_amount"]) / 10 ** row["base_decimals"] * prices[pair]
    off_pct = abs(value - TARGET * equity) / equity * 100.0
    print(f"  books: {pair} worth {value:.2f} of equity {equity:.2f} USDC ({off_pct:.2f}% off target)")
    # Tolerance, plus as much again for prices moving and model trades between the end and this check.
    assert off_pct <= 2 * fresh_settings.rebalance_tolerance_pct


async def _position(database_url: str, pair: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchrow("SELECT base_amount, base_decimals FROM positions WHERE pair = $1", pair)
    finally:
        await conn.close()
