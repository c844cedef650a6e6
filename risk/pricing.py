"""What a pool returns for an order, which pools a buy is routed through, and the order's slippage bound.

Each pool is priced with its venue's own integer maths (`market.amm`, `market.bonding_curve`); routing
(one pool, or a split across several) is `venues.routing`'s, with the transaction costs of the venue the
orders go to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from market import amm, bonding_curve
from risk.limits import RiskLimits
from risk.state import PairInfo, RiskState, unit_value_usdc
from streams.records import PoolState
from venues import routing
from venues.fees import PriorityFeePolicy

PUMPFUN = "pumpfun"  # the bonding-curve venue: priced on its curve, exempt from the liquidity floor


@dataclass(frozen=True, slots=True)
class PoolQuote:
    """What a pool returns for an exact input, and the size-driven impact (fee excluded) in bps."""

    pool: PoolState
    amount_out: int
    impact_bps: float
    amount_in: int = 0  # the input it was priced for


def curve_of(pool: PoolState) -> bonding_curve.Curve:
    """A bonding-curve pool state as the curve maths takes it."""
    return bonding_curve.Curve(
        virtual_token_reserves=pool.base_reserve,
        virtual_sol_reserves=pool.quote_reserve,
        real_token_reserves=pool.real_base_reserve,
    )


def quote_pool(pool: PoolState, side: str, amount_in: int) -> PoolQuote:
    """Price an exact-input swap on one pool with the venue's own integer maths.

    The impact excludes the fee: the fee is a known cost already in `amount_out`; the slippage cap bounds
    how far the trade's size moves the price, which is what the fee-free comparison measures.
    """
    if pool.venue == PUMPFUN:
        curve = curve_of(pool)
        if side == "buy":
            out, net, _fee = bonding_curve.buy_with_sol(curve, amount_in, pool.fee_bps, pool.creator_fee_bps)
            moved, ideal = out, net * pool.base_reserve / max(pool.quote_reserve, 1)
        else:
            gross, fee = bonding_curve.sell_proceeds(curve, amount_in, pool.fee_bps, pool.creator_fee_bps)
            out, moved, ideal = gross - fee, gross, amount_in * pool.quote_reserve / max(pool.base_reserve, 1)
        if out <= 0 or ideal <= 0.0:
            return PoolQuote(pool, 0, 10_000.0, amount_in)
        return PoolQuote(pool, out, max(0.0, (1.0 - moved / ideal) * 10_000.0), amount_in)
    r_in, r_out = (
        (pool.quote_reserve, pool.base_reserve) if side == "buy" else (pool.base_reserve, pool.quote_reserve)
    )
    out = amm.quote_out(amount_in, r_in, r_out, pool.fee_bps)
    if out <= 0:
        return PoolQuote(pool, 0, 10_000.0, amount_in)
    net = amount_in - amm.fee_amount(amount_in, pool.fee_bps)
    return PoolQuote(pool, out, amm.price_impact_bps(net, r_in, r_out, 0), amount_in)


def best_quote(info: PairInfo, pools: Iterable[PoolState], side: str, amount_in: int) -> PoolQuote | None:
    """The pool of the pair that returns the most for this input (None if no pool returns anything)."""
    best: PoolQuote | None = None
    for pool in pools:
        if pool.base_mint != info.base_mint or pool.quote_mint != info.quote_mint:
            continue
        q = quote_pool(pool, side, amount_in)
        if q.amount_out > 0 and (best is None or q.amount_out > best.amount_out):
            best = q
    return best


def min_out(expected: int, limits: RiskLimits) -> int:
    """The order's slippage bound: the expected output less max_slippage_bps."""
    return expected * (10_000 - limits.max_slippage_bps) // 10_000


# The paper venue charges no signature fee, priority fee or tip: a leg costs nothing but its pool's fee.
PAPER_TX_COSTS = routing.TxCosts(signatures=0, priority=PriorityFeePolicy(micro_lamports_per_unit=0))


def route_candidates(pools: Iterable[PoolState], limits: RiskLimits) -> list[routing.Candidate]:
    """The pools as routing candidates, each with its transaction's costs on the venue orders go to."""
    costs = PAPER_TX_COSTS if limits.paper_venue else routing.TxCosts()
    return [routing.Candidate(p.venue, p.pool, costs, state=p) for p in pools]


def _base_per_lamport(state: RiskState, info: PairInfo, limits: RiskLimits) -> Fraction:
    """Raw base units one lamport buys at the latest prices (0 on the paper venue: nothing to convert)."""
    if limits.paper_venue:
        return Fraction(0)
    base_unit = unit_value_usdc(state, info.base_mint)
    if base_unit <= 0.0:
        return Fraction(0)
    return Fraction(unit_value_usdc(state, state.sol_mint) / base_unit).limit_denominator(10**12)


def route_buy(
    state: RiskState,
    info: PairInfo,
    pair: str,
    pools: Sequence[PoolState],
    amount_in: int,
    limits: RiskLimits,
    *,
    split: bool = True,
) -> list[PoolQuote]:
    """The legs of a buy of `amount_in` raw quote: the pool with the best net output alone, or a split.

    A split (`venues.routing.split_route`) is taken only when the best single pool's impact exceeds
    `max_slippage_bps`, every leg's impact is within it, and the split nets more than that single fill
    (each leg is one more transaction). Otherwise the single fill comes back, over the cap or not, and the
    caller refuses it. Empty when no pool returns anything.
    """
    if amount_in <= 0:
        return []
    intent = routing.Intent(pair, "buy", amount_in, _base_per_lamport(state, info, limits))
    candidates = route_candidates(pools, limits)
    singles = routing.single_routes(intent, candidates)
    if not singles:
        return []
    best = singles[0]
    best_state = best.legs[0].candidate.state
    assert best_state is not None  # every candidate here is a pool
    single = quote_pool(best_state, "buy", amount_in)
    if single.impact_bps <= limits.max_slippage_bps or not split:
        return [single]
    routed = routing.split_route(intent, candidates, limits.split_chunks)
    if routed is None or not routed.split or routed.net_out <= best.net_out:
        return [single]
    legs = []
    for leg in routed.legs:
        leg_state = leg.candidate.state
        assert leg_state is not None
        legs.append(quote_pool(leg_state, "buy", leg.amount_in))
    if any(q.amount_out <= 0 or q.impact_bps > limits.max_slippage_bps for q in legs):
        return [single]
    return legs
