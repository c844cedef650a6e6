"""Halts and circuit breakers: the kill switch's halts, drawdown from peak and from the day's open,
staleness of every price, and venues whose fills fail too often.

Halts refuse buys only; sells and exits go on. Event time drives every breaker, so a replay trips the
same ones at the same inputs.
"""

from __future__ import annotations

import logging

from risk.codes import DAILY_DRAWDOWN, DRAWDOWN, STALE
from risk.inventory import drawdown_equity_usdc
from risk.limits import RiskLimits
from risk.state import RiskState

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000


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
    `halted`. Equity here is `drawdown_equity_usdc` (the inventory as `opening_inventory` says)."""
    equity = drawdown_equity_usdc(state, limits)
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
        state.day_start_equity_usdc = drawdown_equity_usdc(state, limits)
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


def record_venue_outcome(state: RiskState, venue: str, failed: bool, limits: RiskLimits) -> None:
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
