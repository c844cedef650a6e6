"""Market data: the latest price per pair, as the features agent last wrote it to Redis."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from store.latest_prices import read_price, read_prices
from web.api.deps import PAIR_QUERY, RedisDep, rate_limited, require
from web.api.errors import ApiError, ErrorResponse
from web.api.security import Permission, Principal

router = APIRouter(
    prefix="/market-data",
    tags=["market data"],
    responses={
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        404: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)


class PriceOut(BaseModel):
    pair: str
    price: float


class MarketDataOut(BaseModel):
    prices: list[PriceOut]


@router.get("", response_model=MarketDataOut, summary="Latest price per pair (quote per base)")
async def market_data(
    redis: RedisDep,
    _: Annotated[Principal, Depends(require(Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS))],
    __: Annotated[None, Depends(rate_limited("market_data"))],
    pair: Annotated[str | None, Query(max_length=64, pattern=PAIR_QUERY, description="e.g. SOL/USDC")] = None,
) -> MarketDataOut:
    if pair is not None:
        price = await read_price(redis, pair)
        if price is None:
            raise ApiError(404, "unknown_pair", f"no price for pair {pair!r}")
        return MarketDataOut(prices=[PriceOut(pair=pair, price=price)])
    prices = await read_prices(redis)
    return MarketDataOut(prices=[PriceOut(pair=k, price=v) for k, v in sorted(prices.items())])
