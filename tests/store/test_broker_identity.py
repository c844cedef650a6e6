"""The broker identity beside the broker-bound state, and the reset that clears that state on purpose."""

from __future__ import annotations

import asyncpg

from store import broker_identity as stored


async def _seed_bound_state(conn: asyncpg.Connection) -> None:
    """A sink offset, a model checkpoint and one order with an unsent and one with a sent fill."""
    await conn.execute(
        "INSERT INTO sink_offsets (consumer, topic, partition, next_offset) VALUES ('sink', 'orders', 0, 7)"
    )
    await conn.execute(
        "INSERT INTO model_checkpoints (model_key, river_version, created_ts_ms, payload)"
        " VALUES ('features/0', '0', 0, '\\x00')"
    )
    for n, published in ((1, False), (2, True)):
        await conn.execute(
            "INSERT INTO orders (order_id, signal_id, portfolio, pair, side, kind, venue, pool, amount_in,"
            " min_amount_out, ts_ms, origin_ms, decided_ms)"
            " VALUES ($1, $1, 'p', 'SOL/USDC', 'buy', 'entry', 'paper', 'pool', 1, 0, 0, 0, 0)",
            f"o{n}",
        )
        await conn.execute(
            "INSERT INTO executions (fill_id, order_id, portfolio, pair, side, status, venue, pool,"
            " base_amount, quote_amount, fee_quote, price, base_decimals, quote_decimals, ts_ms, origin_ms,"
            " filled_ms, published)"
            " VALUES ($1, $2, 'p', 'SOL/USDC', 'buy', 'failed', 'paper', 'pool',"
            " 0, 0, 0, 0, 9, 6, 0, 0, 0, $3)",
            f"f{n}",
            f"o{n}",
            published,
        )


async def test_a_fresh_database_has_no_identity_and_nothing_bound(migrated_url: str) -> None:
    conn = await asyncpg.connect(migrated_url)
    try:
        assert await stored.recorded_identity(conn) is None
        assert (await stored.bound_state(conn)).empty
    finally:
        await conn.close()


async def test_the_first_identity_recorded_stays(migrated_url: str) -> None:
    conn = await asyncpg.connect(migrated_url)
    try:
        assert await stored.record_identity(conn, "c1", "e1") == ("c1", "e1")
        assert await stored.record_identity(conn, "c2", "e2") == ("c1", "e1")  # a concurrent first run lost
        assert await stored.recorded_identity(conn) == ("c1", "e1")
    finally:
        await conn.close()


async def test_reset_clears_the_bound_state_keeps_the_books_and_records_the_new_broker(
    migrated_url: str,
) -> None:
    conn = await asyncpg.connect(migrated_url)
    try:
        await stored.record_identity(conn, "old", "e-old")
        await _seed_bound_state(conn)
        before = await stored.bound_state(conn)
        assert before.sink_offsets == (("orders", 0, 7),)
        assert (before.checkpoints, before.unpublished_fills) == (1, 1)

        cleared = await stored.reset(conn, "new", "e-new")

        assert cleared == before
        assert (await stored.bound_state(conn)).empty
        assert await stored.recorded_identity(conn) == ("new", "e-new")
        assert await conn.fetchval("SELECT count(*) FROM orders") == 2  # the books stay
        assert await conn.fetchval("SELECT count(*) FROM executions") == 2
    finally:
        await conn.close()
