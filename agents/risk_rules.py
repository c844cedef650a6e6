"""The risk engine's pure core: state, sizing, limits, exits, circuit breakers, kill switch, fills.

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
          loss reserves the position before a new buy can be sized), then `decide_all(...)`; `mark_applied`.
  fill:   skip if `already_applied(...)`; `apply_fill(state, fill, limits)`; `mark_applied`.
  mint:   `apply_mint(state, info, limits)` (raw.mints: authorities still set refuse the mint).
  control: `apply_control(state, control, limits)` (the kill switch: manual halt / resume; or a rebalance,
          `agents.rebalance`); once per control id, never older than the newest applied.
  manual: `close_position(state, pair, ...)` (control.manual `close` from the API).
  params: `apply_strategy_params(state, params)`; decisions and exits then use
          `limits_for_strategy(limits, state, strategy)` (the signal's, or the position's opener's).
  after each message: `flatten(...)` when a halt asked for it (`state.flatten_pending`), then
          `agents.rebalance.plan_rebalance(...)` while a rebalance is in progress.

Halts (`state.halts`, kind -> reason; `halted`/`halt_reason` mirror it) refuse every buy; sells and exits
go on. Kinds: `manual` (cleared by a resume control), `drawdown` (from peak equity; sticky: only a fresh
risk state clears it), `daily_drawdown` (from the UTC day's opening equity; cleared at the next day of
event time), `stale` (every priced pair stale; cleared by the next fresh price).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from typing import Any

from core.settings import Settings
from market import amm, bonding_curve
from streams.records import Control, Fill, MintInfo, Order, PoolState, Rejection, Signal, StrategyParams
from venues import routing
from venues.fees import PriorityFeePolicy

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
TAKE_PROFIT = "take_profit"  # an exit because the price rose take_profit_pct above entry
TRAILING_STOP = "trailing_stop"  # an exit because the price fell trailing_stop_pct below its high since entry
TIME_STOP = "time_stop"  # an exit because the position was held max_hold_s of event time
FLATTEN = "flatten"  # an exit of every position because a halt asked for it
MANUAL = "manual"  # an exit an operator asked for (dashboard / API `close`); also the order kind
REBALANCE = "rebalance"  # a slice moving a position toward its target allocation; also the order kind
REBALANCE_CAPPED = "rebalance_capped"  # a rebalance buy whose target was above max_position_pct
ORDER_CODES = (
    ENTRY,
    RESIZED,
    CLOSE,
    STOP_LOSS,
    TAKE_PROFIT,
    TRAILING_STOP,
    TIME_STOP,
    FLATTEN,
    MANUAL,
    REBALANCE,
    REBALANCE_CAPPED,
)
EXIT_KINDS = (STOP_LOSS, TRAILING_STOP, TAKE_PROFIT, TIME_STOP)
BREAKER = "breaker"  # the order kind of a flatten exit

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
NO_EDGE = "no_edge"  # the Kelly bet is not positive (expected return against the direction, or zero)
MAX_POSITIONS = "max_positions"  # max_concurrent_positions pairs are already held or being bought
RATE_LIMITED = "rate_limited"  # max_orders_per_minute orders in the last 60 s of event time
LOW_LIQUIDITY = "low_liquidity"  # every pool of the pair is below min_pool_liquidity_usdc
LAUNCH_CAP_FULL = "launch_cap_full"  # max_launch_notional_usdc already bought of this launch
DENIED_MINT = "denied_mint"  # the base mint is on the deny list
MINT_AUTHORITY = "mint_authority"  # the base mint can still be minted or frozen
STALE_PRICE = "stale_price"  # the pair's price is older than stale_price_s behind the newest event
VENUE_HALTED = "venue_halted"  # the venue's recent fills fail too often
STRATEGY_DISABLED = "strategy_disabled"  # the signal's strategy is switched off (strategy.params)
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
    NO_EDGE,
    MAX_POSITIONS,
    RATE_LIMITED,
    LOW_LIQUIDITY,
    LAUNCH_CAP_FULL,
    DENIED_MINT,
    MINT_AUTHORITY,
    STALE_PRICE,
    VENUE_HALTED,
    STRATEGY_DISABLED,
)
# Fill reasons that are the operator's doing, not the venue's: they never count towards a venue halt.
OPERATOR_FILL_REASONS = ("halted", "cancelled")

# Halt kinds (keys of RiskState.halts).
MANUAL = "manual"
DRAWDOWN = "drawdown"
DAILY_DRAWDOWN = "daily_drawdown"
STALE = "stale"
DAY_MS = 86_400_000
MINUTE_MS = 60_000
BAD_MINTS_KEPT = 1024  # flagged mints remembered; the oldest forgotten flag falls back to the launch cap

# Which rejection code a binding cap maps to when it leaves less than the minimum order.
_CAP_REJECT = {
    "position_cap": POSITION_CAP,
    "pair_exposure_cap": PAIR_CAP_FULL,
    "total_exposure_cap": TOTAL_CAP_FULL,
    "balance": INSUFFICIENT_BALANCE,
    "vol_target": POSITION_CAP,
    "kelly_cap": POSITION_CAP,
    "launch_cap": LAUNCH_CAP_FULL,
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
    risk_per_trade_pct: float = 1.0
    kelly_fraction: float = 0.5
    max_concurrent_positions: int = 5
    max_orders_per_minute: int = 20
    min_pool_liquidity_usdc: float = 50_000.0
    max_launch_notional_usdc: float = 100.0
    mint_deny_list: tuple[str, ...] = ()
    take_profit_pct: float = 5.0
    trailing_stop_pct: float = 3.0
    max_hold_s: float = 3600.0
    max_daily_drawdown_pct: float = 5.0
    max_venue_error_rate: float = 0.5
    venue_error_window: int = 20
    venue_error_min_fills: int = 5
    stale_price_s: float = 30.0
    flatten_on_halt: bool = False
    rebalance_tolerance_pct: float = 0.5  # of equity: a pair this close to its target is done
    rebalance_deadline_s: float = 30.0  # of event time: then the rebalance ends, incomplete
    # Orders fill on the paper venue (no signature fee, priority fee or tip), so routing compares pools on
    # output alone; False prices each leg's transaction with venues.fees' model (live venues).
    paper_venue: bool = True
    split_chunks: int = 20  # a split buy's input is cut into this many equal parts (venues.routing)

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
        if self.risk_per_trade_pct <= 0.0 or not 0.0 < self.kelly_fraction <= 1.0:
            raise ValueError("risk_per_trade_pct must be positive and kelly_fraction in (0, 1]")
        if self.max_concurrent_positions < 1 or self.max_orders_per_minute < 1:
            raise ValueError("max_concurrent_positions and max_orders_per_minute must be at least 1")
        if self.min_pool_liquidity_usdc < 0.0 or self.max_launch_notional_usdc < 0.0:
            raise ValueError("min_pool_liquidity_usdc and max_launch_notional_usdc must be non-negative")
        if min(self.take_profit_pct, self.trailing_stop_pct, self.max_hold_s, self.stale_price_s) <= 0.0:
            raise ValueError("take_profit_pct, trailing_stop_pct, max_hold_s, stale_price_s must be positive")
        if not 0.0 < self.trailing_stop_pct < 100.0 or not 0.0 < self.max_daily_drawdown_pct <= 100.0:
            raise ValueError("trailing_stop_pct and max_daily_drawdown_pct must be in (0, 100)")
        if not 0.0 <= self.max_venue_error_rate <= 1.0 or self.venue_error_window < 1:
            raise ValueError("max_venue_error_rate must be in [0, 1] and venue_error_window at least 1")
        if not 0.0 < self.rebalance_tolerance_pct < 100.0 or self.rebalance_deadline_s <= 0.0:
            raise ValueError("rebalance_tolerance_pct must be in (0, 100) and rebalance_deadline_s positive")
        if self.split_chunks < 2:
            raise ValueError(f"split_chunks must be at least 2, got {self.split_chunks}")

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
            "risk_per_trade_pct": s.risk_per_trade_pct,
            "kelly_fraction": s.kelly_fraction,
            "max_concurrent_positions": s.max_concurrent_positions,
            "max_orders_per_minute": s.max_orders_per_minute,
            "min_pool_liquidity_usdc": s.min_pool_liquidity_usdc,
            "max_launch_notional_usdc": s.max_launch_notional_usdc,
            "mint_deny_list": tuple(s.mint_deny_list),
            "take_profit_pct": s.take_profit_pct,
            "trailing_stop_pct": s.trailing_stop_pct,
            "max_hold_s": s.max_hold_s,
            "max_daily_drawdown_pct": s.max_daily_drawdown_pct,
            "max_venue_error_rate": s.max_venue_error_rate,
            "venue_error_window": s.venue_error_window,
            "stale_price_s": s.stale_price_s,
            "flatten_on_halt": s.flatten_on_halt,
            "rebalance_tolerance_pct": s.rebalance_tolerance_pct,
            "rebalance_deadline_s": s.rebalance_deadline_s,
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
    high_price: float = 0.0  # highest price seen since entry (the trailing stop's anchor)
    strategy: str = ""  # the strategy whose signal opened it: its stop loss / take profit apply


@dataclass(slots=True)
class PendingOrder:
    """What an order in flight reserves, so the next decision sees its exposure and cannot spend it twice."""

    pair: str
    side: str
    input_mint: str
    amount_in: int
    expected_base: int  # buy: expected base out; sell: base sold
    kind: str
    notional_usdc: float = 0.0  # buys: what the order spends, valued when decided (launch cap accounting)
    strategy: str = ""  # buys from a signal: the signal's strategy, handed on to the position


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
    # f"{pair}|{strategy}" -> event time of the newest signal decided for it. A model restored from a
    # checkpoint re-emits the signals of the snapshots it replays (same ids, maybe other contents); they are
    # below this mark however many there are, where `recent_signals` only holds the last few hundred.
    signal_marks: dict[str, int] = field(default_factory=dict)
    # Decisions saved with the state but not yet acknowledged on their topics: the agent publishes them only
    # after the state holding them is durable, and re-publishes them verbatim after a restart.
    outbox: list[dict[str, Any]] = field(default_factory=list)
    base_pair: dict[str, str] = field(default_factory=dict)  # base mint -> pair that prices it
    halts: dict[str, str] = field(default_factory=dict)  # halt kind -> reason (see the module docstring)
    flatten_pending: bool = False  # a halt asked for every position to be sold
    newest_ts_ms: int = 0  # the newest event time seen on any input
    price_ts: dict[str, int] = field(default_factory=dict)  # pair -> event time of its freshest price
    day_index: int = -1  # UTC day (event time) of day_start_equity_usdc
    day_start_equity_usdc: float = 0.0
    order_ts: list[int] = field(default_factory=list)  # event times of orders in the last minute
    venue_fills: dict[str, list[int]] = field(default_factory=dict)  # venue -> last fills, 1 = failed
    venue_halts: dict[str, str] = field(default_factory=dict)  # venue -> why its buys are halted
    launch_notional: dict[str, float] = field(default_factory=dict)  # launch pair -> USDC bought, all time
    bad_mints: dict[str, str] = field(default_factory=dict)  # mint -> which authority is still set
    pools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # pair -> pools, while held
    # The newest control applied (by its wall-clock ts) and recent control ids: a control reaches risk twice
    # (Redis fast path, then the topic) and must apply once, and an older one must not undo a newer one.
    control_ts_ms: int = 0
    control_ids: dict[str, None] = field(default_factory=dict)
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # strategy -> risk params
    rebalance: dict[str, Any] = field(default_factory=dict)  # the rebalance in progress (agents.rebalance)
    rebalance_result: dict[str, Any] = field(default_factory=dict)  # how the last rebalance ended

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
        d["control_ids"] = list(self.control_ids)
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
            signal_marks={k: int(v) for k, v in d.get("signal_marks", {}).items()},
            base_pair=dict(d["base_pair"]),
            halts=dict(d.get("halts", {})),
            flatten_pending=bool(d.get("flatten_pending", False)),
            newest_ts_ms=int(d.get("newest_ts_ms", 0)),
            price_ts={k: int(v) for k, v in d.get("price_ts", {}).items()},
            day_index=int(d.get("day_index", -1)),
            day_start_equity_usdc=float(d.get("day_start_equity_usdc", 0.0)),
            order_ts=[int(t) for t in d.get("order_ts", [])],
            venue_fills={k: [int(x) for x in v] for k, v in d.get("venue_fills", {}).items()},
            venue_halts=dict(d.get("venue_halts", {})),
            launch_notional={k: float(v) for k, v in d.get("launch_notional", {}).items()},
            bad_mints=dict(d.get("bad_mints", {})),
            pools={k: [dict(p) for p in v] for k, v in d.get("pools", {}).items()},
            outbox=[dict(o) for o in d.get("outbox", [])],
            control_ts_ms=int(d.get("control_ts_ms", 0)),
            control_ids=dict.fromkeys(d.get("control_ids", [])),
            strategy_params={k: dict(v) for k, v in d.get("strategy_params", {}).items()},
            rebalance=dict(d.get("rebalance", {})),
            rebalance_result=dict(d.get("rebalance_result", {})),
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


# --- halts and circuit breakers ----------------------------------------------------------------------


def set_halt(state: RiskState, kind: str, reason: str, limits: RiskLimits, flatten: bool = False) -> bool:
    """Start a halt of `kind` (a no-op if it is on already); returns True when it is new.

    A new halt asks for every position to be sold when `flatten_on_halt` is set or `flatten` is given.
    """
    if kind in state.halts:
        if flatten:
            state.flatten_pending = True
        return False
    state.halts[kind] = reason
    _sync_halt(state)
    if flatten or limits.flatten_on_halt:
        state.flatten_pending = True
    logger.warning("portfolio %s halted (%s): %s", state.portfolio, kind, reason)
    return True


def clear_halt(state: RiskState, kind: str) -> bool:
    """End a halt of `kind`; returns True when one was on."""
    if state.halts.pop(kind, None) is None:
        return False
    _sync_halt(state)
    logger.warning("portfolio %s: %s halt cleared", state.portfolio, kind)
    return True


def _sync_halt(state: RiskState) -> None:
    state.halted = bool(state.halts)
    state.halt_reason = "; ".join(state.halts.values())


def check_drawdown(state: RiskState, limits: RiskLimits) -> bool:
    """Raise the peak, or halt when equity is max_drawdown_pct below it (sticky: a resume does not clear
    it) or max_daily_drawdown_pct below the UTC day's opening equity (cleared the next day). Returns
    `halted`."""
    equity = equity_usdc(state)
    if equity > state.peak_equity_usdc:
        state.peak_equity_usdc = equity
    elif DRAWDOWN not in state.halts and state.peak_equity_usdc > 0.0:
        drawdown_pct = (1.0 - equity / state.peak_equity_usdc) * 100.0
        if drawdown_pct > limits.max_drawdown_pct:
            reason = (
                f"drawdown {drawdown_pct:.2f}% > {limits.max_drawdown_pct:g}% "
                f"(equity {equity:.2f} USDC, peak {state.peak_equity_usdc:.2f})"
            )
            set_halt(state, DRAWDOWN, reason, limits)
    if DAILY_DRAWDOWN not in state.halts and state.day_start_equity_usdc > 0.0:
        daily_pct = (1.0 - equity / state.day_start_equity_usdc) * 100.0
        if daily_pct > limits.max_daily_drawdown_pct:
            reason = (
                f"daily drawdown {daily_pct:.2f}% > {limits.max_daily_drawdown_pct:g}% "
                f"(equity {equity:.2f} USDC, day opened at {state.day_start_equity_usdc:.2f})"
            )
            set_halt(state, DAILY_DRAWDOWN, reason, limits)
    return state.halted


def advance_clock(state: RiskState, ts_ms: int, limits: RiskLimits) -> None:
    """Move event time forward: a new UTC day re-bases the daily drawdown and clears its halt."""
    if ts_ms > state.newest_ts_ms:
        state.newest_ts_ms = ts_ms
    day = state.newest_ts_ms // DAY_MS
    if day != state.day_index:
        state.day_index = day
        state.day_start_equity_usdc = equity_usdc(state)
        clear_halt(state, DAILY_DRAWDOWN)
    check_stale(state, limits)


def is_stale(state: RiskState, pair: str, limits: RiskLimits) -> bool:
    """A pair whose freshest price is more than stale_price_s behind the newest event (or never priced)."""
    seen = state.price_ts.get(pair)
    return seen is None or seen < state.newest_ts_ms - limits.stale_price_s * 1000.0


def check_stale(state: RiskState, limits: RiskLimits) -> None:
    """Halt while every priced pair is stale; clear the halt once one is fresh again."""
    if not state.price_ts:
        return
    if all(is_stale(state, pair, limits) for pair in state.price_ts):
        set_halt(state, STALE, f"no pair priced in the last {limits.stale_price_s:g}s of event time", limits)
    else:
        clear_halt(state, STALE)


def venue_error_rate(state: RiskState, venue: str) -> float:
    outcomes = state.venue_fills.get(venue, [])
    return sum(outcomes) / len(outcomes) if outcomes else 0.0


def _record_venue_outcome(state: RiskState, venue: str, failed: bool, limits: RiskLimits) -> None:
    """Keep the venue's last fills and halt (or release) its buys on their failure rate."""
    outcomes = state.venue_fills.setdefault(venue, [])
    outcomes.append(1 if failed else 0)
    del outcomes[: max(0, len(outcomes) - limits.venue_error_window)]
    rate = venue_error_rate(state, venue)
    enough = len(outcomes) >= min(limits.venue_error_min_fills, limits.venue_error_window)
    if enough and rate > limits.max_venue_error_rate:
        if venue not in state.venue_halts:
            logger.warning("venue %s halted: %.0f%% of its last fills failed", venue, rate * 100)
        state.venue_halts[venue] = (
            f"{sum(outcomes)} of the last {len(outcomes)} fills failed > {limits.max_venue_error_rate:g}"
        )
    else:
        state.venue_halts.pop(venue, None)


def _learn(
    state: RiskState,
    pair: str,
    price: float,
    pools: Iterable[PoolState],
    limits: RiskLimits,
    ts_ms: int | None = None,
) -> None:
    """Take the pair's mints from its pools, its price (and how fresh it is) from the event.

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
        return
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
        advance_clock(state, ts_ms, limits)
    if (
        first
        and info is not None
        and info.base_mint == state.sol_mint
        and info.quote_mint == state.usdc_mint
        and DRAWDOWN not in state.halts
    ):
        state.peak_equity_usdc = equity_usdc(state)
        state.day_start_equity_usdc = state.peak_equity_usdc
    check_drawdown(state, limits)


# --- mints and the kill switch ------------------------------------------------------------------------


def apply_mint(state: RiskState, info: MintInfo, limits: RiskLimits) -> None:
    """Remember a mint whose mint or freeze authority is still set (buys refused); forget one revoked."""
    set_ = [
        f"{name} authority {who}"
        for name, who in (("mint", info.mint_authority), ("freeze", info.freeze_authority))
        if who
    ]
    if set_:
        _remember_value(state.bad_mints, info.mint, " and ".join(set_) + " still set", BAD_MINTS_KEPT)
    else:
        state.bad_mints.pop(info.mint, None)
    if info.ts_ms > 0:
        advance_clock(state, info.ts_ms, limits)


def _remember_value(d: dict[str, str], key: str, value: str, keep: int) -> None:
    d.pop(key, None)
    d[key] = value
    while len(d) > keep:
        del d[next(iter(d))]


CONTROL_IDS_KEPT = 64


def apply_control(state: RiskState, control: Control, limits: RiskLimits) -> bool:
    """The kill switch: halt (maybe flattening) or resume. A resume clears a manual halt only; breakers
    (drawdown, daily drawdown, staleness) keep their own halts. Returns False for a control already applied
    (same id) or older than the newest one applied: the Redis fast path may deliver a halt before an older
    resume still queued on the topic, and that resume must not undo it."""
    if control.id in state.control_ids or control.ts_ms < state.control_ts_ms:
        return False
    _remember(state.control_ids, control.id, CONTROL_IDS_KEPT)
    state.control_ts_ms = control.ts_ms
    if control.action == "rebalance":
        from agents.rebalance import start_rebalance  # beside risk_rules, which it builds on

        start_rebalance(state, control, limits)
    elif control.action == "halt":
        set_halt(state, MANUAL, f"manual: {control.reason or 'operator'}", limits, flatten=control.flatten)
    elif control.action == "resume":
        clear_halt(state, MANUAL)
    else:
        logger.error("control %s: unknown action %r, ignored", control.id, control.action)
    return True


# --- pool maths ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """What a pool returns for an exact input, and the size-driven impact (fee excluded) in bps."""

    pool: PoolState
    amount_out: int
    impact_bps: float
    amount_in: int = 0  # the input it was priced for


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
            return Quote(pool, 0, 10_000.0, amount_in)
        return Quote(pool, out, max(0.0, (1.0 - moved / ideal) * 10_000.0), amount_in)
    r_in, r_out = (
        (pool.quote_reserve, pool.base_reserve) if side == "buy" else (pool.base_reserve, pool.quote_reserve)
    )
    out = amm.quote_out(amount_in, r_in, r_out, pool.fee_bps)
    if out <= 0:
        return Quote(pool, 0, 10_000.0, amount_in)
    net = amount_in - amm.fee_amount(amount_in, pool.fee_bps)
    return Quote(pool, out, amm.price_impact_bps(net, r_in, r_out, 0), amount_in)


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
) -> list[Quote]:
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
    count_rate: bool = True,
) -> Order:
    """Build an order and reserve its input at once, so the next decision sees it.

    It also counts towards the order rate (once per decision: a split's later legs pass
    `count_rate=False`), and the pair's pools are kept while it is in flight or held, so that a flatten
    can price the exit without a new signal.
    """
    expected_base = quote.amount_out if side == "buy" else amount_in
    notional = amount_in * unit_value_usdc(state, input_mint) if side == "buy" else 0.0
    state.pending[order_id] = PendingOrder(pair, side, input_mint, amount_in, expected_base, kind, notional)
    if count_rate:
        state.order_ts = [t for t in state.order_ts if t > ts_ms - MINUTE_MS] + [ts_ms]
    if pair not in state.pools:
        state.pools[pair] = [quote.pool.asdict()]
    if side == "buy" and pair in state.launch_notional:
        state.launch_notional[pair] += notional
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


def _signal_mark_key(signal: Signal) -> str:
    return f"{signal.pair}|{signal.strategy}"


def already_decided(state: RiskState, signal: Signal) -> bool:
    """A signal decided before: its id is recent, or a later signal of its pair and strategy was decided.

    A pair's snapshots, hence each strategy's signals, are emitted in event-time order, so anything below
    the mark is a re-emission (a restarted model replaying from its checkpoint), never a new signal; the
    signal at the mark itself is the newest decided, always among the recent ids.
    """
    if signal.id in state.recent_signals:
        return True
    mark = state.signal_marks.get(_signal_mark_key(signal))
    return mark is not None and signal.ts_ms < mark


def _sell_pending(state: RiskState, pair: str) -> bool:
    return any(p.pair == pair and p.side == "sell" for p in state.pending.values())


def decide(state: RiskState, signal: Signal, limits: RiskLimits, now_ms: int) -> Order | Rejection:
    """One signal to one order or a rejection: `decide_all` with buys kept on one pool (never split).

    For callers that need exactly one order per signal; the risk agent uses `decide_all`.
    """
    return decide_all(state, signal, limits, now_ms, split=False)[0]


def decide_all(
    state: RiskState, signal: Signal, limits: RiskLimits, now_ms: int, *, split: bool = True
) -> list[Order | Rejection]:
    """Turn one signal into orders (approved, maybe resized) or one rejection, updating the state.

    A buy is routed (`route_buy`): one order on the best pool, or with `split` one order per leg when the
    buy is too large for one pool's impact cap, ids `ord:{signal}/leg{n}`; an unsplit order keeps
    `ord:{signal}`. Every leg is its own pending order (exposure, balance, fills), the legs together are
    one decision (counters, order rate).

    The signal's price updates the price map (and the breaker) first, whatever the outcome. The counters
    count signals only (decided = approved + rejected); stop-loss exits are not counted.
    """
    state.decided += 1
    _learn(state, signal.pair, signal.price, signal.pools, limits, signal.ts_ms)
    bad_numbers = not all(math.isfinite(x) for x in (signal.volatility, signal.expected_return))
    if (
        signal.direction not in (1, -1)
        or not (signal.price > 0.0 and math.isfinite(signal.price))
        or bad_numbers
        or signal.volatility < 0.0
    ):
        detail = (
            f"direction {signal.direction}, price {signal.price}, volatility {signal.volatility}, "
            f"expected return {signal.expected_return}"
        )
        return [_reject(state, signal, BAD_SIGNAL, detail, now_ms)]
    if signal.id in state.recent_signals:
        return [_reject(state, signal, DUPLICATE, f"signal {signal.id} already decided", now_ms)]
    _remember(state.recent_signals, signal.id, RECENT_IDS_KEPT)
    mark = _signal_mark_key(signal)
    state.signal_marks[mark] = max(signal.ts_ms, state.signal_marks.get(mark, signal.ts_ms))
    if signal.confidence < limits.min_confidence:
        detail = f"{signal.confidence:.3f} < {limits.min_confidence:g}"
        return [_reject(state, signal, LOW_CONFIDENCE, detail, now_ms)]
    info = state.pairs.get(signal.pair)
    if info is None:
        return [_reject(state, signal, NO_POOL, "signal carries no pool for the pair", now_ms)]
    if _sell_pending(state, signal.pair):
        return [_reject(state, signal, EXIT_PENDING, f"a sell of {signal.pair} is in flight", now_ms)]
    out: list[Order] | Rejection
    if signal.direction == 1:
        params = state.strategy_params.get(signal.strategy, {})
        if not params.get("enabled", True):
            detail = f"strategy {signal.strategy} is disabled (strategy.params)"
            return [_reject(state, signal, STRATEGY_DISABLED, detail, now_ms)]
        out = _decide_buy(state, signal, info, limits, now_ms, split=split)
        if not isinstance(out, Rejection):
            for order in out:
                state.pending[order.id].strategy = signal.strategy
    else:
        sell = _decide_sell(state, signal, info, limits, now_ms)
        out = [sell] if isinstance(sell, Order) else sell
    if isinstance(out, Rejection):
        return [out]
    state.approved += 1
    return list(out)


# --- per-strategy parameters (strategy.params) -----------------------------------------------------------

STRATEGY_RISK_FIELDS = ("max_position_pct", "stop_loss_pct", "take_profit_pct")


def apply_strategy_params(state: RiskState, params: StrategyParams) -> None:
    """Keep the risk fields an operator set for a strategy; the latest record per strategy wins."""
    state.strategy_params[params.name] = {
        "enabled": bool(params.enabled),
        **{name: float(getattr(params, name)) for name in STRATEGY_RISK_FIELDS},
        "updated_ms": int(params.updated_ms),
    }


def limits_for_strategy(limits: RiskLimits, state: RiskState, strategy: str) -> RiskLimits:
    """The limits with the strategy's own max position, stop loss and take profit, when an operator set them.

    Values the limits refuse (out of range) keep the portfolio's: a bad record must not stop risk.
    """
    params = state.strategy_params.get(strategy)
    if not params:
        return limits
    overrides = {name: params[name] for name in STRATEGY_RISK_FIELDS if name in params}
    if all(getattr(limits, name) == value for name, value in overrides.items()):
        return limits
    try:
        return replace(limits, **overrides)
    except ValueError as exc:
        logger.error("strategy %s: parameters %s ignored: %s", strategy, overrides, exc)
        return limits


def size_caps(signal: Signal, equity: float, limits: RiskLimits) -> list[tuple[str, float]]:
    """The signal-driven caps of a new position, in USDC.

    - position_cap: max_position_pct of equity.
    - vol_target: the notional whose one-sigma move over the signal's horizon costs risk_per_trade_pct
      of equity: risk budget / (volatility per second x sqrt(horizon in s)). No cap at zero volatility.
    - kelly_cap: kelly_fraction of the Kelly bet on a move of +-|expected return| that is right with
      probability p = confidence: f* = (2p - 1) / |expected return| of equity (maximises
      p ln(1 + f r) + (1 - p) ln(1 - f r)). Zero (no edge) when the expected return is 0 or against the
      direction, or p <= 0.5.
    """
    caps = [("position_cap", limits.max_position_pct / 100.0 * equity)]
    horizon_sigma = signal.volatility * math.sqrt(max(signal.horizon_ms, 0) / 1000.0)
    if horizon_sigma > 0.0:
        caps.append(("vol_target", limits.risk_per_trade_pct / 100.0 * equity / horizon_sigma))
    edge = signal.expected_return * signal.direction
    kelly = (2.0 * signal.confidence - 1.0) / edge if edge > 0.0 else 0.0
    caps.append(("kelly_cap", max(0.0, limits.kelly_fraction * kelly * equity)))
    return caps


def pool_liquidity_usdc(state: RiskState, pool: PoolState) -> float:
    """A constant-product pool's liquidity: both sides, valued as twice its quote reserve."""
    return 2.0 * pool.quote_reserve * unit_value_usdc(state, pool.quote_mint)


def _eligible_pools(
    state: RiskState, info: PairInfo, pools: Iterable[PoolState], limits: RiskLimits
) -> tuple[list[PoolState], str, str]:
    """The pair's pools a buy may use, else the rejection (code, detail) that says why there are none.

    Bonding curves are exempt from the liquidity floor (they are capped by the launch cap instead).
    """
    mine = [p for p in pools if p.base_mint == info.base_mint and p.quote_mint == info.quote_mint]
    if not mine:
        return [], NO_POOL, "signal carries no pool for the pair"
    deep = [
        p
        for p in mine
        if p.venue == PUMPFUN or pool_liquidity_usdc(state, p) >= limits.min_pool_liquidity_usdc
    ]
    if not deep:
        best = max(pool_liquidity_usdc(state, p) for p in mine)
        detail = f"deepest pool {best:.0f} USDC < {limits.min_pool_liquidity_usdc:g}"
        return [], LOW_LIQUIDITY, detail
    usable = [p for p in deep if p.venue not in state.venue_halts]
    if not usable:
        venues = sorted({p.venue for p in deep})
        detail = "; ".join(f"{v}: {state.venue_halts[v]}" for v in venues)
        return [], VENUE_HALTED, detail
    return usable, "", ""


def open_pairs(state: RiskState) -> set[str]:
    """Pairs held or being bought: what max_concurrent_positions counts."""
    return set(state.positions) | {p.pair for p in state.pending.values() if p.side == "buy"}


def orders_in_last_minute(state: RiskState, ts_ms: int) -> int:
    return sum(1 for t in state.order_ts if ts_ms - MINUTE_MS < t <= ts_ms)


def _decide_buy(
    state: RiskState, signal: Signal, info: PairInfo, limits: RiskLimits, now_ms: int, *, split: bool = True
) -> list[Order] | Rejection:
    if state.halted:
        return _reject(state, signal, HALTED, state.halt_reason or "manual", now_ms)
    if info.base_mint in limits.mint_deny_list:
        return _reject(state, signal, DENIED_MINT, f"{info.base_mint} is on MINT_DENY_LIST", now_ms)
    if info.base_mint in state.bad_mints:
        return _reject(
            state, signal, MINT_AUTHORITY, f"{info.base_mint}: {state.bad_mints[info.base_mint]}", now_ms
        )
    quote_unit = unit_value_usdc(state, info.quote_mint)
    if info.quote_mint not in (state.usdc_mint, state.sol_mint) or quote_unit <= 0.0:
        return _reject(state, signal, UNSUPPORTED_QUOTE, f"quote mint {info.quote_mint}", now_ms)
    if is_stale(state, signal.pair, limits):
        age_s = (state.newest_ts_ms - state.price_ts.get(signal.pair, 0)) / 1000.0
        return _reject(state, signal, STALE_PRICE, f"{signal.pair} price {age_s:.1f}s behind", now_ms)
    held = open_pairs(state)
    if signal.pair not in held and len(held) >= limits.max_concurrent_positions:
        detail = f"{len(held)} pairs open >= {limits.max_concurrent_positions}"
        return _reject(state, signal, MAX_POSITIONS, detail, now_ms)
    recent = orders_in_last_minute(state, signal.ts_ms)
    if recent >= limits.max_orders_per_minute:
        detail = f"{recent} orders in the last 60s >= {limits.max_orders_per_minute}"
        return _reject(state, signal, RATE_LIMITED, detail, now_ms)
    pools, code, detail = _eligible_pools(state, info, signal.pools, limits)
    if not pools:
        return _reject(state, signal, code, detail, now_ms)
    if any(p.venue == PUMPFUN for p in pools) and signal.pair not in state.launch_notional:
        state.launch_notional[signal.pair] = 0.0
    equity = equity_usdc(state)
    free_raw = available(state, info.quote_mint)
    weight = min(max(signal.weight, 0.0), 1.0)  # the strategy's share of capital (allocator)
    caps = [(name, cap * weight) for name, cap in size_caps(signal, equity, limits)]
    if caps[-1][1] <= 0.0:
        detail = f"confidence {signal.confidence:.3f}, expected return {signal.expected_return:.6g}"
        return _reject(state, signal, NO_EDGE, detail, now_ms)
    caps += [
        (
            "pair_exposure_cap",
            limits.max_pair_exposure_pct / 100.0 * equity - pair_exposure_usdc(state, signal.pair),
        ),
        ("total_exposure_cap", limits.max_total_exposure_pct / 100.0 * equity - total_exposure_usdc(state)),
        ("balance", max(free_raw, 0) * quote_unit),
    ]
    if signal.pair in state.launch_notional:
        caps.append(("launch_cap", limits.max_launch_notional_usdc - state.launch_notional[signal.pair]))
    binding, target_usdc = min(caps, key=lambda c: c[1])  # ties keep the first: the position cap
    if target_usdc < limits.min_order_usdc:
        detail = f"{binding} leaves {target_usdc:.2f} USDC < min order {limits.min_order_usdc:g}"
        return _reject(state, signal, _CAP_REJECT[binding], detail, now_ms)
    # Convert through the human price (1.0 or SOL/USDC), not the per-raw-unit float, to floor exactly.
    quote_price = 1.0 if info.quote_mint == state.usdc_mint else sol_usdc_price(state)
    amount_in = min(math.floor(target_usdc / quote_price * 10**info.quote_decimals), free_raw)
    legs = route_buy(state, info, signal.pair, pools, amount_in, limits, split=split)
    if not legs:
        return _reject(state, signal, NO_POOL, f"no pool returns anything for {amount_in} raw in", now_ms)
    if len(legs) == 1 and legs[0].impact_bps > limits.max_slippage_bps:
        quote = legs[0]
        detail = f"impact {quote.impact_bps:.1f}bps > {limits.max_slippage_bps}bps on {quote.pool.venue}"
        return _reject(state, signal, SLIPPAGE, detail, now_ms)
    full = caps[0][1]
    if len(legs) == 1:
        where = f"on {legs[0].pool.venue} impact {legs[0].impact_bps:.1f}bps"
    else:
        where = f"split in {len(legs)}: " + " + ".join(
            f"{q.amount_in} raw on {q.pool.venue} impact {q.impact_bps:.1f}bps" for q in legs
        )
    if binding == "position_cap":
        reason = f"{ENTRY}: {target_usdc:.2f} USDC ({limits.max_position_pct:g}% of {equity:.2f}) {where}"
    else:
        reason = f"{RESIZED}: {binding} {target_usdc:.2f} of {full:.2f} USDC {where}"
    base_id = f"ord:{signal.id}"
    return [
        _order(
            state,
            order_id=base_id if len(legs) == 1 else f"{base_id}/leg{n}",
            signal_id=signal.id,
            pair=signal.pair,
            side="buy",
            input_mint=info.quote_mint,
            amount_in=quote.amount_in,
            quote=quote,
            limits=limits,
            kind="entry",
            reason=reason,
            ts_ms=signal.ts_ms,
            origin_ms=signal.origin_ms,
            now_ms=now_ms,
            count_rate=n == 0,
        )
        for n, quote in enumerate(legs)
    ]


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


def exit_trigger(state: RiskState, pos: Position, price: float, ts_ms: int, limits: RiskLimits) -> str:
    """Which exit (if any) the price and event time call for, as `"<kind>: <detail>"`, else "".

    In order: stop loss (below entry), trailing stop (below the high since entry), take profit (above
    entry), time stop (held max_hold_s of event time).
    """
    stop = pos.entry_price * (1.0 - limits.stop_loss_pct / 100.0)
    if price <= stop:
        return (
            f"{STOP_LOSS}: price {price:.6g} <= {stop:.6g} ({limits.stop_loss_pct:g}% under entry "
            f"{pos.entry_price:.6g})"
        )
    high = max(pos.high_price, pos.entry_price)
    trail = high * (1.0 - limits.trailing_stop_pct / 100.0)
    if price <= trail:
        return (
            f"{TRAILING_STOP}: price {price:.6g} <= {trail:.6g} ({limits.trailing_stop_pct:g}% under the "
            f"high {high:.6g})"
        )
    target = pos.entry_price * (1.0 + limits.take_profit_pct / 100.0)
    if price >= target:
        return (
            f"{TAKE_PROFIT}: price {price:.6g} >= {target:.6g} ({limits.take_profit_pct:g}% over entry "
            f"{pos.entry_price:.6g})"
        )
    held_ms = ts_ms - pos.opened_ts_ms
    if held_ms >= limits.max_hold_s * 1000.0:
        return f"{TIME_STOP}: held {held_ms / 1000.0:.0f}s >= {limits.max_hold_s:g}s"
    return ""


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
    """Sell the whole long on a stop loss, trailing stop, take profit or time stop (`exit_trigger`).

    Exits are allowed while halted and are not slippage-capped (getting out beats the cap; the order
    still carries a min_amount_out). At most one sell per pair is in flight. The id is
    `exit:{pair}:{ts_ms}:{kind}`. `origin_ms` defaults to `now_ms` because a price tick that triggers an
    exit may not carry the raw record's publish time.
    """
    _learn(state, pair, price, pools, limits, ts_ms)
    pos = state.positions.get(pair)
    info = state.pairs.get(pair)
    if (
        pos is None
        or info is None
        or not (price > 0.0 and math.isfinite(price))
        or _sell_pending(state, pair)
    ):
        return []
    reason = exit_trigger(state, pos, price, ts_ms, limits)
    if not reason:
        return []
    order = _exit_all(
        state,
        pair,
        reason_code(reason),
        reason,
        limits,
        now_ms,
        pools=pools,
        ts_ms=ts_ms,
        origin_ms=origin_ms,
    )
    return [order] if order is not None else []


def flatten(state: RiskState, limits: RiskLimits, now_ms: int) -> list[Order]:
    """If a halt asked for it, sell every position that has no sell in flight, on its last known pools.

    Ids are `exit:{pair}:{ts_ms}:breaker` at the newest event time; a position that cannot be priced is
    left (and logged), and the request is then done: the next halt asks again.
    """
    if not state.flatten_pending:
        return []
    state.flatten_pending = False
    out: list[Order] = []
    for pair in list(state.positions):
        order = _exit_all(state, pair, BREAKER, f"{FLATTEN}: {state.halt_reason or 'halt'}", limits, now_ms)
        if order is not None:
            out.append(order)
    return out


def close_position(
    state: RiskState, pair: str, limits: RiskLimits, now_ms: int, requested_by: str
) -> list[Order]:
    """An operator's close: sell the whole position in `pair` on its last known pools (allowed while halted).

    Nothing to sell, a sell already in flight, or no pool to price it: no order (and a log line), since
    the request is then either done or cannot be done better by risk.
    """
    if pair not in state.positions:
        logger.info("manual close of %s: no position", pair)
        return []
    order = _exit_all(state, pair, MANUAL, f"{MANUAL}: close requested by {requested_by}", limits, now_ms)
    return [order] if order is not None else []


def _exit_all(
    state: RiskState,
    pair: str,
    kind: str,
    reason: str,
    limits: RiskLimits,
    now_ms: int,
    *,
    pools: Sequence[PoolState] | None = None,
    ts_ms: int | None = None,
    origin_ms: int | None = None,
) -> Order | None:
    """A sell of the whole (sellable) position in `pair`, id `exit:{pair}:{ts_ms}:{kind}`.

    Priced on `pools` (the triggering signal's) or else the pair's last known pools; `ts_ms` defaults to
    the newest event time and `origin_ms` to `now_ms`. None when there is nothing to sell, a sell is in
    flight, or no pool returns anything.
    """
    pos = state.positions.get(pair)
    info = state.pairs.get(pair)
    if pos is None or info is None:
        return None
    amount_in = _sellable(state, pos)
    if amount_in <= 0 or _sell_pending(state, pair):
        return None
    known = list(pools) if pools is not None else [PoolState(**p) for p in state.pools.get(pair, [])]
    quote = best_quote(info, known, "sell", amount_in)
    if quote is None:
        logger.warning("%s on %s cannot be priced: no pool returns anything", kind, pair)
        return None
    at = state.newest_ts_ms if ts_ms is None else ts_ms
    return _order(
        state,
        order_id=f"exit:{pair}:{at}:{kind}",
        signal_id="",
        pair=pair,
        side="sell",
        input_mint=pos.base_mint,
        amount_in=amount_in,
        quote=quote,
        limits=limits,
        kind=kind,
        reason=reason,
        ts_ms=at,
        origin_ms=now_ms if origin_ms is None else origin_ms,
        now_ms=now_ms,
    )


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
    pending = state.pending.pop(fill.order_id, None)
    if limits is not None:
        if fill.venue and reason_code(fill.reason) not in OPERATOR_FILL_REASONS:
            _record_venue_outcome(state, fill.venue, fill.status != "filled", limits)
        advance_clock(state, fill.ts_ms, limits)
    if fill.status != "filled":
        if pending is not None and pending.side == "buy" and fill.pair in state.launch_notional:
            state.launch_notional[fill.pair] = max(
                0.0, state.launch_notional[fill.pair] - pending.notional_usdc
            )
        _forget_pools(state, fill.pair)
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
        held = state.positions.get(fill.pair)
        if held is not None and pending is not None and pending.strategy and not held.strategy:
            held.strategy = pending.strategy
    elif fill.side == "sell":
        state.balances[base] = state.balances.get(base, 0) - fill.base_amount
        state.balances[quote] = state.balances.get(quote, 0) + fill.quote_amount
        _reduce_position(state, fill)
    else:
        logger.error("fill %s for order %s: unknown side %r, not applied", fill.id, fill.order_id, fill.side)
        return
    _forget_pools(state, fill.pair)
    if limits is not None:
        check_drawdown(state, limits)


def _forget_pools(state: RiskState, pair: str) -> None:
    """Pools are kept only while the pair is held or has an order in flight."""
    if pair in state.rebalance.get("targets", {}):
        return  # a rebalance prices its next slice on them
    if pair not in state.positions and all(p.pair != pair for p in state.pending.values()):
        state.pools.pop(pair, None)


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
            high_price=fill.price,
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
