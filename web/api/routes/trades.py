"""Trades: executions joined with their orders, newest first, keyset-paginated by execution `seq`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, WithJsonSchema

from store.trades import read_trades
from web.api.deps import PAIR_QUERY, PoolDep, SettingsDep, rate_limited, require
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
# The OpenAPI document says what the column holds (a non-negative bigint), so a client knows the range and
# schemathesis, which makes `format: int64` into bounds and steps past them, tries 2**63 whatever the
# validation below does: a missing bound is a 500 the fuzz finds (tests/web/test_web_schemathesis.py).
Bigint = Annotated[int, WithJsonSchema({"type": "integer", "format": "int64", "minimum": 0})]


@router.get("", response_model=TradePage, summary="Executions with their orders, newest first")
async def list_trades(
    pool: PoolDep,
    settings: SettingsDep,
    _: Annotated[Principal, Depends(require(Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS))],
    __: Annotated[None, Depends(rate_limited("default"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[Bigint | None, Query(ge=0, le=INT64_MAX, description="From `next_cursor`")] = None,
    pair: Annotated[str | None, Query(max_length=64, pattern=PAIR_QUERY, description="e.g. SOL/USDC")] = None,
    status: Literal["filled", "failed", "cancelled"] | None = None,
    since_ms: Annotated[Bigint | None, Query(ge=0, le=INT64_MAX)] = None,
) -> TradePage:
    page = await read_trades(
        pool,
        settings.portfolio,
        limit=limit,
        before_seq=cursor,
        pair=pair,
        status=status,
        since_ms=since_ms,
    )
    items = [TradeOut.model_validate(_exact_as_text(asdict(row))) for row in page.rows]
    return TradePage(
        items=items, next_cursor=str(page.next_before_seq) if page.next_before_seq is not None else None
    )


_EXACT = frozenset({"base_amount", "quote_amount", "fee_quote", "amount_in", "min_amount_out"})


def _exact_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """Raw amounts as decimal strings (exact where JSON numbers are not); `seq` stays internal."""
    return {k: (str(v) if k in _EXACT else v) for k, v in row.items() if k != "seq"}
