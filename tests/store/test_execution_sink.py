"""The execution sink: exactly-once effects per order, balances and positions that add up, the outbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import asyncpg
import pytest

from core.errors import VenueError
from market.fills import mint_flows
from store.execution import ExecutionSink
from streams.records import Fill, Order, PoolState
from venues.paper.execution import PaperVenue

BASE, QUOTE = "TokenMint111", "So11111111111111111111111111111111111111112"
TOPIC = "orders"
INITIAL = {QUOTE: 100_000_000_000, BASE: 0}  # 100 SOL


def pool_state() -> PoolState:
    return PoolState(
        venue="raydium",
        pool="pool-cp",
        base_mint=BASE,
        quote_mint=QUOTE,
        base_decimals=6,
        quote_decimals=9,
        base_reserve=1_000_000_000_000,
        quote_reserve=10_000_000_000_000,
        fee_bps=25,
    )


def make_order(n: int, side: str = "buy", amount_in: int = 1_000_000_000, min_out: int = 0) -> Order:
    return Order(
        id=f"ord:{n}",
        signal_id=f"sig:{n}",
        pair="TOK/SOL",
        side=side,
        amount_in=amount_in,
        min_amount_out=min_out,
        venue="raydium",
        pool="pool-cp",
        pool_state=pool_state(),
        kind="entry" if side == "buy" else "exit",
        reason="test",
        ts_ms=1_000 + n,
        origin_ms=900 + n,
        decided_ms=950 + n,
    )


def make_sink(pool: asyncpg.Pool, consumer: str = "execution") -> ExecutionSink:
    return ExecutionSink(pool, consumer=consumer, portfolio="p1", venue=PaperVenue())


@pytest.fixture
async def sink(pool: asyncpg.Pool) -> ExecutionSink:
    s = make_sink(pool)
    await s.ensure_wallet(INITIAL)
    return s


async def _count(pool: asyncpg.Pool, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


def _expected_balances(orders: Mapping[str, Order], fills: list[Fill]) -> dict[str, int]:
    expected = dict(INITIAL)
    for fill in fills:
        for mint, delta in mint_flows(orders[fill.order_id], fill).items():
            expected[mint] = expected.get(mint, 0) + delta
    return expected


async def test_ensure_wallet_seeds_only_once(sink: ExecutionSink) -> None:
    await sink.ensure_wallet({QUOTE: 1})
    assert await sink.balances() == INITIAL


async def test_batch_applied_twice_executes_once(sink: ExecutionSink, pool: asyncpg.Pool) -> None:
    batch = [(10 + i, make_order(i)) for i in range(5)]
    fills = await sink.apply(TOPIC, 0, batch, now_ms=2_000)
    assert [f.order_id for f in fills] == [f"ord:{i}" for i in range(5)]
    assert all(f.status == "filled" for f in fills)
    balances = await sink.balances()
    assert await sink.apply(TOPIC, 0, batch, now_ms=3_000) == []
    assert await sink.balances() == balances
    assert await sink.next_offsets(TOPIC) == {0: 15}
    assert await _count(pool, "executions") == 5
    statuses = await pool.fetch("SELECT DISTINCT status FROM orders")
    assert [r["status"] for r in statuses] == ["filled"]


async def test_overlapping_batch_executes_only_the_new_tail(sink: ExecutionSink) -> None:
    await sink.apply(TOPIC, 0, [(0, make_order(0)), (1, make_order(1))], now_ms=1)
    fills = await sink.apply(TOPIC, 0, [(1, make_order(1)), (2, make_order(2))], now_ms=2)
    assert [f.order_id for f in fills] == ["ord:2"]
    assert await sink.next_offsets(TOPIC) == {0: 3}


async def test_order_redelivered_at_new_offset_executes_once(sink: ExecutionSink, pool: asyncpg.Pool) -> None:
    await sink.apply(TOPIC, 0, [(0, make_order(0))], now_ms=1)
    # Re-published by a restarted producer (new offset), and duplicated within one batch.
    fills = await sink.apply(TOPIC, 0, [(1, make_order(0)), (2, make_order(1)), (3, make_order(1))], now_ms=2)
    assert [f.order_id for f in fills] == ["ord:1"]
    assert await _count(pool, "executions") == 2
    assert await sink.next_offsets(TOPIC) == {0: 4}


async def test_offsets_are_per_partition_and_consumer(pool: asyncpg.Pool, sink: ExecutionSink) -> None:
    await sink.apply(TOPIC, 0, [(7, make_order(0))], now_ms=1)
    await sink.apply(TOPIC, 3, [(2, make_order(1))], now_ms=1)
    assert await sink.next_offsets(TOPIC) == {0: 8, 3: 3}
    assert await make_sink(pool, consumer="other").next_offsets(TOPIC) == {}
    assert await sink.next_offsets("other-topic") == {}


async def test_balances_and_positions_add_up(sink: ExecutionSink) -> None:
    orders = {}
    batch = []
    for i in range(6):
        orders[f"ord:{i}"] = make_order(i, amount_in=2_000_000_000)
        batch.append((i, orders[f"ord:{i}"]))
    fills = await sink.apply(TOPIC, 0, batch, now_ms=1)
    bought = sum(f.base_amount for f in fills)
    sells = [make_order(100 + i, side="sell", amount_in=bought // 4) for i in range(3)]
    orders.update({o.id: o for o in sells})
    fills += await sink.apply(TOPIC, 0, [(6 + i, o) for i, o in enumerate(sells)], now_ms=2)
    assert all(f.status == "filled" for f in fills)

    balances = await sink.balances()
    assert balances == _expected_balances(orders, fills)
    assert all(amount >= 0 for amount in balances.values())

    buys = [f for f in fills if f.side == "buy"]
    cost = sum(f.quote_amount for f in buys)
    held, pnl = bought, 0
    for f in fills[len(buys) :]:
        removed = cost * f.base_amount // held
        held, cost, pnl = held - f.base_amount, cost - removed, pnl + f.quote_amount - removed
    [position] = await sink.positions()
    assert position["base_amount"] == held == balances[BASE]
    assert position["cost_quote"] == cost
    assert position["realised_pnl_quote"] == pnl < 0  # fees and impact: round trips at one price lose
    assert (position["base_mint"], position["quote_mint"]) == (BASE, QUOTE)


async def test_closed_position_is_kept_with_zero_base(sink: ExecutionSink) -> None:
    [buy] = await sink.apply(TOPIC, 0, [(0, make_order(0))], now_ms=1)
    [sell] = await sink.apply(
        TOPIC, 0, [(1, make_order(1, side="sell", amount_in=buy.base_amount))], now_ms=2
    )
    [position] = await sink.positions()
    assert (position["base_amount"], position["cost_quote"]) == (0, 0)
    assert position["realised_pnl_quote"] == sell.quote_amount - buy.quote_amount
    assert (await sink.balances())[BASE] == 0


async def test_slippage_and_insufficient_balance_fail_and_move_nothing(
    sink: ExecutionSink, pool: asyncpg.Pool
) -> None:
    batch = [
        (0, make_order(0, min_out=10**15)),  # slippage
        (1, make_order(1, amount_in=INITIAL[QUOTE] + 1)),  # more SOL than the wallet holds
        (2, make_order(2, side="sell", amount_in=1)),  # no base held
    ]
    fills = await sink.apply(TOPIC, 0, batch, now_ms=1)
    assert [(f.status, f.reason) for f in fills] == [
        ("failed", "slippage"),
        ("failed", "insufficient_balance"),
        ("failed", "insufficient_balance"),
    ]
    assert await sink.balances() == INITIAL
    assert await sink.positions() == []
    rows = await pool.fetch("SELECT status, reason FROM orders ORDER BY order_id")
    assert [(r["status"], r["reason"]) for r in rows] == [(f.status, f.reason) for f in fills]
    assert await sink.next_offsets(TOPIC) == {0: 3}


async def test_wallet_spent_within_a_batch(sink: ExecutionSink) -> None:
    """Each order sees the balances the previous orders of the same batch left."""
    batch = [(i, make_order(i, amount_in=40_000_000_000)) for i in range(3)]
    fills = await sink.apply(TOPIC, 0, batch, now_ms=1)
    assert [f.reason for f in fills] == ["", "", "insufficient_balance"]
    assert (await sink.balances())[QUOTE] == 20_000_000_000


async def test_malformed_order_is_recorded_failed_not_wedged(sink: ExecutionSink) -> None:
    bad = make_order(0)
    bad.pool = "elsewhere"
    [fill] = await sink.apply(TOPIC, 0, [(0, bad)], now_ms=1)
    assert (fill.status, fill.reason) == ("failed", "invalid_order")
    assert await sink.next_offsets(TOPIC) == {0: 1}


async def test_outbox_unpublished_then_marked(sink: ExecutionSink) -> None:
    fills = await sink.apply(TOPIC, 0, [(i, make_order(i)) for i in range(3)], now_ms=5)
    fills += await sink.apply(TOPIC, 0, [(3, make_order(3, min_out=10**15))], now_ms=6)
    pending = await sink.unpublished()
    assert [f.asdict() for f in pending] == [f.asdict() for f in fills]  # oldest first, round-trips exactly
    await sink.mark_published([fills[0].id, fills[1].id])
    assert [f.id for f in await sink.unpublished()] == [fills[2].id, fills[3].id]
    await sink.mark_published([f.id for f in fills])
    assert await sink.unpublished() == []


async def test_two_sinks_racing_on_the_same_batch_execute_once(pool: asyncpg.Pool, migrated_url: str) -> None:
    from store.db import create_pool

    other_pool = await create_pool(migrated_url)
    try:
        first, second = make_sink(pool), make_sink(other_pool)
        await first.ensure_wallet(INITIAL)
        batch = [(i, make_order(i)) for i in range(20)]
        results = await asyncio.gather(
            first.apply(TOPIC, 0, batch, now_ms=1), second.apply(TOPIC, 0, batch, now_ms=1)
        )
    finally:
        await other_pool.close()
    assert sorted(len(r) for r in results) == [0, 20]
    assert await _count(pool, "executions") == 20
    fills = results[0] or results[1]
    orders = {o.id: o for _, o in batch}
    assert await first.balances() == _expected_balances(orders, fills)


async def test_hundred_order_batch_is_fast(sink: ExecutionSink) -> None:
    orders = [make_order(i, amount_in=100_000_000) for i in range(100)]
    started = time.perf_counter()
    fills = await sink.apply(TOPIC, 0, list(enumerate(orders)), now_ms=1)
    elapsed = time.perf_counter() - started
    print(f"apply(100 orders) took {elapsed * 1000:.1f} ms")
    assert len(fills) == 100
    assert elapsed < 2.0


class _FlakyVenue(PaperVenue):
    """Fails transiently on one order: the whole batch must roll back, offset included."""

    async def execute(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        if order.id == "ord:1":
            raise VenueError("rpc timeout")
        return await super().execute(order, wallet, now_ms)


async def test_transient_venue_error_rolls_the_batch_back(pool: asyncpg.Pool, sink: ExecutionSink) -> None:
    flaky = ExecutionSink(pool, consumer="execution", portfolio="p1", venue=_FlakyVenue())
    batch = [(i, make_order(i)) for i in range(3)]
    with pytest.raises(VenueError):
        await flaky.apply(TOPIC, 0, batch, now_ms=1)
    assert await flaky.next_offsets(TOPIC) == {}  # even the first-seen offset row rolled back
    assert await _count(pool, "orders") == 0
    assert await sink.balances() == INITIAL
    assert len(await sink.apply(TOPIC, 0, batch, now_ms=2)) == 3  # the retry executes everything
