"""The execution sink's order gate on a real Redis: buys refused while the fast path says halt (sells
still execute), cancelled orders end `cancelled`, and Redis being down executes the batch as decided."""

from __future__ import annotations

import time
import uuid

import asyncpg
import redis.asyncio as aioredis
from test_execution_sink import INITIAL, QUOTE, make_order, make_sink

from store.order_gate import OrderGate, request_cancel, set_fast_control
from streams.records import Control

TOPIC = "orders"


async def test_halted_buys_fail_cancelled_orders_cancel_sells_execute(
    pool: asyncpg.Pool, redis_url: str
) -> None:
    portfolio = f"p-{uuid.uuid4().hex[:8]}"
    sink = make_sink(pool)
    sink.portfolio = portfolio
    await sink.ensure_wallet(INITIAL)
    sink.gate = OrderGate(redis_url, portfolio)
    now = int(time.time() * 1000)
    (bought,) = await sink.apply(TOPIC, 0, [(0, make_order(1))], now)
    assert bought.status == "filled"
    redis = aioredis.Redis.from_url(redis_url)
    try:
        halt = Control(
            id=f"ctl:halt:{uuid.uuid4().hex}", action="halt", reason="test", flatten=False, ts_ms=now
        )
        await set_fast_control(redis, portfolio, halt)
        await request_cancel(redis, "ord:4", "by w")
        batch = [
            (1, make_order(2)),
            (2, make_order(3, side="sell", amount_in=bought.base_amount // 2)),
            (3, make_order(4, side="sell", amount_in=1)),
        ]
        fills = {f.order_id: f for f in await sink.apply(TOPIC, 0, batch, now)}
        assert (fills["ord:2"].status, fills["ord:2"].reason) == ("failed", "halted: test")
        assert fills["ord:3"].status == "filled"
        assert (fills["ord:4"].status, fills["ord:4"].reason) == ("cancelled", "cancelled: by w")
        rows = {
            r["order_id"]: (r["status"], r["reason"])
            for r in await pool.fetch("SELECT order_id, status, reason FROM orders WHERE order_id <> 'ord:1'")
        }
        assert rows == {
            "ord:2": ("failed", "halted: test"),
            "ord:3": ("filled", ""),
            "ord:4": ("cancelled", "cancelled: by w"),
        }
        executions = await pool.fetchval("SELECT count(*) FROM executions WHERE status = 'cancelled'")
        assert executions == 1
        resume = Control(
            id=f"ctl:r:{uuid.uuid4().hex}", action="resume", reason="", flatten=False, ts_ms=now + 1
        )
        await set_fast_control(redis, portfolio, resume)
        (again,) = await sink.apply(TOPIC, 0, [(4, make_order(5))], now)
        assert again.status == "filled"
    finally:
        await redis.delete(f"solbot:control:{portfolio}", "solbot:cancel:ord:4")
        await redis.aclose()
    assert (await sink.balances())[QUOTE] < INITIAL[QUOTE]


async def test_redis_down_executes_the_batch_as_decided(pool: asyncpg.Pool) -> None:
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    sink.gate = OrderGate("redis://127.0.0.1:1/0", "p1")
    (fill,) = await sink.apply(TOPIC, 0, [(0, make_order(1))], int(time.time() * 1000))
    assert fill.status == "filled"
