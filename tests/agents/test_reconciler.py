"""The reconciler on a real database: a fill the risk state never got is applied from the sink's record,
saved through the risk table, counted, and alerted."""

from __future__ import annotations

from typing import Any

import asyncpg
from agent_fakes import Connections
from test_risk_runner import runner, signal_event, state_of

from agents.reconcile import RiskReconciler
from store.execution import ExecutionSink
from streams.codec import decode
from streams.records import Order
from venues.paper.execution import PaperVenue


class DatabaseConnections(Connections):
    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__()
        self._pool = pool

    async def pool(self, name: str, *, max_size: int = 5) -> Any:
        return self._pool


async def test_a_lost_fill_is_applied_from_the_database_after_the_grace(migrated_pool: asyncpg.Pool) -> None:
    r = runner()
    r.ctx.settings = r.ctx.settings.model_copy(update={"reconcile_grace_s": 30.0})
    r.ctx.connections = DatabaseConnections(migrated_pool)  # type: ignore[assignment]
    await r.decide_batch([signal_event(0, "sig:a", 1_000)])
    order = decode(Order, r.ctx.topics.orders_topic.sent[0][1])  # type: ignore[attr-defined]
    sink = ExecutionSink(migrated_pool, consumer="execution", portfolio="main", venue=PaperVenue())
    await sink.ensure_wallet({order.pool_state.quote_mint: 10**12})
    [fill] = await sink.apply("orders", 0, [(0, order)], now_ms=2_000)  # its fill record is then lost
    reconciler = RiskReconciler(r.ctx, r)
    first = await reconciler.run(1_000.0)
    assert first is not None and first.fills == [] and list(state_of(r).pending) == [order.id]
    second = await reconciler.run(1_031.0)
    assert second is not None and second.fills == [fill]
    state = state_of(r)  # saved through the table
    assert state.pending == {} and fill.id in state.recent_fills
    alerts = r.ctx.connections.alerts  # type: ignore[attr-defined]
    assert [code for _, code, _ in alerts] == ["reconcile.pending_executed"]
    assert (await reconciler.run(1_100.0)).differences == []  # type: ignore[union-attr]
