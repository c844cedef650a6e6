"""What positions and reservations are worth: exposure, free balance, pool liquidity, open pairs.

The wallet's own valuation (SOL price, unit values, equity) is in `risk.state`, which a fresh state needs.
"""

from __future__ import annotations

from risk.state import RiskState, unit_value_usdc
from streams.records import PoolState


def pair_exposure_usdc(state: RiskState, pair: str) -> float:
    """The pair's position at market plus the quote reserved by its pending buys."""
    exposure = 0.0
    pos = state.positions.get(pair)
    if pos is not None:
        exposure += pos.base_amount * unit_value_usdc(state, pos.base_mint)
    for p in state.pending.values():
        if p.pair == pair and p.side == "buy":
            exposure += p.amount_in * unit_value_usdc(state, p.input_mint)
    return exposure


def total_exposure_usdc(state: RiskState) -> float:
    """All positions at market plus every pending buy's reserved quote."""
    exposure = sum(
        pos.base_amount * unit_value_usdc(state, pos.base_mint) for pos in state.positions.values()
    )
    for p in state.pending.values():
        if p.side == "buy":
            exposure += p.amount_in * unit_value_usdc(state, p.input_mint)
    return exposure


def position_usdc(state: RiskState, pair: str) -> float:
    """The pair's position at market (0 when none is held)."""
    pos = state.positions.get(pair)
    return pos.base_amount * unit_value_usdc(state, pos.base_mint) if pos is not None else 0.0


def available(state: RiskState, mint: str) -> int:
    """Raw units of `mint` not reserved by a pending order."""
    reserved = sum(p.amount_in for p in state.pending.values() if p.input_mint == mint)
    return state.balances.get(mint, 0) - reserved


def pool_liquidity_usdc(state: RiskState, pool: PoolState) -> float:
    """A constant-product pool's liquidity: both sides, valued as twice its quote reserve."""
    return 2.0 * pool.quote_reserve * unit_value_usdc(state, pool.quote_mint)


def open_pairs(state: RiskState) -> set[str]:
    """Pairs held or being bought: what max_concurrent_positions counts."""
    return set(state.positions) | {p.pair for p in state.pending.values() if p.side == "buy"}
