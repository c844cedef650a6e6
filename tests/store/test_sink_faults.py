"""An exception inside the sink's transaction (FAULT_INJECT sink.apply, as a connection reset before commit)
leaves nothing behind; the orders read again apply once. And what reconciliation reads of the record."""

from __future__ import annotations

import asyncpg
import pytest
from test_execution_sink import INITIAL, TOPIC, make_order, make_sink

from core.errors import InjectedFault
from core.faults import FaultInjector
from store.reconcile import order_outcomes


async def test_a_batch_failing_inside_the_transaction_leaves_nothing_and_applies_once_when_read_again(
    pool: asyncpg.Pool,
) -> None:
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    sink.faults = FaultInjector({"sink.apply": 1.0})
    batch = [(7, make_order(1)), (8, make_order(2))]
    with pytest.raises(InjectedFault):
        await sink.apply(TOPIC, 0, batch, now_ms=1)
    assert await sink.next_offsets(TOPIC) == {}  # the offset row was rolled back with the rest
    assert await pool.fetchval("SELECT count(*) FROM orders") == 0
    assert await sink.balances() == INITIAL and await sink.unpublished() == []
    sink.faults = FaultInjector({})
    fills = await sink.apply(TOPIC, 0, batch, now_ms=2)
    assert [f.order_id for f in fills] == ["ord:1", "ord:2"]
    assert await sink.apply(TOPIC, 0, batch, now_ms=3) == []
    assert await sink.next_offsets(TOPIC) == {0: 9}


async def test_order_outcomes_name_the_status_and_the_execution_of_known_orders(pool: asyncpg.Pool) -> None:
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    [fill] = await sink.apply(TOPIC, 0, [(0, make_order(1))], now_ms=5)
    outcomes = await order_outcomes(pool, "p1", ["ord:1", "ord:unknown"])
    assert outcomes == {"ord:1": ("filled", fill)}
    assert await order_outcomes(pool, "p1", []) == {}
    assert await order_outcomes(pool, "other", ["ord:1"]) == {}
