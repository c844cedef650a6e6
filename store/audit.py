"""What the exactly-once audit (`solbot.audit`, tests, `make chaos`) reads back from the database."""

from __future__ import annotations

from collections import defaultdict

from store.db import Queryable


async def orders_executed_more_than_once(db: Queryable) -> dict[str, int]:
    """Order id -> number of executions, for every order executed more than once (should be none)."""
    rows = await db.fetch(
        "SELECT order_id, count(*) AS n FROM executions GROUP BY order_id HAVING count(*) > 1"
    )
    return {r["order_id"]: int(r["n"]) for r in rows}


async def filled_base_by_pair(db: Queryable, portfolio: str) -> dict[str, int]:
    """Per pair of the portfolio's orders: base bought minus base sold over filled executions (raw units),
    what its position's base amount must equal."""
    net: dict[str, int] = defaultdict(int)
    for r in await db.fetch(
        "SELECT o.pair, o.side, e.base_amount FROM executions e JOIN orders o USING (order_id) "
        "WHERE e.status = 'filled' AND o.portfolio = $1",
        portfolio,
    ):
        net[r["pair"]] += (1 if r["side"] == "buy" else -1) * int(r["base_amount"])
    return dict(net)
