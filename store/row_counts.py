"""How much the pipeline has recorded: row counts of its main tables, for the system status."""

from __future__ import annotations

from store.db import Queryable

COUNTED_TABLES = ("orders", "executions", "positions", "risk_decisions")


async def count_rows(db: Queryable) -> dict[str, int]:
    """Rows per table of `COUNTED_TABLES`, in one round trip."""
    row = await db.fetchrow(
        "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in COUNTED_TABLES)
    )
    assert row is not None  # a SELECT without FROM always returns its one row
    return {t: int(row[t]) for t in COUNTED_TABLES}
