"""What a priced event teaches the state: the pair's mints, its pools, its price and how fresh it is."""

from __future__ import annotations

import math
from collections.abc import Iterable

from market.venues import is_bonding_curve
from risk.breakers import advance_clock, check_drawdown
from risk.codes import DRAWDOWN
from risk.inventory import drawdown_equity_usdc
from risk.limits import RiskLimits
from risk.prices import accept_price, record_move
from risk.state import PairInfo, RiskState
from streams.records import PoolState


def learn(
    state: RiskState,
    pair: str,
    price: float,
    pools: Iterable[PoolState],
    limits: RiskLimits,
    ts_ms: int | None = None,
) -> bool:
    """Take the pair's mints from its pools, its price (and how fresh it is) from the event; returns
    whether the price was accepted (`risk.prices.accept_price`: an outlier is held back until confirmed).

    The first SOL/USDC price re-bases the peak and the day's opening equity: replacing the assumed
    fallback price with an observed one is not a loss, and must not trip a breaker. A price is as fresh
    as the newest pool state it came with (the pools' own event times), else as the event itself.
    """
    pools = list(pools)
    if pair not in state.pairs:
        for pool in pools:
            state.pairs[pair] = PairInfo(
                pool.base_mint, pool.quote_mint, pool.base_decimals, pool.quote_decimals
            )
            state.base_pair.setdefault(pool.base_mint, pair)
            break
    info = state.pairs.get(pair)
    if info is not None and (pair in state.pools or pair in state.rebalance.get("targets", {})):
        mine = [
            p.asdict() for p in pools if p.base_mint == info.base_mint and p.quote_mint == info.quote_mint
        ]
        if mine:
            state.pools[pair] = mine
    if not (price > 0.0 and math.isfinite(price)):
        if ts_ms is not None:
            advance_clock(state, ts_ms, limits)
        check_drawdown(state, limits)
        return False
    if not accept_price(state, pair, price, ts_ms if ts_ms is not None else state.newest_ts_ms, limits):
        if ts_ms is not None:
            advance_clock(state, ts_ms, limits)
        check_drawdown(state, limits)
        return False
    first = pair not in state.prices
    state.prices[pair] = price
    pos = state.positions.get(pair)
    if pos is not None and price > pos.high_price:
        pos.high_price = price
    if ts_ms is not None:
        pool_ts = max((p.ts_ms for p in pools if p.ts_ms > 0), default=0)
        fresh_ts = pool_ts or ts_ms
        if fresh_ts > state.price_ts.get(pair, -1):
            state.price_ts[pair] = fresh_ts
        record_move(
            state, pair, price, ts_ms, limits, falls_only=any(is_bonding_curve(p.venue) for p in pools)
        )
        advance_clock(state, ts_ms, limits)
    if (
        first
        and info is not None
        and info.base_mint == state.sol_mint
        and info.quote_mint == state.usdc_mint
        and DRAWDOWN not in state.halts
    ):
        state.opening_sol_usdc = price
        state.peak_equity_usdc = drawdown_equity_usdc(state, limits)
        state.day_start_equity_usdc = state.peak_equity_usdc
    check_drawdown(state, limits)
    return True
