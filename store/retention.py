"""Daily partitions of `market_data` ahead of time, and retention by dropping whole old partitions.

Dropping a partition frees its space at once and costs nothing per row, where `DELETE` would write
every row twice (tuple and WAL) and leave bloat to vacuum. On TimescaleDB (see migration 0002) the
table is a hypertable: chunks are created on insert and `drop_chunks` does the dropping, so
`ensure_partitions` has nothing to do there.

Partitions are UTC days named `market_data_pYYYYMMDD`. Rows no daily partition covers land in
`market_data_default`; when a day's partition is created later, its rows are moved out of the
default partition first (PostgreSQL refuses to attach a range the default partition has rows in).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import asyncpg

TABLE = "market_data"
DEFAULT_PARTITION = "market_data_default"
COLUMNS = (
    "ts",
    "pair",
    "venue",
    "pool",
    "kind",
    "price",
    "base_amount",
    "quote_amount",
    "side",
    "slot",
    "signature",
    "ix",
)

# Leaf partitions of market_data with their upper bound, read back as timestamptz (pg_get_expr prints
# the bound in the session's time zone, with its offset, so the cast is exact in any time zone).
_PARTITIONS = """
SELECT c.relname AS name,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']+)''\\)')::timestamptz AS lo,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz AS hi
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'market_data'::regclass
  AND c.relkind = 'r'
  AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
ORDER BY lo NULLS LAST, c.relname
"""


@dataclass(frozen=True, slots=True)
class MarketDataRow:
    """One swap or pool snapshot; amounts in raw token units, price in quote per base (human units)."""

    ts: datetime
    pair: str
    venue: str
    pool: str
    price: float
    signature: str  # transaction signature; a snapshot's deterministic id
    kind: str = "swap"
    base_amount: int | None = None
    quote_amount: int | None = None
    side: str | None = None
    slot: int | None = None
    ix: int = 0

    def record(self) -> tuple[object, ...]:
        return (
            self.ts,
            self.pair,
            self.venue,
            self.pool,
            self.kind,
            self.price,
            None if self.base_amount is None else Decimal(self.base_amount),
            None if self.quote_amount is None else Decimal(self.quote_amount),
            self.side,
            self.slot,
            self.signature,
            self.ix,
        )


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def has_market_data(conn: asyncpg.Connection) -> bool:
    """True once the migrations created market_data (retention has nothing to manage before)."""
    return bool(await conn.fetchval("SELECT to_regclass('market_data') IS NOT NULL"))


async def is_timescale(conn: asyncpg.Connection) -> bool:
    """True when market_data is a TimescaleDB hypertable (migration 0002 took the Timescale branch)."""
    installed = await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    if not installed:
        return False
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = $1", TABLE
        )
    )


async def _today(conn: asyncpg.Connection) -> date:
    """The database's UTC date: partitions follow the server's clock, not this host's."""
    today: date = await conn.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
    return today


async def list_partitions(conn: asyncpg.Connection) -> list[tuple[str, datetime | None, datetime | None]]:
    """(name, lower bound, upper bound) of each range partition of market_data, oldest first."""
    rows = await conn.fetch(_PARTITIONS)
    return [(row["name"], row["lo"], row["hi"]) for row in rows]


async def create_partition(conn: asyncpg.Connection, day: date) -> bool:
    """Create one day's partition, moving that day's rows out of the default partition; False if it exists.

    The partition is built standalone and attached, in one transaction: attaching checks the default
    partition for rows of the new range, so they are moved first, and no row is ever unplaced.
    """
    name = partition_name(day)
    lo, hi = _day_start(day), _day_start(day + timedelta(days=1))
    async with conn.transaction():
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name):
            return False
        await conn.execute(f'CREATE TABLE "{name}" (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        await conn.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE ts >= $1 AND ts < $2 RETURNING *) "
            f'INSERT INTO "{name}" SELECT * FROM moved',
            lo,
            hi,
        )
        await conn.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION \"{name}\" FOR VALUES FROM ('{lo.isoformat()}') "
            f"TO ('{hi.isoformat()}')"
        )
    return True


async def ensure_partitions(
    conn: asyncpg.Connection, *, days_ahead: int = 2, today: date | None = None
) -> list[str]:
    """Create the missing daily partitions from today to `days_ahead` days on; returns those created."""
    if days_ahead < 0:
        raise ValueError("days_ahead must be >= 0")
    if await is_timescale(conn):
        return []  # Timescale creates chunks as rows arrive
    first = today or await _today(conn)
    created = []
    for offset in range(days_ahead + 1):
        day = first + timedelta(days=offset)
        if await create_partition(conn, day):
            created.append(partition_name(day))
    return created


async def apply_retention(
    conn: asyncpg.Connection, *, keep_days: int = 90, now: datetime | None = None
) -> list[str]:
    """Drop every partition (or chunk) that lies entirely before now - keep_days; returns their names.

    A partition that straddles the cutoff is kept whole: retention never deletes rows one by one.
    """
    if keep_days < 0:
        raise ValueError("keep_days must be >= 0")
    moment = now or await conn.fetchval("SELECT now()")
    cutoff = moment - timedelta(days=keep_days)
    if await is_timescale(conn):
        chunks = await conn.fetch(
            "SELECT drop_chunks($1::regclass, older_than => $2::timestamptz)", TABLE, cutoff
        )
        return [str(row[0]) for row in chunks]
    dropped = []
    async with conn.transaction():
        for name, _, hi in await list_partitions(conn):
            if hi is not None and hi <= cutoff:
                await conn.execute(f'DROP TABLE "{name}"')
                dropped.append(name)
    return dropped


async def insert_market_data(conn: asyncpg.Connection, rows: Iterable[MarketDataRow]) -> int:
    """Insert rows; a row already stored (same key) is skipped. Returns how many were new.

    COPY into a session-local staging table, then one INSERT ... ON CONFLICT DO NOTHING: COPY's speed,
    with the idempotency a replayed stream needs (plain COPY would fail the batch on one duplicate).
    """
    records = [row.record() for row in rows]
    if not records:
        return 0
    async with conn.transaction():
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS market_data_staging (LIKE {TABLE}) ON COMMIT DELETE ROWS"
        )
        await conn.copy_records_to_table("market_data_staging", records=records, columns=COLUMNS)
        cols = ", ".join(COLUMNS)
        status = await conn.execute(
            f"INSERT INTO {TABLE} ({cols}) SELECT {cols} FROM market_data_staging ON CONFLICT DO NOTHING"
        )
    return int(status.split()[-1])
