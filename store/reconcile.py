"""What reconciliation reads of the execution sink's record: the orders risk still has pending."""

from __future__ import annotations

from collections.abc import Sequence

from store.db import Queryable
from store.execution import fill_from_row
from streams.records import Fill

_EXECUTION_COLUMNS = (
    "fill_id, order_id, pair, side, status, reason, venue, pool, base_amount, quote_amount, fee_quote, "
    "price, base_decimals, quote_decimals, signature, ts_ms, origin_ms, filled_ms"
)


async def order_outcomes(
    db: Queryable, portfolio: str, order_ids: Sequence[str]
) -> dict[str, tuple[str, Fill | None]]:
    """order id -> (its status in `orders`, its execution as a fill or None) for the ids the sink knows."""
    if not order_ids:
        return {}
    columns = ", ".join(f"e.{c}" for c in _EXECUTION_COLUMNS.split(", "))
    rows = await db.fetch(
        f"""
        SELECT o.order_id AS known_order, o.status AS order_status, {columns}
        FROM orders o LEFT JOIN executions e ON e.order_id = o.order_id
        WHERE o.portfolio = $1 AND o.order_id = ANY($2::text[])
        """,
        portfolio,
        list(order_ids),
    )
    return {
        row["known_order"]: (row["order_status"], fill_from_row(row) if row["fill_id"] is not None else None)
        for row in rows
    }
