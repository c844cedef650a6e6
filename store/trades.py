"""Trades: the `executions` the sink recorded (one per order, its terminal outcome), with their orders.

Read by the web API (pages of trades, an order's outcome before a cancel) and by `solbot portfolio
rebuild` (the fills replayed in execution order). Amounts are raw integer units, exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.db import Queryable


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One execution joined with its order; `seq` orders executions and pages them."""

    seq: int
    fill_id: str
    order_id: str
    signal_id: str
    pair: str
    side: str
    kind: str
    status: str  # the execution's outcome: filled | failed | cancelled
    order_status: str
    reason: str
    venue: str
    pool: str
    base_amount: int
    quote_amount: int  # fee included
    fee_quote: int
    price: float
    base_decimals: int
    quote_decimals: int
    amount_in: int
    min_amount_out: int
    signature: str | None
    ts_ms: int
    origin_ms: int
    decided_ms: int
    filled_ms: int


@dataclass(frozen=True, slots=True)
class Trades:
    rows: list[TradeRow]  # newest first
    next_before_seq: int | None  # pass as `before_seq` for the next (older) page; None at the end


_SELECT_TRADES = """
SELECT e.seq, e.fill_id, e.order_id, o.signal_id, e.pair, e.side, o.kind, e.status, o.status AS order_status,
       e.reason, e.venue, e.pool, e.base_amount, e.quote_amount, e.fee_quote, e.price, e.base_decimals,
       e.quote_decimals, o.amount_in, o.min_amount_out, e.signature, e.ts_ms, e.origin_ms, o.decided_ms,
       e.filled_ms
FROM executions e JOIN orders o ON o.order_id = e.order_id
"""


async def read_trades(
    db: Queryable,
    portfolio: str,
    *,
    limit: int,
    before_seq: int | None = None,
    pair: str | None = None,
    status: str | None = None,
    since_ms: int | None = None,
) -> Trades:
    """Up to `limit` trades of the portfolio, newest first (keyset-paginated by `seq`), filtered by
    whichever of pair, outcome and earliest `ts_ms` are given."""
    where = ["e.portfolio = $1"]
    args: list[Any] = [portfolio]
    for clause, value in (
        ("e.seq < ${}", before_seq),
        ("e.pair = ${}", pair),
        ("e.status = ${}", status),
        ("e.ts_ms >= ${}", since_ms),
    ):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit + 1)  # one more than asked says whether an older page exists
    sql = f"{_SELECT_TRADES} WHERE {' AND '.join(where)} ORDER BY e.seq DESC LIMIT ${len(args)}"
    found = await db.fetch(sql, *args)
    rows = [_trade(row) for row in found[:limit]]
    more = len(found) > limit
    return Trades(rows, rows[-1].seq if more and rows else None)


def _trade(row: Any) -> TradeRow:
    return TradeRow(
        seq=row["seq"],
        fill_id=row["fill_id"],
        order_id=row["order_id"],
        signal_id=row["signal_id"],
        pair=row["pair"],
        side=row["side"],
        kind=row["kind"],
        status=row["status"],
        order_status=row["order_status"],
        reason=row["reason"],
        venue=row["venue"],
        pool=row["pool"],
        base_amount=int(row["base_amount"]),  # numeric(39,0) is integral: int is exact
        quote_amount=int(row["quote_amount"]),
        fee_quote=int(row["fee_quote"]),
        price=row["price"],
        base_decimals=row["base_decimals"],
        quote_decimals=row["quote_decimals"],
        amount_in=int(row["amount_in"]),
        min_amount_out=int(row["min_amount_out"]),
        signature=row["signature"],
        ts_ms=row["ts_ms"],
        origin_ms=row["origin_ms"],
        decided_ms=row["decided_ms"],
        filled_ms=row["filled_ms"],
    )


async def terminal_status(db: Queryable, order_id: str) -> str | None:
    """The order's terminal outcome (its execution's status), or None while it has none."""
    status: str | None = await db.fetchval(
        "SELECT status FROM executions WHERE order_id = $1 ORDER BY seq LIMIT 1", order_id
    )
    return status


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    """The columns of one `executions` row a replay needs (raw units)."""

    pair: str
    side: str
    status: str
    base_amount: int
    quote_amount: int


async def read_executions(db: Queryable, portfolio: str) -> list[ExecutionRow]:
    """Every execution of the portfolio in the order the sink recorded them."""
    rows = await db.fetch(
        "SELECT pair, side, status, base_amount, quote_amount FROM executions"
        " WHERE portfolio = $1 ORDER BY seq",
        portfolio,
    )
    return [
        ExecutionRow(r["pair"], r["side"], r["status"], int(r["base_amount"]), int(r["quote_amount"]))
        for r in rows
    ]
