"""`solbot halt` stops new risk within one second on the real embedded stack (worker + simulator)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from core.settings import Settings
from services.stack import Stack
from solbot.audit import read_topic
from solbot.commands.control import control_record, publish
from tests.integration.harness import running_pipeline, until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_halt_rejects_every_buy_decided_a_second_after_it(
    fresh_stack: Stack, fresh_settings: Settings
) -> None:
    async with running_pipeline(fresh_settings, fresh_stack, seed=7, rate_eps=400, duration_s=60) as p:
        counts = p.monitor.counts
        assert await until(lambda: counts.orders >= 1, 90), "no orders before the halt"
        halt_ms = int(time.time() * 1000)
        await publish(p.bootstrap, fresh_settings.portfolio, control_record("halt", "test", False), 4)
        before = counts.orders + counts.rejected
        assert await until(lambda: counts.orders + counts.rejected > before + 5, 60), (
            "no decisions after the halt"
        )
        await asyncio.sleep(2)
    orders = await read_topic(p.bootstrap, "orders")
    rejected = await read_topic(p.bootstrap, "orders.rejected")
    late_buys = [o for o in orders if o["side"] == "buy" and o["decided_ms"] > halt_ms + 1_000]
    halted = [r for r in rejected if r["reason"].startswith("halted: manual: test")]
    assert late_buys == []
    assert halted, "the halt never reached the risk agent"
    first = min(r["decided_ms"] for r in halted)
    print(f"halt published at {halt_ms}, first halted rejection decided {first - halt_ms} ms later")
    # Every decision (approve, resize, reject; exits included) is in the audit table, once.
    conn = await asyncpg.connect(fresh_stack.database_url)
    try:
        audited = {r["decision_id"] for r in await conn.fetch("SELECT decision_id FROM risk_decisions")}
    finally:
        await conn.close()
    assert audited == {d["id"] for d in orders + rejected}
