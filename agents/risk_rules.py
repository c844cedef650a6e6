"""The risk engine's pure core: state, sizing decisions, stop-loss exits, drawdown breaker, fills.

Everything here is a plain function of (state, event, limits): no I/O, no clock, no Faust. The risk agent
keeps one `RiskState` per portfolio in a Faust table (as `to_dict()`), calls these functions and emits
what they return. Decisions depend on event time and on the state only; `now_ms` is stamped onto the
outputs (`decided_ms`) for latency measurement and never read by a rule, so a replay decides the same way.

Units: balances, positions and order amounts are integers in raw token units; prices are floats in human
units (quote per base); equity and exposure are floats in USDC. The portfolio is spot and long-only: a
-1 signal closes an existing long, it never opens a short.

Reasons are `"<code>: <detail>"`; the code (before the first colon) is machine-readable and is one of
`ORDER_CODES` or `REJECT_CODES`.

How the agent drives it, per message (state loaded with `RiskState.from_dict`, saved with `to_dict`):
  signal: skip if `already_applied(...)`; `exits(...)` on the signal's pair and price first (so a stop
          loss reserves the position before a new buy can be sized), then `decide(...)`; `mark_applied`.
  fill:   skip if `already_applied(...)`; `apply_fill(state, fill, limits)`; `mark_applied`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from market import amm, bonding_curve
from solbot.settings import Settings
from streams.records import Fill, Order, PoolState, Rejection, Signal

logger = logging.getLogger(__name__)

SOL_DECIMALS = 9
USDC_DECIMALS = 6
PUMPFUN = "pumpfun"
# Fill and signal ids the state remembers for its own idempotency checks. Re-emissions after a restart
# span seconds (uncommitted input), and the whole state is re-written each batch, so keep it small.
RECENT_IDS_KEPT = 512

# Codes of approved orders.
ENTRY = "entry"  # a buy at the full per-position size
RESIZED = "resized"  # a buy shrunk by a cap or the balance; the detail names which
CLOSE = "close"  # a -1 signal selling the whole position
STOP_LOSS = "stop_loss"  # an exit because the price fell stop_loss_pct below entry
ORDER_CODES = (ENTRY, RESIZED, CLOSE, STOP_LOSS)

# Codes of rejections.
BAD_SIGNAL = "bad_signal"  # direction not +-1, or a non-positive / non-finite price
DUPLICATE = "duplicate"  # an order for this signal id is still pending
LOW_CONFIDENCE = "low_confidence"
NO_POOL = "no_pool"  # no pool for the pair, or none that returns anything for the size
UNSUPPORTED_QUOTE = "unsupported_quote"  # the quote mint is neither USDC nor SOL
EXIT_PENDING = "exit_pending"  # a sell is in flight for the pair; wait for its fill
HALTED = "halted"  # buys are refused while the portfolio is halted (drawdown breaker or manual)
NO_POSITION = "no_position"  # -1 on a pair the portfolio does not hold
POSITION_CAP = "below_min_size"  # the per-position size itself is below the minimum order
PAIR_CAP_FULL = "pair_cap_full"
TOTAL_CAP_FULL = "total_cap_full"
INSUFFICIENT_BALANCE = "insufficient_balance"
SLIPPAGE = "slippage"  # expected price impact above max_slippage_bps
REJECT_CODES = (
    BAD_SIGNAL,
    DUPLICATE,
    LOW_CONFIDENCE,
    NO_POOL,
    UNSUPPORTED_QUOTE,
    EXIT_PENDING,
    HALTED,
    NO_POSITION,
    POSITION_CAP,
    PAIR_CAP_FULL,
    TOTAL_CAP_FULL,
    INSUFFICIENT_BALANCE,
    SLIPPAGE,
)

# Which rejection code a binding cap maps to when it leaves less than the minimum order.
_CAP_REJECT = {
    "position_cap": POSITION_CAP,
    "pair_exposure_cap": PAIR_CAP_FULL,
    "total_exposure_cap": TOTAL_CAP_FULL,
    "balance": INSUFFICIENT_BALANCE,
}


def reason_code(reason: str) -> str:
    """The machine-readable code of a reason string (the part before the first colon)."""
    return reason.partition(":")[0]


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The risk knobs, frozen, units in the names; built from Settings or directly in tests."""

    max_position_pct: float = 5.0
    max_pair_exposure_pct: float = 10.0
    max_total_exposure_pct: float = 50.0
    stop_loss_pct: float = 2.0
    max_drawdown_pct: float = 10.0
    max_slippage_bps: int = 100
    min_confidence: float = 0.55
    paper_start_usdc: float = 10_000.0
    paper_start_sol: float = 50.0
    min_order_usdc: float = 10.0
    # Used to value SOL (and SOL-quoted pairs) until the first SOL/USDC price arrives on a signal.
    fallback_sol_usdc: float = 150.0

    def __post_init__(self) -> None:
        for name in ("max_position_pct", "max_pair_exposure_pct", "max_total_exposure_pct"):
            value = getattr(self, name)
            if not 0.0 < value <= 100.0:
                raise ValueError(f"{name} must be in (0, 100], got {value}")
        if not 0.0 < self.stop_loss_pct < 100.0 or not 0.0 < self.max_drawdown_pct <= 100.0:
            raise ValueError("stop_loss_pct and max_drawdown_pct must be in (0, 100)")
        if not 0 < self.max_slippage_bps < 10_000:
            raise ValueError(f"max_slippage_bps must be in (0, 10000), got {self.max_slippage_bps}")
        if self.min_order_usdc <= 0.0 or self.fallback_sol_usdc <= 0.0:
            raise ValueError("min_order_usdc and fallback_sol_usdc must be positive")
        if self.paper_start_usdc < 0.0 or self.paper_start_sol < 0.0:
            raise ValueError("paper balances must be non-negative")

    @classmethod
    def from_settings(cls, s: Settings, **overrides: Any) -> RiskLimits:
        """Take the risk fields of Settings; the rest (min order, SOL fallback) keep their defaults."""
        values: dict[str, Any] = {
            "max_position_pct": s.max_position_pct,
            "max_pair_exposure_pct": s.max_pair_exposure_pct,
            "max_total_exposure_pct": s.max_total_exposure_pct,
            "stop_loss_pct": s.stop_loss_pct,
            "max_drawdown_pct": s.max_drawdown_pct,
            "max_slippage_bps": s.max_slippage_bps,
            "min_confidence": s.min_confidence,
            "paper_start_usdc": s.paper_start_usdc,
            "paper_start_sol": s.paper_start_sol,
        }
        values.update(overrides)
        return cls(**values)


@dataclass(slots=True)
class PairInfo:
    """A pair's mints and decimals, learnt from the pools on its signals (fills do not carry mints)."""

    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int


@dataclass(slots=True)
class Position:
    """A long in one pair. `cost_quote` is raw quote units paid (fees included) for what is still held."""

    pair: str
    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    base_amount: int
    cost_quote: int
    entry_price: float  # average, human quote per base, fees included
    realised_pnl_quote: float  # human quote units, from partial sells of this position
    opened_ts_ms: int


@dataclass(slots=True)
class PendingOrder:
    """What an order in flight reserves, so the next decision sees its exposure and cannot spend it twice."""

    pair: str
    side: str
    input_mint: str
    amount_in: int
    expected_base: int  # buy: expected base out; sell: base sold
    kind: str


def _remember(ids: dict[str, None], key: str, keep: int) -> None:
    """Insert into an insertion-ordered id set, dropping the oldest beyond `keep` (O(1) both ways)."""
    ids[key] = None
    while len(ids) > keep:
        del ids[next(iter(ids))]


@dataclass(slots=True)
class RiskState:
    """One portfolio's risk state; `to_dict()` is what the agent stores in its Faust table."""

    portfolio: str
    sol_mint: str
    usdc_mint: str
    balances: dict[str, int]  # mint -> raw units: the paper wallet
    positions: dict[str, Position] = field(default_factory=dict)  # by pair
    pending: dict[str, PendingOrder] = field(default_factory=dict)  # by order id
    prices: dict[str, float] = field(default_factory=dict)  # pair -> last signal price
    pairs: dict[str, PairInfo] = field(default_factory=dict)
    peak_equity_usdc: float = 0.0
    fallback_sol_usdc: float = 150.0  # values SOL until the first SOL/USDC signal price
    halted: bool = False
    halt_reason: str = ""
    offsets: dict[str, int] = field(default_factory=dict)  # f"{topic}:{partition}" -> last applied
    decided: int = 0
    approved: int = 0
    rejected: int = 0
    realised_pnl: dict[str, float] = field(default_factory=dict)  # pair -> human quote units, all time
    recent_fills: dict[str, None] = field(default_factory=dict)  # ordered set of applied fill ids
    recent_signals: dict[str, None] = field(default_factory=dict)  # ordered set of decided signal ids
    base_pair: dict[str, str] = field(default_factory=dict)  # base mint -> pair that prices it

    @classmethod
    def initial(cls, portfolio: str, limits: RiskLimits, sol_mint: str, usdc_mint: str) -> RiskState:
        """A fresh paper wallet; its peak equity uses the SOL fallback price until a real one arrives."""
        state = cls(
            portfolio=portfolio,
            fallback_sol_usdc=limits.fallback_sol_usdc,
            sol_mint=sol_mint,
            usdc_mint=usdc_mint,
            balances={
                usdc_mint: round(limits.paper_start_usdc * 10**USDC_DECIMALS),
                sol_mint: round(limits.paper_start_sol * 10**SOL_DECIMALS),
            },
        )
        state.peak_equity_usdc = equity_usdc(state)
        return state

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (the id sets become lists, oldest first)."""
        d = asdict(self)
        d["recent_fills"] = list(self.recent_fills)
        d["recent_signals"] = list(self.recent_signals)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RiskState:
        return cls(
            portfolio=d["portfolio"],
            sol_mint=d["sol_mint"],
            usdc_mint=d["usdc_mint"],
            balances={k: int(v) for k, v in d["balances"].items()},
            positions={k: Position(**v) for k, v in d["positions"].items()},
            pending={k: PendingOrder(**v) for k, v in d["pending"].items()},
            prices={k: float(v) for k, v in d["prices"].items()},
            pairs={k: PairInfo(**v) for k, v in d["pairs"].items()},
            peak_equity_usdc=float(d["peak_equity_usdc"]),
            fallback_sol_usdc=float(d["fallback_sol_usdc"]),
            halted=bool(d["halted"]),
            halt_reason=d["halt_reason"],
            offsets={k: int(v) for k, v in d["offsets"].items()},
            decided=int(d["decided"]),
            approved=int(d["approved"]),
            rejected=int(d["rejected"]),
            realised_pnl={k: float(v) for k, v in d["realised_pnl"].items()},
            recent_fills=dict.fromkeys(d["recent_fills"]),
            recent_signals=dict.fromkeys(d["recent_signals"]),
            base_pair=dict(d["base_pair"]),
        )


# --- idempotency guard -------------------------------------------------------------------------------


def already_applied(state: RiskState, topic: str, partition: int, offset: int) -> bool:
    """True for a re-delivered message (offset at or below the last one applied on that partition)."""
    last = state.offsets.get(f"{topic}:{partition}")
    return last is not None and offset <= last


def mark_applied(state: RiskState, topic: str, partition: int, offset: int) -> None:
    """Record that a message was applied; offsets only move forward."""
    key = f"{topic}:{partition}"
    if offset > state.offsets.get(key, -1):
        state.offsets[key] = offset


# --- valuation -----------------------------------------------------------------------------------------


def sol_usdc_price(state: RiskState) -> float:
    """The latest SOL/USDC price from signals, or the state's fallback (from the limits, 150 by default)
    until one has been seen: SOL must be valued from the first event, before SOL/USDC has traded."""
    pair = state.base_pair.get(state.sol_mint)
    if pair is not None:
        price = state.prices.get(pair)
        if price is not None and state.pairs[pair].quote_mint == state.usdc_mint:
            return price
    return state.fallback_sol_usdc


def unit_value_usdc(state: RiskState, mint: str, _depth: int = 0) -> float:
    """USDC per raw unit of `mint`; 0.0 for a mint with no price yet (it is then not counted).

    A token is priced through its pair's quote (USDC, or SOL and then SOL/USDC); the depth bound stops a
    cycle of pairs quoted in each other from recursing forever.
    """
    if mint == state.usdc_mint:
        return 10.0**-USDC_DECIMALS
    if mint == state.sol_mint:
        return sol_usdc_price(state) * 10.0**-SOL_DECIMALS
    pair = state.base_pair.get(mint)
    if pair is None or _depth > 2:
        return 0.0
    price = state.prices.get(pair)
    info = state.pairs[pair]
    if price is None:
        return 0.0
    quote_human = unit_value_usdc(state, info.quote_mint, _depth + 1) * 10**info.quote_decimals
    return price * quote_human * 10.0**-info.base_decimals


def equity_usdc(state: RiskState) -> float:
    """The wallet marked to the latest signal prices, in USDC (pending orders are still in balances).

    SOL is valued at the latest SOL/USDC signal price or, before one arrives, at `fallback_sol_usdc`
    (150 unless the limits say otherwise); a token whose pair has no price yet counts as 0.
    """
    return sum(amount * unit_value_usdc(state, mint) for mint, amount in state.balances.items() if amount)


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


def available(state: RiskState, mint: str) -> int:
    """Raw units of `mint` not reserved by a pending order."""
    reserved = sum(p.amount_in for p in state.pending.values() if p.input_mint == mint)
    return state.balances.get(mint, 0) - reserved


# --- drawdown breaker ----------------------------------------------------------------------------------


def check_drawdown(state: RiskState, limits: RiskLimits) -> bool:
    """Raise the peak, or halt when equity is more than max_drawdown_pct below it. Returns `halted`.

    A halt is sticky: only a manual resume (outside this module) clears it.
    """
    equity = equity_usdc(state)
    if equity > state.peak_equity_usdc:
        state.peak_equity_usdc = equity
    elif not state.halted and state.peak_equity_usdc > 0.0:
        drawdown_pct = (1.0 - equity / state.peak_equity_usdc) * 100.0
        if drawdown_pct > limits.max_drawdown_pct:
            state.halted = True
            state.halt_reason = (
                f"drawdown {drawdown_pct:.2f}% > {limits.max_drawdown_pct:g}% "
                f"(equity {equity:.2f} USDC, peak {state.peak_equity_usdc:.2f})"
            )
            logger.warning("portfolio %s halted: %s", state.portfolio, state.halt_reason)
    return state.halted


def _learn(state: RiskState, pair: str, price: float, pools: Iterable[PoolState], limits: RiskLimits) -> None:
    """Take the pair's mints from its pools and its price from the event.

    The first SOL/USDC price re-bases the peak: replacing the assumed fallback price with an observed
    one is not a loss, and must not trip the breaker.
    """
    if pair not in state.pairs:
        for pool in pools:
            state.pairs[pair] = PairInfo(
                pool.base_mint, pool.quote_mint, pool.base_decimals, pool.quote_decimals
            )
            state.base_pair.setdefault(pool.base_mint, pair)
            break
    if not (price > 0.0 and math.isfinite(price)):
        return
    first = pair not in state.prices
    state.prices[pair] = price
    info = state.pairs.get(pair)
    if (
        first
        and info is not None
        and info.base_mint == state.sol_mint
        and info.quote_mint == state.usdc_mint
        and not state.halted
    ):
        state.peak_equity_usdc = equity_usdc(state)
    check_drawdown(state, limits)


# --- pool maths ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """What a pool returns for an exact input, and the size-driven impact (fee excluded) in bps."""

    pool: PoolState
    amount_out: int
    impact_bps: float


def _curve(pool: PoolState) -> bonding_curve.Curve:
    return bonding_curve.Curve(
        virtual_token_reserves=pool.base_reserve,
        virtual_sol_reserves=pool.quote_reserve,
        real_token_reserves=pool.real_base_reserve,
    )


def quote_pool(pool: PoolState, side: str, amount_in: int) -> Quote:
    """Price an exact-input swap on one pool with the venue's own integer maths.

    The impact excludes the fee: the fee is a known cost already in `amount_out`; the slippage cap bounds
    how far the trade's size moves the price, which is what the fee-free comparison measures.
    """
    if pool.venue == PUMPFUN:
        curve = _curve(pool)
        if side == "buy":
            out, net, _fee = bonding_curve.buy_with_sol(curve, amount_in, pool.fee_bps)
            moved, ideal = out, net * pool.base_reserve / max(pool.quote_reserve, 1)
        else:
            gross, fee = bonding_curve.sell_proceeds(curve, amount_in, pool.fee_bps)
            out, moved, ideal = gross - fee, gross, amount_in * pool.quote_reserve / max(pool.base_reserve, 1)
        if out <= 0 or ideal <= 0.0:
            return Quote(pool, 0, 10_000.0)
        return Quote(pool, out, max(0.0, (1.0 - moved / ideal) * 10_000.0))
    r_in, r_out = (
        (pool.quote_reserve, pool.base_reserve) if side == "buy" else (pool.base_reserve, pool.quote_reserve)
    )
    out = amm.quote_out(amount_in, r_in, r_out, pool.fee_bps)
    if out <= 0:
        return Quote(pool, 0, 10_000.0)
    net = amount_in - amm.fee_amount(amount_in, pool.fee_bps)
    return Quote(pool, out, amm.price_impact_bps(net, r_in, r_out, 0))


def best_quote(info: PairInfo, pools: Iterable[PoolState], side: str, amount_in: int) -> Quote | None:
    """The pool of the pair that returns the most for this input (None if no pool returns anything)."""
    best: Quote | None = None
    for pool in pools:
        if pool.base_mint != info.base_mint or pool.quote_mint != info.quote_mint:
            continue
        q = quote_pool(pool, side, amount_in)
        if q.amount_out > 0 and (best is None or q.amount_out > best.amount_out):
            best = q
    return best


def _min_out(expected: int, limits: RiskLimits) -> int:
    return expected * (10_000 - limits.max_slippage_bps) // 10_000


# --- decisions -----------------------------------------------------------------------------------------


def _reject(state: RiskState, signal: Signal, code: str, detail: str, now_ms: int) -> Rejection:
    state.rejected += 1
    return Rejection(
        id=f"rej:{signal.id}",
        signal_id=signal.id,
        pair=signal.pair,
        reason=f"{code}: {detail}",
        ts_ms=signal.ts_ms,
        origin_ms=signal.origin_ms,
        decided_ms=now_ms,
    )


def _order(
    state: RiskState,
    *,
    order_id: str,
    signal_id: str,
    pair: str,
    side: str,
    input_mint: str,
    amount_in: int,
    quote: Quote,
    limits: RiskLimits,
    kind: str,
    reason: str,
    ts_ms: int,
    origin_ms: int,
    now_ms: int,
) -> Order:
    """Build an order and reserve its input at once, so the next decision sees it."""
    expected_base = quote.amount_out if side == "buy" else amount_in
    state.pending[order_id] = PendingOrder(pair, side, input_mint, amount_in, expected_base, kind)
    return Order(
        id=order_id,
        signal_id=signal_id,
        pair=pair,
        side=side,
        amount_in=amount_in,
        min_amount_out=_min_out(quote.amount_out, limits),
        venue=quote.pool.venue,
        pool=quote.pool.pool,
        pool_state=quote.pool,
        kind=kind,
        reason=reason,
        ts_ms=ts_ms,
        origin_ms=origin_ms,
        decided_ms=now_ms,
    )


def _sell_pending(state: RiskState, pair: str) -> bool:
    return any(p.pair == pair and p.side == "sell" for p in state.pending.values())


def decide(state: RiskState, signal: Signal, limits: RiskLimits, now_ms: int) -> Order | Rejection:
    """Turn one signal into an order (approved, maybe resized) or a rejection, updating the state.

    The signal's price updates the price map (and the breaker) first, whatever the outcome. The counters
    count signals only (decided = approved + rejected); stop-loss exits are not counted.
    """
    state.decided += 1
    _learn(state, signal.pair, signal.price, signal.pools, limits)
    if signal.direction not in (1, -1) or not (signal.price > 0.0 and math.isfinite(signal.price)):
        return _reject(
            state, signal, BAD_SIGNAL, f"direction {signal.direction}, price {signal.price}", now_ms
        )
    if signal.id in state.recent_signals:
        return _reject(state, signal, DUPLICATE, f"signal {signal.id} already decided", now_ms)
    _remember(state.recent_signals, signal.id, RECENT_IDS_KEPT)
    if signal.confidence < limits.min_confidence:
        return _reject(
            state, signal, LOW_CONFIDENCE, f"{signal.confidence:.3f} < {limits.min_confidence:g}", now_ms
        )
    info = state.pairs.get(signal.pair)
    if info is None:
        return _reject(state, signal, NO_POOL, "signal carries no pool for the pair", now_ms)
    if _sell_pending(state, signal.pair):
        return _reject(state, signal, EXIT_PENDING, f"a sell of {signal.pair} is in flight", now_ms)
    if signal.direction == 1:
        out = _decide_buy(state, signal, info, limits, now_ms)
    else:
        out = _decide_sell(state, signal, info, limits, now_ms)
    if isinstance(out, Order):
        state.approved += 1
    return out


def _decide_buy(
    state: RiskState, signal: Signal, info: PairInfo, limits: RiskLimits, now_ms: int
) -> Order | Rejection:
    if state.halted:
        return _reject(state, signal, HALTED, state.halt_reason or "manual", now_ms)
    quote_unit = unit_value_usdc(state, info.quote_mint)
    if info.quote_mint not in (state.usdc_mint, state.sol_mint) or quote_unit <= 0.0:
        return _reject(state, signal, UNSUPPORTED_QUOTE, f"quote mint {info.quote_mint}", now_ms)
    equity = equity_usdc(state)
    free_raw = available(state, info.quote_mint)
    caps = (
        ("position_cap", limits.max_position_pct / 100.0 * equity),
        (
            "pair_exposure_cap",
            limits.max_pair_exposure_pct / 100.0 * equity - pair_exposure_usdc(state, signal.pair),
        ),
        ("total_exposure_cap", limits.max_total_exposure_pct / 100.0 * equity - total_exposure_usdc(state)),
        ("balance", max(free_raw, 0) * quote_unit),
    )
    binding, target_usdc = min(caps, key=lambda c: c[1])  # ties keep the first: the position cap
    if target_usdc < limits.min_order_usdc:
        detail = f"{binding} leaves {target_usdc:.2f} USDC < min order {limits.min_order_usdc:g}"
        return _reject(state, signal, _CAP_REJECT[binding], detail, now_ms)
    # Convert through the human price (1.0 or SOL/USDC), not the per-raw-unit float, to floor exactly.
    quote_price = 1.0 if info.quote_mint == state.usdc_mint else sol_usdc_price(state)
    amount_in = min(math.floor(target_usdc / quote_price * 10**info.quote_decimals), free_raw)
    quote = best_quote(info, signal.pools, "buy", amount_in)
    if quote is None:
        return _reject(state, signal, NO_POOL, f"no pool returns anything for {amount_in} raw in", now_ms)
    if quote.impact_bps > limits.max_slippage_bps:
        detail = f"impact {quote.impact_bps:.1f}bps > {limits.max_slippage_bps}bps on {quote.pool.venue}"
        return _reject(state, signal, SLIPPAGE, detail, now_ms)
    full = caps[0][1]
    where = f"on {quote.pool.venue} impact {quote.impact_bps:.1f}bps"
    if binding == "position_cap":
        reason = f"{ENTRY}: {target_usdc:.2f} USDC ({limits.max_position_pct:g}% of {equity:.2f}) {where}"
    else:
        reason = f"{RESIZED}: {binding} {target_usdc:.2f} of {full:.2f} USDC {where}"
    return _order(
        state,
        order_id=f"ord:{signal.id}",
        signal_id=signal.id,
        pair=signal.pair,
        side="buy",
        input_mint=info.quote_mint,
        amount_in=amount_in,
        quote=quote,
        limits=limits,
        kind="entry",
        reason=reason,
        ts_ms=signal.ts_ms,
        origin_ms=signal.origin_ms,
        now_ms=now_ms,
    )


def _sellable(state: RiskState, pos: Position) -> int:
    """The position, capped by the unreserved base balance (SOL held as a position can also be a quote)."""
    return min(pos.base_amount, available(state, pos.base_mint))


def _decide_sell(
    state: RiskState, signal: Signal, info: PairInfo, limits: RiskLimits, now_ms: int
) -> Order | Rejection:
    pos = state.positions.get(signal.pair)
    if pos is None:
        return _reject(state, signal, NO_POSITION, f"no long in {signal.pair} to close", now_ms)
    amount_in = _sellable(state, pos)
    if amount_in <= 0:
        detail = f"the {signal.pair} long is wholly reserved by pending orders"
        return _reject(state, signal, NO_POSITION, detail, now_ms)
    quote = best_quote(info, signal.pools, "sell", amount_in)
    if quote is None:
        return _reject(state, signal, NO_POOL, f"no pool returns anything for {amount_in} raw base", now_ms)
    return _order(
        state,
        order_id=f"ord:{signal.id}",
        signal_id=signal.id,
        pair=signal.pair,
        side="sell",
        input_mint=pos.base_mint,
        amount_in=amount_in,
        quote=quote,
        limits=limits,
        kind="exit",
        reason=f"{CLOSE}: sell {amount_in} raw base on {quote.pool.venue} impact {quote.impact_bps:.1f}bps",
        ts_ms=signal.ts_ms,
        origin_ms=signal.origin_ms,
        now_ms=now_ms,
    )


def exits(
    state: RiskState,
    pair: str,
    price: float,
    ts_ms: int,
    pools: list[PoolState],
    limits: RiskLimits,
    now_ms: int,
    origin_ms: int | None = None,
) -> list[Order]:
    """Stop loss: sell the whole long once the price is stop_loss_pct or more below its average entry.

    Exits are allowed while halted and are not slippage-capped (getting out beats the cap; the order
    still carries a min_amount_out). At most one sell per pair is in flight. `origin_ms` defaults to
    `now_ms` because a price tick that triggers an exit may not carry the raw record's publish time.
    """
    _learn(state, pair, price, pools, limits)
    pos = state.positions.get(pair)
    info = state.pairs.get(pair)
    if (
        pos is None
        or info is None
        or not (price > 0.0 and math.isfinite(price))
        or _sell_pending(state, pair)
    ):
        return []
    trigger = pos.entry_price * (1.0 - limits.stop_loss_pct / 100.0)
    if price > trigger:
        return []
    amount_in = _sellable(state, pos)
    quote = best_quote(info, pools, "sell", amount_in) if amount_in > 0 else None
    if quote is None:
        logger.warning("stop loss on %s cannot be priced: no pool returns anything", pair)
        return []
    return [
        _order(
            state,
            order_id=f"exit:{pair}:{ts_ms}:{STOP_LOSS}",
            signal_id="",
            pair=pair,
            side="sell",
            input_mint=pos.base_mint,
            amount_in=amount_in,
            quote=quote,
            limits=limits,
            kind=STOP_LOSS,
            reason=f"{STOP_LOSS}: price {price:.6g} <= {trigger:.6g} ({limits.stop_loss_pct:g}% under entry "
            f"{pos.entry_price:.6g})",
            ts_ms=ts_ms,
            origin_ms=now_ms if origin_ms is None else origin_ms,
            now_ms=now_ms,
        )
    ]


# --- fills ---------------------------------------------------------------------------------------------


def apply_fill(state: RiskState, fill: Fill, limits: RiskLimits | None = None) -> None:
    """Release the order's reservation; on "filled" move balances and update the position.

    The fill is the truth: balances move by the fill's amounts, not the order's. Idempotent by fill id
    (a bounded memory of recent ids) on top of the agent's offset guard. With `limits`, the breaker is
    checked at once (fees lower equity); without, the next decision or exit check does it.
    """
    if fill.id in state.recent_fills:
        return
    _remember(state.recent_fills, fill.id, RECENT_IDS_KEPT)
    state.pending.pop(fill.order_id, None)
    if fill.status != "filled":
        return
    info = state.pairs.get(fill.pair)
    if info is None:
        logger.error("fill %s for order %s: unknown pair %s, not applied", fill.id, fill.order_id, fill.pair)
        return
    base, quote = info.base_mint, info.quote_mint
    if fill.side == "buy":
        state.balances[quote] = state.balances.get(quote, 0) - fill.quote_amount
        state.balances[base] = state.balances.get(base, 0) + fill.base_amount
        _add_to_position(state, info, fill)
    elif fill.side == "sell":
        state.balances[base] = state.balances.get(base, 0) - fill.base_amount
        state.balances[quote] = state.balances.get(quote, 0) + fill.quote_amount
        _reduce_position(state, fill)
    else:
        logger.error("fill %s for order %s: unknown side %r, not applied", fill.id, fill.order_id, fill.side)
        return
    if limits is not None:
        check_drawdown(state, limits)


def _add_to_position(state: RiskState, info: PairInfo, fill: Fill) -> None:
    if fill.base_amount <= 0:
        return
    pos = state.positions.get(fill.pair)
    if pos is None:
        pos = Position(
            pair=fill.pair,
            base_mint=info.base_mint,
            quote_mint=info.quote_mint,
            base_decimals=info.base_decimals,
            quote_decimals=info.quote_decimals,
            base_amount=0,
            cost_quote=0,
            entry_price=0.0,
            realised_pnl_quote=0.0,
            opened_ts_ms=fill.ts_ms,
        )
        state.positions[fill.pair] = pos
    pos.base_amount += fill.base_amount
    pos.cost_quote += fill.quote_amount
    pos.entry_price = (pos.cost_quote / 10**pos.quote_decimals) / (pos.base_amount / 10**pos.base_decimals)


def _reduce_position(state: RiskState, fill: Fill) -> None:
    pos = state.positions.get(fill.pair)
    if pos is None or fill.base_amount <= 0:
        return
    sold = min(fill.base_amount, pos.base_amount)
    released = pos.cost_quote if sold == pos.base_amount else pos.cost_quote * sold // pos.base_amount
    # Proceeds beyond the position (never expected) would otherwise be booked as pure profit.
    proceeds = fill.quote_amount * sold // fill.base_amount
    pnl = (proceeds - released) / 10**pos.quote_decimals
    pos.realised_pnl_quote += pnl
    state.realised_pnl[fill.pair] = state.realised_pnl.get(fill.pair, 0.0) + pnl
    pos.base_amount -= sold
    pos.cost_quote -= released
    if pos.base_amount == 0:
        del state.positions[fill.pair]
