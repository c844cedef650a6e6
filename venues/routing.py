"""Smart order routing: which venue (or which split across pools) gives an order the most, net of costs.

Why net: a pool with the better price can lose to a worse one once its transaction's costs are counted,
and for a small order the fixed costs (signature fee, priority fee, Jito tip) decide. Every candidate is
priced for the order's exact input with its own maths (`market.amm` for constant-product pools,
`market.bonding_curve` for Pump.fun curves, or a Jupiter quote as given, which already routes and
charges its pools' fees), then its lamport costs are converted into output units and subtracted.

Splitting: when the best single fill's price impact exceeds a bound, the input is cut into equal chunks
and each chunk goes to the pool whose next chunk pays the most (greedy on marginal output; with concave
pool curves this approaches the optimum as chunks shrink). Each pool used is one more transaction, so a
split is taken only if its net output beats the best single fill. Jupiter quotes are for one fixed
amount, so they compete as single fills only.

All amounts are raw integer units; the lamport-to-output rate is a `Fraction`, so nothing rounds twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from market import amm
from market import bonding_curve as bc
from market.venues import is_bonding_curve
from streams.records import PoolState
from venues.fees import BASE_FEE_LAMPORTS_PER_SIGNATURE, PriorityFeePolicy, TipPolicy, priority_fee_lamports
from venues.jupiter.schemas import QuoteResponse

DEFAULT_UNIT_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Intent:
    """What to trade: `amount_in` raw units of the input mint (quote for a buy, base for a sell).

    `out_per_lamport` is what one lamport is worth in raw output units (1 when the output is SOL, 0 to
    ignore lamport costs), so transaction costs and output compare in one unit.
    """

    pair: str
    side: str  # "buy" | "sell"
    amount_in: int
    out_per_lamport: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        if self.side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', not {self.side!r}")
        if self.amount_in <= 0:
            raise ValueError("amount_in must be > 0")
        if self.out_per_lamport < 0:
            raise ValueError("out_per_lamport must be >= 0")


@dataclass(frozen=True, slots=True)
class TxCosts:
    """A transaction's lamport costs: signature fees, the priority fee for its unit limit, a Jito tip."""

    signatures: int = 1
    unit_limit: int = DEFAULT_UNIT_LIMIT
    priority: PriorityFeePolicy = field(default_factory=PriorityFeePolicy)
    tip: TipPolicy | None = None

    def lamports(self) -> int:
        unit_price = self.priority.unit_price(self.unit_limit)
        fee = self.signatures * BASE_FEE_LAMPORTS_PER_SIGNATURE
        fee += priority_fee_lamports(self.unit_limit, unit_price)
        return fee + (self.tip.tip() if self.tip is not None else 0)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One place to fill: a pool's state (split-able) or a Jupiter quote for the whole amount."""

    venue: str
    pool: str
    costs: TxCosts = field(default_factory=TxCosts)
    state: PoolState | None = None
    quote: QuoteResponse | None = None

    def __post_init__(self) -> None:
        if (self.state is None) == (self.quote is None):
            raise ValueError("a candidate has either a pool state or a quote")

    @property
    def splittable(self) -> bool:
        return self.state is not None

    def amount_out(self, side: str, amount_in: int) -> int:
        """Gross output (after the pool's own fee) for `amount_in`; 0 if it cannot fill."""
        if amount_in <= 0:
            return 0
        if self.quote is not None:
            return self.quote.out_amount if amount_in == self.quote.in_amount else 0
        state = self.state
        assert state is not None
        if is_bonding_curve(state.venue):
            return _curve_out(state, side, amount_in)
        if side == "buy":
            return amm.quote_out(amount_in, state.quote_reserve, state.base_reserve, state.fee_bps)
        return amm.quote_out(amount_in, state.base_reserve, state.quote_reserve, state.fee_bps)

    def impact_bps(self, side: str, amount_in: int) -> float:
        """How far the fill's price is below the pool's spot price (fee included), in bps."""
        if self.quote is not None:
            return self.quote.price_impact_pct * 100.0
        state = self.state
        assert state is not None
        out = self.amount_out(side, amount_in)
        if out <= 0 or state.base_reserve <= 0 or state.quote_reserve <= 0:
            return 10_000.0
        if side == "buy":
            spot = Fraction(state.base_reserve, state.quote_reserve)
        else:
            spot = Fraction(state.quote_reserve, state.base_reserve)
        return max(0.0, float(1 - Fraction(out, amount_in) / spot) * 10_000.0)


def _curve_out(state: PoolState, side: str, amount_in: int) -> int:
    if state.real_base_reserve <= 0 or state.base_reserve <= 0 or state.quote_reserve <= 0:
        return 0
    curve = bc.Curve(state.base_reserve, state.quote_reserve, state.real_base_reserve)
    if side == "buy":
        tokens, _, _ = bc.buy_with_sol(curve, amount_in, state.fee_bps, state.creator_fee_bps)
        return tokens
    gross, fee = bc.sell_proceeds(curve, amount_in, state.fee_bps, state.creator_fee_bps)
    return max(0, gross - fee)


@dataclass(frozen=True, slots=True)
class Leg:
    candidate: Candidate
    amount_in: int
    amount_out: int
    cost_lamports: int


@dataclass(frozen=True, slots=True)
class Route:
    """The chosen execution: one leg, or several pools' legs; `net_out` is output minus costs (raw)."""

    legs: tuple[Leg, ...]
    amount_in: int
    amount_out: int
    cost_out: Fraction
    net_out: Fraction

    @property
    def split(self) -> bool:
        return len(self.legs) > 1

    def net_price(self) -> Fraction:
        """Net output per unit of input: what routing maximises."""
        return self.net_out / self.amount_in


def _route(intent: Intent, legs: Sequence[Leg]) -> Route:
    out = sum(leg.amount_out for leg in legs)
    cost = sum(leg.cost_lamports for leg in legs) * intent.out_per_lamport
    return Route(tuple(legs), sum(leg.amount_in for leg in legs), out, cost, out - cost)


def single_routes(intent: Intent, candidates: Sequence[Candidate]) -> list[Route]:
    """Every candidate that can fill the whole order alone, best net first."""
    routes = []
    for candidate in candidates:
        out = candidate.amount_out(intent.side, intent.amount_in)
        if out > 0:
            leg = Leg(candidate, intent.amount_in, out, candidate.costs.lamports())
            routes.append(_route(intent, [leg]))
    return sorted(routes, key=lambda r: r.net_out, reverse=True)


def split_route(intent: Intent, candidates: Sequence[Candidate], chunks: int = 20) -> Route | None:
    """Greedy marginal allocation of `chunks` equal parts of the input across the pool candidates."""
    pools = [c for c in candidates if c.splittable]
    if len(pools) < 2 or chunks < 2:
        return None
    allocated = [0] * len(pools)
    outs = [0] * len(pools)
    base, remainder = divmod(intent.amount_in, chunks)
    for i in range(chunks):
        size = base + (1 if i < remainder else 0)
        if size <= 0:
            continue
        best, best_gain, best_out = -1, 0, 0
        for j, pool in enumerate(pools):
            out = pool.amount_out(intent.side, allocated[j] + size)
            if out - outs[j] > best_gain:
                best, best_gain, best_out = j, out - outs[j], out
        if best < 0:
            return None  # no pool pays anything for this chunk: the order cannot be filled by splitting
        allocated[best] += size
        outs[best] = best_out
    legs = [
        Leg(pool, allocated[j], outs[j], pool.costs.lamports())
        for j, pool in enumerate(pools)
        if allocated[j]
    ]
    return _route(intent, legs)


def best_route(
    intent: Intent, candidates: Sequence[Candidate], *, max_impact_bps: float = 100.0, chunks: int = 20
) -> Route | None:
    """The best net execution: the best single fill, or a split when that fill's impact is too large
    and the split nets more. None when no candidate can fill the order."""
    singles = single_routes(intent, candidates)
    best = singles[0] if singles else None
    if best is not None:
        leg = best.legs[0]
        if leg.candidate.impact_bps(intent.side, intent.amount_in) <= max_impact_bps:
            return best
    split = split_route(intent, candidates, chunks)
    if split is not None and (best is None or split.net_out > best.net_out):
        return split
    return best
