"""Rebalancing on the running pipeline: ask for a target, the positions reach it within 30 s."""

from __future__ import annotations

import json
import time
from collections import Counter

import asyncpg
import pytest
import redis.asyncio as aioredis

from core.settings import Settings
from services.stack import Stack
from solbot.audit import read_topic
from solbot.commands.control import publish
from solbot.commands.rebalance import rebalance_record
from solbot.runner import equity_usdc
from store.alerts import ALERTS_KEY
from tests.integration.harness import running_pipeline, until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TARGETS = (0.03, 0.0)  # of equity: under MAX_POSITION_PCT (5 %), so no cap; 0 when the books hold 3 %


async def _alerts(redis_url: str) -> list[dict[str, object]]:
    redis = aioredis.Redis.from_url(redis_url)
    try:
        return [json.loads(a) for a in await redis.lrange(ALERTS_KEY, 0, -1)]
    finally:
        await redis.aclose()


async def _ended(redis_url: str, control_id: str, within_s: float) -> list[dict[str, object]]:
    """The alerts that name `control_id` (the rebalance's end), polled for up to `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        ended = [a for a in await _alerts(redis_url) if control_id in str(a["message"])]
        if ended or time.monotonic() >= deadline:
            return ended
        await until(lambda: False, 0.3)


async def test_rebalance_reaches_the_target_within_30_s(fresh_stack: Stack, fresh_settings: Settings) -> None:
    async with running_pipeline(fresh_settings, fresh_stack, seed=7, rate_eps=300, duration_s=150) as p:
        counts = p.monitor.counts
        assert await until(lambda: counts.orders + counts.rejected >= 5, 90), "risk never decided"
        signalled = Counter(s["pair"] for s in await read_topic(p.bootstrap, "signals"))
        pair = max((x for x in signalled if x.endswith("/USDC")), key=lambda x: signalled[x])
        # A target the books already meet ends with no slice; then the other one asks for trades.
        for target in TARGETS:
            control = rebalance_record({pair: target}, "integration")
            asked = time.monotonic()
            await publish(p.bootstrap, fresh_settings.portfolio, control, 4)
            ended = await _ended(fresh_stack.redis_url, control.id, within_s=45)
            took_s = time.monotonic() - asked
            if not ended or " 0 slices" not in str(ended[0]["message"]):
                break
        equity = await equity_usdc(fresh_stack.database_url, fresh_stack.redis_url, fresh_settings.portfolio)
    assert ended, "the rebalance never ended"
    alert = ended[0]
    print(f"rebalance {pair} -> {target:.0%}: {alert['code']} {took_s:.1f} s after the request")
    print(f"  {alert['message']}")
    assert alert["code"] == "rebalance_done", alert
    assert took_s < 30.0
    orders = [
        o for o in await read_topic(p.bootstrap, "orders") if o["id"].startswith(f"rebal:{control.id}:")
    ]
    fills = {f["order_id"]: f for f in await read_topic(p.bootstrap, "fills")}
    assert orders and all(fills[o["id"]]["status"] == "filled" for o in orders)
    assert all(o["kind"] == "rebalance" and o["reason"].startswith("rebalance: ") for o in orders)
    # The books as the last slice left them (the model's own trades on the pair may follow it).
    base, decimals, price = await _position_after(fresh_stack.database_url, pair, [o["id"] for o in orders])
    value = base / 10**decimals * price
    off_pct = abs(value - target * equity) / equity * 100.0
    print(
        f"  books after the last slice: {pair} worth {value:.2f} of equity {equity:.2f} USDC "
        f"({off_pct:.2f}% off the target)"
    )
    # Tolerance, plus as much again for equity moving with prices between the end and this check.
    assert off_pct <= 2 * fresh_settings.rebalance_tolerance_pct


async def _position_after(database_url: str, pair: str, order_ids: list[str]) -> tuple[int, int, float]:
    """The pair's filled base (buys - sells) up to the last of `order_ids`' executions, its decimals and the
    price of that execution."""
    conn = await asyncpg.connect(database_url)
    try:
        last = await conn.fetchrow(
            "SELECT seq, price, base_decimals FROM executions WHERE order_id = ANY($1::text[]) "
            "ORDER BY seq DESC LIMIT 1",
            order_ids,
        )
        assert last is not None
        base = await conn.fetchval(
            "SELECT coalesce(sum(CASE WHEN side = 'buy' THEN base_amount ELSE -base_amount END), 0) "
            "FROM executions WHERE pair = $1 AND status = 'filled' AND seq <= $2",
            pair,
            last["seq"],
        )
        return int(base), int(last["base_decimals"]), float(last["price"])
    finally:
        await conn.close()
