"""How the backtest fills an order: when, against which pool state, and at what cost.

The live paper venue fills an order against the very state it was priced on, at once. A real order
lands later, on a pool other traders (and the bot itself) have moved since, may fail its slippage floor,
pays for its transaction, and may be sandwiched. `FillModel` states which of those the backtest applies:

* **latency**: the order fills `latency_ms` of event time after its decision, on the pool as it stands
  then (its last observed state at or before that time), so a floor computed from the decision's state
  can fail; a failed order is recorded with its reason, like a live one.
* **own impact**: a filled order moves the pool it traded (the pool's own maths); later fills on that
  pool see it until the recording shows that pool's next state (which was recorded without the bot).
* **network fees**: signature fee + priority fee + Jito tip, from the live fee policy
  (`venues.fee_policy` with the settings' knobs and no market data, i.e. its defaults; a stop or breaker
  exit pays its higher urgency), charged in SOL on the fill (`Fill.network_fee_lamports`) for a filled
  swap and for one that failed on chain (slippage); an order refused before sending pays nothing.
* **sandwich**: a share of the slippage allowance (output at the fill state minus the floor) is lost.
* **staleness per pool**: a fill on a pool whose last observed state is older than `max_pool_age_ms`
  fails (`stale_pool`): the recording says nothing about that pool's price then.

`FillModel.pipeline()` is what the paper pipeline does (no latency, the decision's own state, no costs
beyond the pools' fees): the mode in which a backtest and a broker replay of a recording must agree.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from market.fills import FILLED, SLIPPAGE, STALE_POOL, failed_fill
from market.venues import is_bonding_curve
from streams.records import Fill, Order, PoolState
from venues.fee_policy import FeeLimits, FeePolicy, urgency_of
from venues.fees import TipPolicy
from venues.routing import TxCosts

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.settings import Settings
    from venues.paper.execution import PaperVenue


@dataclass(frozen=True, slots=True)
class FillModel:
    """Which honest costs a backtest applies (see the module docstring)."""

    latency_ms: int = 0
    on_decision_state: bool = True  # fill on the state the order was priced on (the paper pipeline)
    own_impact: bool = False
    network_fees: bool = False
    sandwich_share: float = 0.0
    max_pool_age_ms: int = 0
    fee_limits: FeeLimits = field(default_factory=FeeLimits)

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or self.max_pool_age_ms < 0:
            raise ValueError("latency_ms and max_pool_age_ms must be >= 0")
        if not 0.0 <= self.sandwich_share <= 1.0:
            raise ValueError("sandwich_share must be in [0, 1]")

    @classmethod
    def pipeline(cls) -> FillModel:
        """The paper pipeline's fills: at once, on the decision's state, pool fees only."""
        return cls()

    @classmethod
    def from_settings(cls, settings: Settings) -> FillModel:
        from venues.fee_source import fee_limits

        return cls(
            latency_ms=settings.backtest_latency_ms,
            on_decision_state=False,
            own_impact=settings.backtest_own_impact,
            network_fees=settings.backtest_network_fees,
            sandwich_share=settings.backtest_sandwich_share,
            max_pool_age_ms=settings.backtest_pool_max_age_ms,
            fee_limits=fee_limits(settings),
        )

    @property
    def is_pipeline(self) -> bool:
        return self == FillModel(fee_limits=self.fee_limits)

    def network_fee_lamports(self, kind: str) -> int:
        """One transaction's lamports: one signature, the priority fee for the routing's default unit
        limit, a tip; each at the urgency the live policy gives this order kind."""
        if not self.network_fees:
            return 0
        policy = FeePolicy(self.fee_limits)
        urgency = urgency_of(kind, self.fee_limits.urgency)
        costs = TxCosts(
            priority=policy.priority([], urgency),
            tip=TipPolicy(policy.tip(None, urgency), self.fee_limits.max_tip_lamports),
        )
        return costs.lamports()

    def describe(self) -> dict[str, Any]:
        """The model as the report states it."""
        return {
            "mode": "pipeline" if self.is_pipeline else "honest",
            "latency_ms": self.latency_ms,
            "fills_on": "decision state" if self.on_decision_state else "pool state at decision + latency",
            "own_impact": self.own_impact,
            "network_fee_lamports": {k: self.network_fee_lamports(k) for k in ("entry", "exit", "stop_loss")},
            "sandwich_share": self.sandwich_share,
            "max_pool_age_ms": self.max_pool_age_ms,
        }


class PoolBook:
    """Every pool's recent states as the recording showed them, with the bot's own fills on top.

    A swap's record is kept as it is (the last `keep_ms` of event time per pool) and turned into a
    `PoolState` only when an order fills on its pool, so the per-swap cost is an append. History is
    needed because a decision can be made after the recording has moved past its fill time (the model's
    event-time merge holds snapshots until every partition has passed them).
    """

    def __init__(self, keep_ms: int = 60_000) -> None:
        self.keep_ms = keep_ms
        self.observed: dict[str, deque[Any]] = {}  # pool -> its recent swaps (RawSwap or Swap), in order
        self.own: dict[str, PoolState] = {}  # pool -> its state after the bot's fills on an observed state

    def observe(self, swap: Any) -> None:
        seen = self.observed.get(swap.pool)
        if seen is None:
            seen = self.observed[swap.pool] = deque()
        seen.append(swap)
        horizon = swap.ts_ms - self.keep_ms
        while len(seen) > 1 and seen[0].ts_ms < horizon:
            seen.popleft()

    def at(self, pool: str, ts_ms: int) -> PoolState | None:
        """The pool as it stood at `ts_ms`: its last observed state then, under the bot's own fills on
        that same state (a newer observation replaces them: it was recorded without the bot)."""
        seen = self.observed.get(pool)
        if not seen:
            return None
        chosen = seen[0]
        for swap in reversed(seen):
            if swap.ts_ms <= ts_ms:
                chosen = swap
                break
        mine = self.own.get(pool)
        if mine is not None and mine.ts_ms >= chosen.ts_ms:
            return mine
        from features.maths import pool_state_from_swap

        return pool_state_from_swap(chosen)

    def apply_own(self, state: PoolState, fill: Fill) -> None:
        """The pool after `fill`, by the pool's own maths: an AMM keeps its fee in the reserves, a
        bonding curve pays it out. The result keeps the observed state's `ts_ms`."""
        curve = is_bonding_curve(state.venue)
        base, quote, real = state.base_reserve, state.quote_reserve, state.real_base_reserve
        if fill.side == "buy":
            base -= fill.base_amount
            quote += fill.quote_amount - (fill.fee_quote if curve else 0)
            real -= fill.base_amount if curve else 0
        else:
            base += fill.base_amount
            quote -= fill.quote_amount + (fill.fee_quote if curve else 0)
            real += fill.base_amount if curve else 0
        self.own[state.pool] = state.derive(
            base_reserve=max(base, 0), quote_reserve=max(quote, 0), real_base_reserve=max(real, 0)
        )


@dataclass(frozen=True, slots=True)
class Execution:
    """One order's outcome under the fill model, with the state it filled on and what the costs took."""

    fill: Fill
    fill_state: PoolState
    sandwich_out: int = 0  # raw output units a sandwich took


def execute(
    model: FillModel,
    book: PoolBook,
    venue: PaperVenue,
    order: Order,
    wallet: Mapping[str, int],
    now_ms: int,
) -> Execution:
    """Fill `order` at `now_ms` under `model` (the wallet is only read; the book learns own impact)."""
    state = order.pool_state
    if not model.on_decision_state:
        seen = book.at(order.pool, now_ms)
        if seen is not None and seen.ts_ms >= state.ts_ms:
            state = seen
        if model.max_pool_age_ms and now_ms - state.ts_ms > model.max_pool_age_ms:
            return Execution(failed_fill(order, now_ms, STALE_POOL), state)
    priced = order if state is order.pool_state else order.derive(pool_state=state)
    fill = venue.fill(priced, wallet, now_ms)
    taken = 0
    if fill.status == FILLED and model.sandwich_share > 0.0:
        fill, taken = _sandwiched(fill, order.min_amount_out, model.sandwich_share)
    if fill.status == FILLED or fill.reason == SLIPPAGE:
        lamports = model.network_fee_lamports(order.kind)
        if lamports:
            fill = fill.derive(network_fee_lamports=lamports)
    if fill.status == FILLED and model.own_impact:
        book.apply_own(state, fill)
    return Execution(fill, state, taken)


def _sandwiched(fill: Fill, floor: int, share: float) -> tuple[Fill, int]:
    """The fill less `share` of its output above the floor (a front-run that stops at the floor)."""
    out = fill.base_amount if fill.side == "buy" else fill.quote_amount
    taken = int((out - floor) * share) if out > floor else 0
    if taken <= 0:
        return fill, 0
    base, quote = (
        (fill.base_amount - taken, fill.quote_amount)
        if fill.side == "buy"
        else (
            fill.base_amount,
            fill.quote_amount - taken,
        )
    )
    price = (quote / 10**fill.quote_decimals) / (base / 10**fill.base_decimals) if base > 0 else 0.0
    return fill.derive(base_amount=base, quote_amount=quote, price=price), taken
