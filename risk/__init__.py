"""The risk engine's pure core: state, limits, decisions, exits, circuit breakers, kill switch, fills.

Everything here is a plain function of (state, event, limits): no I/O, no clock, no Faust. The risk agent
(`agents/risk.py`) keeps one `RiskState` per portfolio in a Faust table and hands each input message to
`apply_message`; the backtest does the same with a recording. Decisions depend on event time and on the
state only, so a replay decides the same way.

Where things are:
  state       RiskState and its parts, what the wallet is worth, the memories that make inputs apply once
  limits      RiskLimits: the limits declared once in core.settings (RiskLimitSettings), frozen
  codes       reason codes and halt kinds
  valuation   exposure, free balance, pool liquidity
  breakers    halts, drawdown, staleness, venue error rate
  observe     what a priced event teaches the state
  prices      outlier filter, per-pair price-move halt
  inventory   the wallet outside positions, in exposure and drawdown (opening_inventory)
  attribution positions split into lots by who opened them
  pricing     pool quotes, routing, the order's slippage bound
  orders      building an order (it reserves its input) or a rejection
  checks      the pre-trade checks a buy passes (PRE_TRADE_CHECKS)
  decide      a signal to orders or one rejection
  exits       stops, take profit, trailing and time stops, flatten, manual close
  fills       a fill applied to the state
  controls    kill switch, mints, strategy parameters
  rebalance   rebalancing toward target allocations
  apply       one input message applied to the state (`apply_message`)
  audit, alerts, barrier   what the agent records, alerts about, and waits for

This module re-exports the names callers use, so `import risk` is enough to drive it.
"""

from __future__ import annotations

from risk.alerts import new_halts, rebalance_ended
from risk.apply import apply_message
from risk.audit import RiskDecisionRow, audit_row
from risk.barrier import PRIORITY_TOPICS, awaited_fills, in_apply_order
from risk.breakers import (
    DAY_MS,
    advance_clock,
    check_drawdown,
    check_stale,
    clear_halt,
    is_stale,
    set_halt,
    venue_error_rate,
)
from risk.checks import (
    PRE_TRADE_CHECKS,
    REJECT_CODES,
    BuyContext,
    Check,
    Reject,
    Resize,
    check,
    eligible_pools,
    size_caps,
)
from risk.codes import (
    BAD_SIGNAL,
    BREAKER,
    CLOSE,
    DAILY_DRAWDOWN,
    DENIED_MINT,
    DRAWDOWN,
    DUPLICATE,
    ENTRY,
    EXIT_KINDS,
    EXIT_PENDING,
    FLATTEN,
    HALTED,
    INSUFFICIENT_BALANCE,
    LAUNCH_CAP_FULL,
    LOW_CONFIDENCE,
    LOW_LIQUIDITY,
    MANUAL_CLOSE,
    MANUAL_HALT,
    MAX_POSITIONS,
    MINT_AUTHORITY,
    NO_EDGE,
    NO_POOL,
    NO_POSITION,
    ORDER_CODES,
    OUTLIER_PRICE,
    PAIR_CAP_FULL,
    PAIR_HALTED,
    POSITION_CAP,
    RATE_LIMITED,
    REBALANCE,
    REBALANCE_CAPPED,
    RESIZED,
    SLIPPAGE,
    STALE,
    STALE_PRICE,
    STOP_COOLDOWN,
    STOP_LOSS,
    STRATEGY_DISABLED,
    TAKE_PROFIT,
    TIME_STOP,
    TOTAL_CAP_FULL,
    TRAILING_STOP,
    UNSUPPORTED_QUOTE,
    VENUE_HALTED,
    reason_code,
)
from risk.controls import apply_control, apply_mint, apply_strategy_params, limits_for_strategy
from risk.decide import already_decided, decide, decide_all
from risk.exits import close_position, exit_trigger, exits, flatten
from risk.fills import apply_fill
from risk.limits import RiskLimits
from risk.orders import orders_in_last_minute
from risk.pricing import PUMPFUN, PoolQuote, best_quote, curve_of, quote_pool, route_buy, route_candidates
from risk.rebalance import plan_rebalance, start_rebalance, validate_targets
from risk.state import (
    RECENT_IDS_KEPT,
    PairInfo,
    PendingOrder,
    Position,
    RiskState,
    already_applied,
    equity_usdc,
    initial_state,
    mark_applied,
    remember,
    sol_usdc_price,
    unit_value_usdc,
)
from risk.valuation import available, open_pairs, pair_exposure_usdc, pool_liquidity_usdc, total_exposure_usdc

__all__ = [
    "BAD_SIGNAL",
    "BREAKER",
    "CLOSE",
    "DAILY_DRAWDOWN",
    "DAY_MS",
    "DENIED_MINT",
    "DRAWDOWN",
    "DUPLICATE",
    "ENTRY",
    "EXIT_KINDS",
    "EXIT_PENDING",
    "FLATTEN",
    "HALTED",
    "INSUFFICIENT_BALANCE",
    "LAUNCH_CAP_FULL",
    "LOW_CONFIDENCE",
    "LOW_LIQUIDITY",
    "MANUAL_CLOSE",
    "MANUAL_HALT",
    "MAX_POSITIONS",
    "MINT_AUTHORITY",
    "NO_EDGE",
    "NO_POOL",
    "NO_POSITION",
    "ORDER_CODES",
    "OUTLIER_PRICE",
    "PAIR_CAP_FULL",
    "PAIR_HALTED",
    "POSITION_CAP",
    "PRE_TRADE_CHECKS",
    "PRIORITY_TOPICS",
    "PUMPFUN",
    "RATE_LIMITED",
    "REBALANCE",
    "REBALANCE_CAPPED",
    "RECENT_IDS_KEPT",
    "REJECT_CODES",
    "RESIZED",
    "SLIPPAGE",
    "STALE",
    "STALE_PRICE",
    "STOP_COOLDOWN",
    "STOP_LOSS",
    "STRATEGY_DISABLED",
    "TAKE_PROFIT",
    "TIME_STOP",
    "TOTAL_CAP_FULL",
    "TRAILING_STOP",
    "UNSUPPORTED_QUOTE",
    "VENUE_HALTED",
    "BuyContext",
    "Check",
    "PairInfo",
    "PendingOrder",
    "PoolQuote",
    "Position",
    "Reject",
    "Resize",
    "RiskDecisionRow",
    "RiskLimits",
    "RiskState",
    "advance_clock",
    "already_applied",
    "already_decided",
    "apply_control",
    "apply_fill",
    "apply_message",
    "apply_mint",
    "apply_strategy_params",
    "audit_row",
    "available",
    "awaited_fills",
    "best_quote",
    "check",
    "check_drawdown",
    "check_stale",
    "clear_halt",
    "close_position",
    "curve_of",
    "decide",
    "decide_all",
    "eligible_pools",
    "equity_usdc",
    "exit_trigger",
    "exits",
    "flatten",
    "in_apply_order",
    "initial_state",
    "is_stale",
    "limits_for_strategy",
    "mark_applied",
    "new_halts",
    "open_pairs",
    "orders_in_last_minute",
    "pair_exposure_usdc",
    "plan_rebalance",
    "pool_liquidity_usdc",
    "quote_pool",
    "reason_code",
    "rebalance_ended",
    "remember",
    "route_buy",
    "route_candidates",
    "set_halt",
    "size_caps",
    "sol_usdc_price",
    "start_rebalance",
    "total_exposure_usdc",
    "unit_value_usdc",
    "validate_targets",
    "venue_error_rate",
]
