"""Market-data partitions and retention on the real embedded PostgreSQL (no TimescaleDB: native path)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from store.migrate import MIGRATIONS_DIR, load_migrations, migrate
from store.retention import (
    DEFAULT_PARTITION,
    MarketDataRow,
    apply_retention,
    ensure_partitions,
    has_market_data,
    insert_market_data,
    is_timescale,
    list_partitions,
    partition_name,
)

pytestmark = pytest.mark.integration

TODAY = date(2030, 6, 15)  # far from the real clock, so only explicit partitions exist around it


@pytest.fixture
async def conn(fresh_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    await migrate(fresh_database_url)
    connection = await asyncpg.connect(fresh_database_url)
    try:
        yield connection
    finally:
        await connection.close()


def _row(ts: datetime, sig: str, ix: int = 0) -> MarketDataRow:
    return MarketDataRow(
        ts=ts,
        pair="SOL/USDC",
        venue="raydium",
        pool="pool1",
        price=150.25,
        signature=sig,
        side="buy",
        base_amount=2_000_000_000,
        quote_amount=300_500_000,
        slot=123,
        ix=ix,
    )


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def _where(conn: asyncpg.Connection, signature: str) -> str:
    return str(
        await conn.fetchval(
            "SELECT tableoid::regclass::text FROM market_data WHERE signature = $1", signature
        )
    )


async def test_migrations_apply_on_empty_database_and_are_idempotent(fresh_database_url: str) -> None:
    applied = await migrate(fresh_database_url)
    assert applied == [m.name for m in load_migrations(MIGRATIONS_DIR)]  # every migration, in order
    assert "0002_market_data" in applied
    assert await migrate(fresh_database_url) == []
    conn = await asyncpg.connect(fresh_database_url)
    try:
        # No TimescaleDB here, so the DO block must have taken the native branch.
        assert await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'") is None
        assert await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'") is None
        assert await is_timescale(conn) is False
        strategy = await conn.fetchval(
            "SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'market_data'::regclass"
        )
        assert strategy == "r"
        default = await conn.fetchval(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partdefid"
            " WHERE p.partrelid = 'market_data'::regclass"
        )
        assert default == DEFAULT_PARTITION
        assert await list_partitions(conn) == []
    finally:
        await conn.close()


def _timescale_branch_as_function(sql: str) -> str:
    body = re.search(r"DO \$\$(.*?)\$\$;", sql, re.S)
    assert body is not None
    return (
        f"CREATE FUNCTION market_data_branch_check() RETURNS void LANGUAGE plpgsql AS $fn${body.group(1)}$fn$"
    )


async def test_market_data_exists_only_once_migrated(fresh_database_url: str) -> None:
    connection = await asyncpg.connect(fresh_database_url)
    try:
        assert await has_market_data(connection) is False
        await migrate(fresh_database_url)
        assert await has_market_data(connection) is True
    finally:
        await connection.close()


async def test_timescale_branch_is_valid_plpgsql(conn: asyncpg.Connection) -> None:
    """PL/pgSQL's validator parses every statement of both branches without running them."""
    sql = next(m.sql for m in load_migrations(MIGRATIONS_DIR) if m.name == "0002_market_data")
    assert "create_hypertable" in sql and "add_retention_policy" in sql
    await conn.execute(_timescale_branch_as_function(sql))
    await conn.execute("DROP FUNCTION market_data_branch_check()")
    broken = sql.replace("chunk_time_interval => INTERVAL", "chunk_time_interval => => INTERVAL")
    with pytest.raises(asyncpg.PostgresSyntaxError):
        await conn.execute(_timescale_branch_as_function(broken))


async def test_partitions_are_created_ahead_once(conn: asyncpg.Connection) -> None:
    created = await ensure_partitions(conn, days_ahead=2, today=TODAY)
    assert created == [partition_name(TODAY + timedelta(days=d)) for d in range(3)]
    assert created[0] == "market_data_p20300615"
    assert await ensure_partitions(conn, days_ahead=2, today=TODAY) == []
    bounds = {name: (lo, hi) for name, lo, hi in await list_partitions(conn)}
    assert bounds["market_data_p20300616"] == (
        _at(TODAY + timedelta(days=1), 0),
        _at(TODAY + timedelta(days=2), 0),
    )
    # By default it starts from the database's own today.
    db_today = await conn.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
    assert await ensure_partitions(conn, days_ahead=0) == [partition_name(db_today)]


async def test_rows_land_in_their_day_or_the_default_partition(conn: asyncpg.Connection) -> None:
    await ensure_partitions(conn, days_ahead=1, today=TODAY)
    rows = [
        _row(_at(TODAY, 0), "first-instant"),
        _row(_at(TODAY + timedelta(days=1), 23), "tomorrow"),
        _row(datetime(2030, 6, 17, 0, 0, tzinfo=UTC), "just-past-the-last"),
        _row(_at(TODAY - timedelta(days=400)), "long-ago"),
    ]
    assert await insert_market_data(conn, rows) == 4
    assert await _where(conn, "first-instant") == "market_data_p20300615"
    assert await _where(conn, "tomorrow") == "market_data_p20300616"
    assert await _where(conn, "just-past-the-last") == DEFAULT_PARTITION
    assert await _where(conn, "long-ago") == DEFAULT_PARTITION
    # A replayed batch changes nothing; a second swap of the same transaction is a new row.
    assert await insert_market_data(conn, [*rows, _row(_at(TODAY, 0), "first-instant", ix=1)]) == 1
    stored = await conn.fetchrow(
        "SELECT base_amount, quote_amount, price FROM market_data WHERE signature = 'tomorrow'"
    )
    assert (stored["base_amount"], stored["quote_amount"], stored["price"]) == (
        2_000_000_000,
        300_500_000,
        150.25,
    )
    # Creating the missing day later moves its rows out of the default partition.
    assert await ensure_partitions(conn, days_ahead=0, today=TODAY + timedelta(days=2)) == [
        "market_data_p20300617"
    ]
    assert await _where(conn, "just-past-the-last") == "market_data_p20300617"
    assert await conn.fetchval("SELECT count(*) FROM market_data") == 5


async def test_retention_drops_only_whole_partitions_older_than_the_cutoff(conn: asyncpg.Connection) -> None:
    # Bounds are printed in the session's time zone: reading them back must not depend on it.
    await conn.execute("SET TimeZone = 'America/New_York'")
    for days_ago in (100, 91, 90, 89):
        await ensure_partitions(conn, days_ahead=0, today=TODAY - timedelta(days=days_ago))
    # One made by hand, named otherwise: retention goes by bounds, not names.
    await conn.execute(
        "CREATE TABLE market_data_archive_2029 PARTITION OF market_data"
        " FOR VALUES FROM ('2029-01-01 00:00+00') TO ('2029-02-01 00:00+00')"
    )
    old = TODAY - timedelta(days=200)
    await insert_market_data(
        conn, [_row(_at(TODAY - timedelta(days=91)), "d91"), _row(_at(old), "in-default")]
    )
    now = _at(TODAY)  # cutoff: noon, 90 days before TODAY
    dropped = await apply_retention(conn, keep_days=90, now=now)
    assert dropped == ["market_data_archive_2029", "market_data_p20300307", "market_data_p20300316"]
    left = [name for name, _, _ in await list_partitions(conn)]
    # The day straddling the cutoff (90 days ago) is kept whole, and so is the default partition.
    assert left == ["market_data_p20300317", "market_data_p20300318"]
    assert await conn.fetchval("SELECT count(*) FROM market_data WHERE signature = 'd91'") == 0
    assert await _where(conn, "in-default") == DEFAULT_PARTITION
    assert await apply_retention(conn, keep_days=90, now=now) == []


async def test_empty_insert_and_bad_arguments(conn: asyncpg.Connection) -> None:
    assert await insert_market_data(conn, []) == 0
    with pytest.raises(ValueError):
        await ensure_partitions(conn, days_ahead=-1)
    with pytest.raises(ValueError):
        await apply_retention(conn, keep_days=-1)
