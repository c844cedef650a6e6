"""`store.portfolio`: the balances and positions the sink booked, read back as exact typed rows."""

from __future__ import annotations

import asyncpg
from test_execution_sink import BASE, INITIAL, QUOTE, make_order, make_sink

from store.portfolio import Balance, Position, read_balances, read_positions


async def test_nothing_booked_reads_empty(pool: asyncpg.Pool) -> None:
    assert await read_balances(pool, "p1") == []
    assert await read_positions(pool, "p1") == []


async def test_reads_what_the_sink_booked(pool: asyncpg.Pool) -> None:
    sink = make_sink(pool)
    await sink.ensure_wallet(INITIAL)
    (buy,) = await sink.apply("orders", 0, [(0, make_order(0))], now_ms=1)
    await sink.apply("orders", 0, [(1, make_order(1, "sell", amount_in=buy.base_amount // 4))], now_ms=2)

    balances = await read_balances(pool, "p1")
    assert [b.mint for b in balances] == sorted(INITIAL)  # by mint
    assert {b.mint: b.amount for b in balances} == await sink.balances()
    assert all(isinstance(b.amount, int) for b in balances)

    (position,) = await read_positions(pool, "p1")
    stored = (await sink.positions())[0]
    assert position == Position(
        pair="TOK/SOL",
        base_mint=BASE,
        quote_mint=QUOTE,
        base_decimals=6,
        quote_decimals=9,
        base_amount=int(stored["base_amount"]),
        cost_quote=int(stored["cost_quote"]),
        realised_pnl_quote=float(stored["realised_pnl_quote"]),
    )
    assert position.base_amount == buy.base_amount - buy.base_amount // 4
    assert isinstance(position.base_amount, int) and isinstance(position.cost_quote, int)


async def test_amounts_beyond_a_float_stay_exact_and_portfolios_stay_apart(pool: asyncpg.Pool) -> None:
    huge = 10**38 + 7  # numeric(39,0): a float would round it
    await pool.execute(
        "INSERT INTO balances (portfolio, mint, amount) VALUES ('p1', 'm2', $1), "
        "('p1', 'm1', 5), ('other', 'm1', 9)",
        huge,
    )
    await pool.execute(
        "INSERT INTO positions (portfolio, pair, base_mint, quote_mint, base_decimals, quote_decimals,"
        " base_amount, cost_quote, realised_pnl_quote) VALUES"
        " ('p1', 'B/Q', 'mb', 'mq', 6, 9, $1, 3, -1.5), ('p1', 'A/Q', 'ma', 'mq', 9, 9, 0, 0, 2.0),"
        " ('other', 'A/Q', 'ma', 'mq', 9, 9, 1, 1, 0)",
        huge,
    )
    assert await read_balances(pool, "p1") == [Balance("m1", 5), Balance("m2", huge)]
    positions = await read_positions(pool, "p1")
    assert [p.pair for p in positions] == ["A/Q", "B/Q"]  # by pair, a closed one included
    assert positions[1].base_amount == huge and positions[1].realised_pnl_quote == -1.5
    async with pool.acquire() as conn:  # a connection works as well as the pool
        assert await read_balances(conn, "other") == [Balance("m1", 9)]
