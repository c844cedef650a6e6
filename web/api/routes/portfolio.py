"""The portfolio: balances and positions from Postgres, marked to the latest prices in Redis, in USDC; and
`POST /portfolio/rebalance`, which asks the risk agent to move positions toward target fractions of equity
(a `Control(action="rebalance")` on the `control` topic, as `solbot rebalance` sends)."""

from __future__ import annotations

import logging
import time
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from core.errors import ServiceError
from market.tokens import DECIMALS, SYMBOLS
from risk.rebalance import validate_targets
from store.latest_prices import read_prices
from store.portfolio import read_balances, read_positions
from streams.codec import encode
from streams.records import Control
from streams.topics import CONTROL
from web.api.action_log import audit
from web.api.deps import PoolDep, PublisherDep, RedisDep, SettingsDep, rate_limited, require, require_signed
from web.api.errors import ApiError, ErrorResponse
from web.api.security import Permission, Principal

router = APIRouter(
    prefix="/portfolio",
    tags=["portfolio"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
QUOTE_SYMBOL = "USDC"
log = logging.getLogger(__name__)


class BalanceOut(BaseModel):
    mint: str
    symbol: str | None
    amount_raw: str = Field(description="Raw token units, exact (u64 can exceed a float)")
    decimals: int | None
    amount: float | None = Field(description="Human units; null when the mint's decimals are unknown")
    price_usdc: float | None
    value_usdc: float | None


class PositionOut(BaseModel):
    pair: str
    base_amount: float
    cost_quote: float
    avg_entry_price: float | None
    mark_price: float | None
    market_value_quote: float | None
    unrealised_pnl_quote: float | None
    realised_pnl_quote: float
    value_usdc: float | None


class PortfolioOut(BaseModel):
    portfolio: str
    balances: list[BalanceOut]
    positions: list[PositionOut]
    total_value_usdc: float | None = Field(description="Sum of balance values; null if any is unpriced")
    prices: dict[str, float]


def usdc_price(symbol: str, prices: dict[str, float]) -> float | None:
    """Price of one `symbol` in USDC: direct (`X/USDC`) or through one hop (`X/Y` times `Y/USDC`)."""
    if symbol == QUOTE_SYMBOL:
        return 1.0
    direct = prices.get(f"{symbol}/{QUOTE_SYMBOL}")
    if direct is not None:
        return direct
    for pair, price in prices.items():
        base, _, quote = pair.partition("/")
        hop = prices.get(f"{quote}/{QUOTE_SYMBOL}")
        if base == symbol and hop is not None:
            return price * hop
    return None


def _human(raw: int, decimals: int) -> float:
    return float(Decimal(raw).scaleb(-decimals))


@router.get("", response_model=PortfolioOut, summary="Balances and positions marked to market")
async def get_portfolio(
    pool: PoolDep,
    redis: RedisDep,
    settings: SettingsDep,
    _: Annotated[Principal, Depends(require(Permission.READ_PORTFOLIO))],
    __: Annotated[None, Depends(rate_limited("default"))],
) -> PortfolioOut:
    async with pool.acquire() as conn:
        balance_rows = await read_balances(conn, settings.portfolio)
        position_rows = await read_positions(conn, settings.portfolio)
    prices = await read_prices(redis)

    # What each mint is: the well-known tokens, then whatever the positions say (launched coins).
    symbols: dict[str, str] = dict(SYMBOLS)
    decimals: dict[str, int] = dict(DECIMALS)
    for position in position_rows:
        base, quote = position.pair.partition("/")[::2]
        symbols.setdefault(position.base_mint, base)
        symbols.setdefault(position.quote_mint, quote)
        decimals.setdefault(position.base_mint, position.base_decimals)
        decimals.setdefault(position.quote_mint, position.quote_decimals)

    balances: list[BalanceOut] = []
    total: float | None = 0.0
    for balance in balance_rows:
        mint = balance.mint
        symbol, dec = symbols.get(mint), decimals.get(mint)
        amount = _human(balance.amount, dec) if dec is not None else None
        price = usdc_price(symbol, prices) if symbol is not None else None
        value = amount * price if amount is not None and price is not None else None
        if value is None:
            total = None
        elif total is not None:
            total += value
        balances.append(
            BalanceOut(
                mint=mint,
                symbol=symbol,
                amount_raw=str(balance.amount),  # an int: exact, never "2E+9"
                decimals=dec,
                amount=amount,
                price_usdc=price,
                value_usdc=value,
            )
        )

    positions: list[PositionOut] = []
    for position in position_rows:
        base_amount = _human(position.base_amount, position.base_decimals)
        cost = _human(position.cost_quote, position.quote_decimals)
        realised = position.realised_pnl_quote / 10**position.quote_decimals
        mark = prices.get(position.pair)
        market_value = base_amount * mark if mark is not None else None
        quote_usdc = usdc_price(position.pair.partition("/")[2], prices)
        positions.append(
            PositionOut(
                pair=position.pair,
                base_amount=base_amount,
                cost_quote=cost,
                avg_entry_price=cost / base_amount if base_amount > 0 else None,
                mark_price=mark,
                market_value_quote=market_value,
                unrealised_pnl_quote=market_value - cost if market_value is not None else None,
                realised_pnl_quote=realised,
                value_usdc=market_value * quote_usdc
                if market_value is not None and quote_usdc is not None
                else None,
            )
        )
    return PortfolioOut(
        portfolio=settings.portfolio,
        balances=balances,
        positions=positions,
        total_value_usdc=total,
        prices=prices,
    )


MAX_REBALANCE_TARGETS = 256  # far above any pair list; a larger body is refused before each key is checked


class RebalanceRequest(BaseModel):
    targets: dict[str, float] = Field(
        max_length=MAX_REBALANCE_TARGETS,
        description="pair (BASE/QUOTE) -> target fraction of equity, 0 sells",
    )
    reason: str = Field("operator", min_length=1, max_length=200)


class RebalanceAccepted(BaseModel):
    id: str = Field(description="The `Control` id on the `control` topic; the alert names it when done")
    targets: dict[str, float]
    topic: str


@router.post(
    "/rebalance",
    status_code=202,
    response_model=RebalanceAccepted,
    responses={400: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Move positions toward target fractions of equity",
)
async def rebalance(
    body: RebalanceRequest,
    settings: SettingsDep,
    publisher: PublisherDep,
    pool: PoolDep,
    principal: Annotated[Principal, Depends(require_signed(Permission.EXECUTE_TRADES))],
    _: Annotated[None, Depends(rate_limited("orders"))],
) -> RebalanceAccepted:
    errors = validate_targets(body.targets, settings.pairs, settings.max_position_pct / 100.0)
    if errors:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "targets", pair) if pair else ("body", "targets"),
                    "msg": msg,
                    "type": "value_error",
                }
                for pair, msg in errors.items()
            ]
        )
    await audit(pool, principal, "rebalance", "", {"targets": dict(body.targets), "reason": body.reason})
    ts = int(time.time() * 1000)
    control = Control(
        id=f"ctl:rebalance:{ts}:{uuid.uuid4().hex[:8]}",
        action="rebalance",
        reason=body.reason,
        flatten=False,
        ts_ms=ts,
        targets=dict(body.targets),
    )
    try:
        await publisher.send(CONTROL.name, settings.portfolio, encode(control))
    except ServiceError as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    log.info("rebalance %s %s requested by %s", control.id, body.targets, principal.wallet)
    return RebalanceAccepted(id=control.id, targets=dict(body.targets), topic=CONTROL.name)
