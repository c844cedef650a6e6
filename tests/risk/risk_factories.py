"""Factories for the risk-rule tests: pools consistent with a price, signals, and paper fills."""

from __future__ import annotations

import risk as rr
from streams.records import Fill, Order, PoolState, Signal

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
PUMP = "PumpCoin1111111111111111111111111111111111"

# pair -> (base mint, quote mint, base decimals, quote decimals)
PAIRS: dict[str, tuple[str, str, int, int]] = {
    "SOL/USDC": (SOL, USDC, 9, 6),
    "JUP/USDC": (JUP, USDC, 6, 6),
    "BONK/SOL": (BONK, SOL, 5, 9),
    "PUMP/SOL": (PUMP, SOL, 6, 9),
}


def pool(
    pair: str,
    price: float,
    depth_quote: float = 1_000_000.0,
    *,
    venue: str = "raydium",
    fee_bps: int = 25,
    name: str = "",
    real_base_reserve: int = 0,
) -> PoolState:
    """A pool whose spot price (quote per base, human units) is `price`, holding `depth_quote` quote."""
    base_mint, quote_mint, bd, qd = PAIRS[pair]
    quote_reserve = round(depth_quote * 10**qd)
    base_reserve = round(depth_quote / price * 10**bd)
    return PoolState(
        venue=venue,
        pool=name or f"{venue}:{pair}",
        base_mint=base_mint,
        quote_mint=quote_mint,
        base_decimals=bd,
        quote_decimals=qd,
        base_reserve=base_reserve,
        quote_reserve=quote_reserve,
        fee_bps=fee_bps,
        real_base_reserve=real_base_reserve or (base_reserve if venue == "pumpfun" else 0),
    )


def signal(
    pair: str,
    price: float,
    direction: int = 1,
    *,
    sid: str = "s1",
    ts_ms: int = 1_000,
    confidence: float = 0.9,
    pools: list[PoolState] | None = None,
    strategy: str = "test",
) -> Signal:
    return Signal(
        id=f"sig:{sid}",
        pair=pair,
        ts_ms=ts_ms,
        origin_ms=ts_ms - 5,
        price=price,
        direction=direction,
        confidence=confidence,
        expected_return=0.001 * direction,
        horizon_ms=10_000,
        volatility=0.001,
        model="test",
        strategy=strategy,
        pools=[pool(pair, price)] if pools is None else pools,
    )


def expected_out(order: Order) -> int:
    return rr.quote_pool(order.pool_state, order.side, order.amount_in).amount_out


def fill_for(order: Order, status: str = "filled", worse: float = 0.0, ts_ms: int = 2_000) -> Fill:
    """A paper fill: the expected output, `worse` (0..1) of the way to min_amount_out, or failed."""
    out = 0
    if status == "filled":
        full = expected_out(order)
        out = full - int((full - order.min_amount_out) * worse)
    if order.side == "buy":
        base_amount, quote_amount = (out, order.amount_in) if out else (0, 0)
    else:
        base_amount, quote_amount = (order.amount_in, out) if out else (0, 0)
    ps = order.pool_state
    price = 0.0
    if base_amount:
        price = (quote_amount / 10**ps.quote_decimals) / (base_amount / 10**ps.base_decimals)
    return Fill(
        id=f"fill:{order.id}",
        order_id=order.id,
        pair=order.pair,
        side=order.side,
        status=status if out or status != "filled" else "failed",
        reason="",
        venue=order.venue,
        pool=order.pool,
        base_amount=base_amount,
        quote_amount=quote_amount,
        fee_quote=0,
        price=price,
        base_decimals=ps.base_decimals,
        quote_decimals=ps.quote_decimals,
        signature="paper",
        ts_ms=ts_ms,
        origin_ms=order.origin_ms,
        filled_ms=ts_ms,
    )


def fresh(limits: rr.RiskLimits | None = None) -> rr.RiskState:
    return rr.RiskState.initial("main", limits or rr.RiskLimits(), SOL, USDC)
