"""`store.trades`: pages of executions with their orders, an order's outcome, the replay's rows."""

from __future__ import annotations

import asyncpg
from test_execution_sink import INITIAL, make_order, make_sink

from store.trades import ExecutionRow, TradeRow, read_executions, read_trades, terminal_status


async def _book(pool: asyncpg.Pool) -> None:
    """Four orders on p1: three fills and, third, a failed one (slippage)."""
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    orders = [make_order(0), make_order(1), make_order(2, min_out=10**15), make_order(3)]
    await sink.apply("orders", 0, list(enumerate(orders)), now_ms=5_000)


async def test_pages_newest_first_until_the_end(pool: asyncpg.Pool) -> None:
    await _book(pool)
    first = await read_trades(pool, "p1", limit=3)
    assert [r.order_id for r in first.rows] == ["ord:3", "ord:2", "ord:1"]
    assert first.next_before_seq == first.rows[-1].seq
    second = await read_trades(pool, "p1", limit=3, before_seq=first.next_before_seq)
    assert [r.order_id for r in second.rows] == ["ord:0"] and second.next_before_seq is None
    exact = await read_trades(pool, "p1", limit=4)  # exactly what is left: no next page
    assert len(exact.rows) == 4 and exact.next_before_seq is None


async def test_rows_are_typed_and_exact(pool: asyncpg.Pool) -> None:
    await _book(pool)
    (row,) = (await read_trades(pool, "p1", limit=1, before_seq=None, status="failed")).rows
    assert isinstance(row, TradeRow)
    assert (row.order_id, row.signal_id, row.side, row.kind, row.status) == (
        "ord:2",
        "sig:2",
        "buy",
        "entry",
        "failed",
    )
    assert row.order_status == "failed" and row.signature is None and row.base_amount == 0
    assert row.min_amount_out == 10**15 and row.amount_in == 1_000_000_000
    assert (row.ts_ms, row.origin_ms, row.decided_ms, row.filled_ms) == (1_002, 902, 952, 5_000)
    filled = (await read_trades(pool, "p1", limit=10, status="filled")).rows
    assert [r.order_id for r in filled] == ["ord:3", "ord:1", "ord:0"]
    for r in filled:
        assert all(isinstance(v, int) for v in (r.base_amount, r.quote_amount, r.fee_quote, r.amount_in))
        assert r.base_amount > 0 and r.quote_amount > r.fee_quote > 0 and r.signature


async def test_filters(pool: asyncpg.Pool) -> None:
    await _book(pool)
    assert (await read_trades(pool, "other", limit=10)).rows == []
    assert (await read_trades(pool, "p1", limit=10, pair="X/Y")).rows == []
    assert len((await read_trades(pool, "p1", limit=10, pair="TOK/SOL")).rows) == 4
    assert [r.order_id for r in (await read_trades(pool, "p1", limit=10, since_ms=1_002)).rows] == [
        "ord:3",
        "ord:2",
    ]
    assert (await read_trades(pool, "p1", limit=10, status="cancelled")).rows == []


async def test_terminal_status(pool: asyncpg.Pool) -> None:
    assert await terminal_status(pool, "ord:0") is None
    await _book(pool)
    assert await terminal_status(pool, "ord:0") == "filled"
    assert await terminal_status(pool, "ord:2") == "failed"
    assert await terminal_status(pool, "ord:9") is None


async def test_executions_in_recorded_order(pool: asyncpg.Pool) -> None:
    assert await read_executions(pool, "p1") == []
    await _book(pool)
    rows = await read_executions(pool, "p1")
    assert [(r.status, r.side) for r in rows] == [("filled", "buy")] * 2 + [
        ("failed", "buy"),
        ("filled", "buy"),
    ]
    assert rows[2] == ExecutionRow("TOK/SOL", "buy", "failed", 0, 0)
    trades = (await read_trades(pool, "p1", limit=10)).rows[::-1]
    assert [(r.base_amount, r.quote_amount) for r in rows] == [
        (t.base_amount, t.quote_amount) for t in trades
    ]
