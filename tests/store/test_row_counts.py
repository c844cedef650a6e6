"""`store.row_counts`: what the system status reports the pipeline has recorded."""

from __future__ import annotations

import asyncpg
from test_execution_sink import INITIAL, make_order, make_sink

from store.risk import RiskDecisionRow, record_decisions
from store.row_counts import COUNTED_TABLES, count_rows


async def test_counts_every_table(pool: asyncpg.Pool) -> None:
    assert await count_rows(pool) == dict.fromkeys(COUNTED_TABLES, 0)
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    await sink.apply("orders", 0, [(0, make_order(0)), (1, make_order(1, min_out=10**15))], now_ms=1)
    async with pool.acquire() as conn:
        await record_decisions(
            conn, [RiskDecisionRow("dec:0", "sig:0", "p1", "TOK/SOL", "approve", "ord:0", "", 1, 2)]
        )
        assert await count_rows(conn) == {"orders": 2, "executions": 2, "positions": 1, "risk_decisions": 1}
