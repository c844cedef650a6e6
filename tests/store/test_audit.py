"""`store.audit`: the reads behind the exactly-once audit."""

from __future__ import annotations

import asyncpg
from test_execution_sink import INITIAL, make_order, make_sink

from store.audit import filled_base_by_pair, orders_executed_more_than_once
from store.portfolio import read_positions


async def test_net_filled_base_matches_the_position(pool: asyncpg.Pool) -> None:
    assert await filled_base_by_pair(pool, "p1") == {}
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    fills = await sink.apply("orders", 0, [(0, make_order(0)), (1, make_order(1))], now_ms=1)
    bought = sum(f.base_amount for f in fills)
    (sold,) = await sink.apply("orders", 0, [(2, make_order(2, "sell", amount_in=bought // 3))], now_ms=2)
    await sink.apply("orders", 0, [(3, make_order(3, min_out=10**15))], now_ms=3)  # failed: not counted
    net = await filled_base_by_pair(pool, "p1")
    assert net == {"TOK/SOL": bought - sold.base_amount}
    assert net == {p.pair: p.base_amount for p in await read_positions(pool, "p1")}
    assert await filled_base_by_pair(pool, "other") == {}


async def test_no_order_executed_twice(pool: asyncpg.Pool) -> None:
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    batch = [(0, make_order(0)), (1, make_order(1))]
    await sink.apply("orders", 0, batch, now_ms=1)
    await sink.apply("orders", 0, batch, now_ms=2)  # re-delivered: skipped
    assert await orders_executed_more_than_once(pool) == {}


async def test_an_order_executed_twice_is_found(pool: asyncpg.Pool) -> None:
    """The schema forbids it (executions.order_id is unique); the audit must still see it if that slipped."""
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    await sink.apply("orders", 0, [(0, make_order(0)), (1, make_order(1))], now_ms=1)
    await pool.execute("ALTER TABLE executions DROP CONSTRAINT executions_order_id_key")
    await pool.execute("ALTER TABLE executions DROP CONSTRAINT executions_signature_key")
    await pool.execute(
        "INSERT INTO executions (fill_id, order_id, portfolio, pair, side, status, reason, venue, pool,"
        " base_amount, quote_amount, fee_quote, price, base_decimals, quote_decimals, signature, ts_ms,"
        " origin_ms, filled_ms) SELECT fill_id || ':again', order_id, portfolio, pair, side, status, reason,"
        " venue, pool, base_amount, quote_amount, fee_quote, price, base_decimals, quote_decimals, signature,"
        " ts_ms, origin_ms, filled_ms FROM executions WHERE order_id = 'ord:1'"
    )
    assert await orders_executed_more_than_once(pool) == {"ord:1": 2}
