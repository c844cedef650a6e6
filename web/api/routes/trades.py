"""Trades: executions joined with their orders, newest first, keyset-paginated by execution `seq`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from web.api.deps import PoolDep, SettingsDep, rate_limited, require
from web.api.errors import ErrorResponse
from web.api.security import Permission, Principal

router = APIRouter(
    prefix="/trades",
    tags=["trades"],
    responses={
        400: {"model": ErrorResponse},
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)


class TradeOut(BaseModel):
    fill_id: str
    order_id: str
    signal_id: str
    pair: str
    side: str
    kind: str
    status: str = Field(description="The execution's outcome: filled | failed | cancelled")
    order_status: str
    reason: str
    venue: str
    pool: str
    base_amount: str = Field(description="Raw units, exact")
    quote_amount: str = Field(description="Raw units, exact, fee included")
    fee_quote: str
    price: float
    base_decimals: int
    quote_decimals: int
    amount_in: str
    min_amount_out: str
    signature: str | None
    ts_ms: int
    origin_ms: int
    decided_ms: int
    filled_ms: int


class TradePage(BaseModel):
    items: list[TradeOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end")


INT64_MAX = 2**63 - 1  # Postgres bigint: a larger bound would fail in the database, not here

_SELECT = """
SELECT e.fill_id, e.seq, e.order_id, o.signal_id, e.pair, e.side, o.kind, e.status, o.status AS order_status,
       e.reason, e.venue, e.pool, e.base_amount, e.quote_amount, e.fee_quote, e.price, e.base_decimals,
       e.quote_decimals, o.amount_in, o.min_amount_out, e.signature, e.ts_ms, e.origin_ms, o.decided_ms,
       e.filled_ms
FROM executions e JOIN orders o ON o.order_id = e.order_id
"""


@router.get("", response_model=TradePage, summary="Executions with their orders, newest first")
async def list_trades(
    pool: PoolDep,
    settings: SettingsDep,
    _: Annotated[Principal, Depends(require(Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS))],
    __: Annotated[None, Depends(rate_limited("default"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="From `next_cursor`")] = None,
    pair: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["filled", "failed", "cancelled"] | None = None,
    since_ms: Annotated[int | None, Query(ge=0, le=INT64_MAX)] = None,
) -> TradePage:
    where = ["e.portfolio = $1"]
    args: list[Any] = [settings.portfolio]
    for clause, value in (
        ("e.seq < ${}", int(cursor) if cursor is not None else None),
        ("e.pair = ${}", pair),
        ("e.status = ${}", status),
        ("e.ts_ms >= ${}", since_ms),
    ):
        if value is not None:
            args.append(value)
            where.append(clause.format(len(args)))
    args.append(limit + 1)
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY e.seq DESC LIMIT ${len(args)}"
    rows = await pool.fetch(sql, *args)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        TradeOut.model_validate(
            # numeric(39,0) is integral: str(int(...)) is exact and never "1E+3"
            {k: (str(int(v)) if k in _EXACT else v) for k, v in dict(row).items() if k != "seq"}
        )
        for row in rows
    ]
    return TradePage(items=items, next_cursor=str(rows[-1]["seq"]) if more and rows else None)


_EXACT = frozenset({"base_amount", "quote_amount", "fee_quote", "amount_in", "min_amount_out"})
