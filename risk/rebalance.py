"""Rebalancing toward target allocations: pure planning on the risk state.

A `Control(action="rebalance", targets={pair: fraction of equity})` starts one (`start_rebalance`); after
every risk input the agent calls `plan_rebalance`, which re-plans from the state as it is now: for each
target pair with no order in flight it values the position at the latest price, and when it is more than
`rebalance_tolerance_pct` of equity away from `fraction x equity` it sends one slice toward it. So each
fill re-plans the next slice from what was really filled. Buys pass the same limits as a signal's buy
(halts, mint checks, stale price, concurrent positions, order rate, pool liquidity, exposure caps,
balance), and a target above `max_position_pct` is capped (reason code `rebalance_capped`); sells and
reductions are always allowed. A slice whose impact would exceed `max_slippage_bps` is shrunk to the
largest size within it (the rest follows in the next slices). The rebalance ends `done` when every pair is
within tolerance with nothing in flight, or `incomplete` when `rebalance_deadline_s` of event time has
passed; `state.rebalance_result` then holds the residuals (USDC, target minus position) for the alert.

Positions are the risk state's (what risk bought), as everywhere in risk: the opening wallet's SOL is not
a position of SOL/USDC.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

from risk.breakers import is_stale
from risk.checks import eligible_pools
from risk.codes import REBALANCE, REBALANCE_CAPPED
from risk.limits import RiskLimits
from risk.orders import new_order, orders_in_last_minute, sellable
from risk.pricing import PoolQuote, best_quote
from risk.state import PairInfo, RiskState, equity_usdc, sol_usdc_price, unit_value_usdc
from risk.valuation import available, open_pairs, pair_exposure_usdc, position_usdc, total_exposure_usdc
from streams.records import Control, Order, PoolState

logger = logging.getLogger(__name__)

DONE = "rebalance_done"
INCOMPLETE = "rebalance_incomplete"
SUPERSEDED = "rebalance_superseded"
_SEARCH_STEPS = 40  # bisection steps for the largest slice within the impact limit (2^-40 of the size)


PAIR_FORMAT = re.compile(r"^[A-Za-z0-9]{1,20}/[A-Za-z0-9]{1,20}$")


def validate_targets(targets: dict[str, float], pairs: Sequence[str], max_fraction: float) -> dict[str, str]:
    """Field errors of a rebalance request (pair -> what is wrong; "" for the whole request); empty if valid.

    A pair must be BASE/QUOTE and traded; a fraction in [0, max_fraction]; the fractions sum to at most 1.
    """
    errors: dict[str, str] = {}
    if not targets:
        errors[""] = "at least one PAIR=FRACTION target is needed"
    for pair, fraction in targets.items():
        if not PAIR_FORMAT.match(pair):
            errors[pair] = "pair must be BASE/QUOTE"
        elif pair not in pairs:
            errors[pair] = f"not a traded pair (one of {', '.join(pairs)})"
        elif not (math.isfinite(fraction) and 0.0 <= fraction <= max_fraction):
            errors[pair] = f"fraction {fraction:g} outside [0, {max_fraction:g}]"
    total = sum(f for f in targets.values() if math.isfinite(f))
    if total > 1.0 + 1e-9:
        errors[""] = f"fractions sum to {total:g} > 1"
    return errors


def start_rebalance(state: RiskState, control: Control, limits: RiskLimits) -> None:
    """Begin rebalancing toward `control.targets`; one in progress is superseded (and reported so)."""
    if state.rebalance:
        finish(state, SUPERSEDED, residuals_usdc(state, limits), f"by {control.id}")
    start = state.newest_ts_ms or control.ts_ms
    state.rebalance = {
        "id": control.id,
        "targets": {pair: float(f) for pair, f in (control.targets or {}).items()},
        "requested_ms": control.ts_ms,
        "started_ts_ms": start,
        "deadline_ts_ms": start + round(limits.rebalance_deadline_s * 1000),
        "slices": 0,
        "blocked": {},
    }
    for pair in state.rebalance["targets"]:
        if pair in state.pairs and pair not in state.pools:
            state.pools[pair] = []  # tracked from the next signal on: the slices are priced on them
    logger.info("rebalance %s started: targets %s", control.id, state.rebalance["targets"])


def capped_fraction(fraction: float, limits: RiskLimits) -> tuple[float, bool]:
    """The target fraction a buy may reach: at most max_position_pct of equity (True when capped)."""
    cap = limits.max_position_pct / 100.0
    return (cap, True) if fraction > cap else (max(fraction, 0.0), False)


def residuals_usdc(state: RiskState, limits: RiskLimits) -> dict[str, float]:
    """Per target pair: capped target minus position, in USDC at the latest prices (NaN: not priced)."""
    if not state.rebalance:
        return {}
    equity = equity_usdc(state)
    out: dict[str, float] = {}
    for pair, fraction in state.rebalance["targets"].items():
        if pair not in state.prices or pair not in state.pairs:
            out[pair] = math.nan
            continue
        target = capped_fraction(fraction, limits)[0] * equity
        out[pair] = target - position_usdc(state, pair)
    return out


def finish(state: RiskState, outcome: str, residuals: dict[str, float], detail: str = "") -> None:
    """End the rebalance in progress and keep how it ended for the agent's alert."""
    rb = state.rebalance
    state.rebalance_result = {
        "id": rb.get("id", ""),
        "outcome": outcome,
        "residuals_usdc": {p: (None if math.isnan(r) else round(r, 2)) for p, r in residuals.items()},
        "blocked": dict(rb.get("blocked", {})),
        "slices": int(rb.get("slices", 0)),
        "started_ts_ms": int(rb.get("started_ts_ms", 0)),
        "ended_ts_ms": state.newest_ts_ms,
        "detail": detail,
    }
    state.rebalance = {}
    for pair in list(state.pools):  # stop tracking pools the rebalance alone was keeping
        if pair not in state.positions and all(p.pair != pair for p in state.pending.values()):
            state.pools.pop(pair, None)


def plan_rebalance(state: RiskState, limits: RiskLimits, now_ms: int) -> list[Order]:
    """The next slice for every target pair that is off target and has nothing in flight; ends the
    rebalance when all are within tolerance (done) or the deadline has passed (incomplete)."""
    rb = state.rebalance
    if not rb:
        return []
    equity = equity_usdc(state)
    tolerance = limits.rebalance_tolerance_pct / 100.0 * equity
    residuals = residuals_usdc(state, limits)
    out: list[Order] = []
    settled = True
    for pair, residual in sorted(residuals.items()):
        if any(p.pair == pair for p in state.pending.values()):
            settled = False  # re-planned when its fill arrives
            continue
        if math.isnan(residual):
            rb["blocked"][pair] = "no price for the pair yet"
            settled = False
            continue
        if abs(residual) <= tolerance:
            rb["blocked"].pop(pair, None)
            continue
        settled = False
        order, why = _slice(state, pair, residual, equity, limits, now_ms)
        if order is None:
            rb["blocked"][pair] = why
        else:
            rb["blocked"].pop(pair, None)
            out.append(order)
    if settled:
        finish(state, DONE, residuals)
    elif state.newest_ts_ms >= rb["deadline_ts_ms"]:
        finish(state, INCOMPLETE, residuals, f"deadline {limits.rebalance_deadline_s:g}s passed")
    return out


def _slice(
    state: RiskState, pair: str, residual: float, equity: float, limits: RiskLimits, now_ms: int
) -> tuple[Order | None, str]:
    """One order toward the target (buy when `residual` > 0, else sell), or None and why not."""
    info = state.pairs[pair]
    if residual > 0 and state.halted:
        return None, f"halted: {state.halt_reason}"
    pools = [PoolState(**p) for p in state.pools.get(pair, [])]
    if not pools:
        return None, "no pool seen for the pair yet"
    if residual > 0:
        return _buy_slice(state, pair, info, pools, residual, equity, limits, now_ms)
    pos = state.positions.get(pair)
    unit = unit_value_usdc(state, info.base_mint)
    if pos is None or unit <= 0.0:
        return None, "nothing to sell"
    amount = min(math.ceil(-residual / unit), sellable(state, pos))
    if amount <= 0:
        return None, "the position is reserved by pending orders"
    quote = _within_impact(info, pools, "sell", amount, limits)
    if quote is None:
        return None, "no pool returns anything"
    sold = quote[0]
    reason = (
        f"{REBALANCE}: sell {sold} raw base ({sold * unit:.2f} USDC of {-residual:.2f} over target) "
        f"on {quote[1].pool.venue} impact {quote[1].impact_bps:.1f}bps"
    )
    return _rebalance_order(state, pair, "sell", info.base_mint, sold, quote[1], limits, now_ms, reason), ""


def _buy_slice(
    state: RiskState,
    pair: str,
    info: PairInfo,
    pools: list[PoolState],
    residual: float,
    equity: float,
    limits: RiskLimits,
    now_ms: int,
) -> tuple[Order | None, str]:
    """A buy toward the target, through the same limits as a signal's buy; None and the refusal if not."""
    if state.halted:
        return None, f"halted: {state.halt_reason}"
    if info.base_mint in limits.mint_deny_list:
        return None, f"denied_mint: {info.base_mint}"
    if info.base_mint in state.bad_mints:
        return None, f"mint_authority: {state.bad_mints[info.base_mint]}"
    quote_unit = unit_value_usdc(state, info.quote_mint)
    if info.quote_mint not in (state.usdc_mint, state.sol_mint) or quote_unit <= 0.0:
        return None, f"unsupported_quote: {info.quote_mint}"
    if is_stale(state, pair, limits):
        return None, f"stale_price: {pair}"
    held = open_pairs(state)
    if pair not in held and len(held) >= limits.max_concurrent_positions:
        return None, f"max_positions: {len(held)} pairs open"
    if orders_in_last_minute(state, state.newest_ts_ms) >= limits.max_orders_per_minute:
        return None, "rate_limited: order rate full"
    usable, code, detail = eligible_pools(state, info, pools, limits)
    if not usable:
        return None, f"{code}: {detail}"
    fraction = state.rebalance["targets"][pair]
    capped_to, capped = capped_fraction(fraction, limits)
    free_raw = max(available(state, info.quote_mint), 0)
    caps = [
        ("target", residual),
        (
            "pair_exposure_cap",
            limits.max_pair_exposure_pct / 100.0 * equity - pair_exposure_usdc(state, pair),
        ),
        ("total_exposure_cap", limits.max_total_exposure_pct / 100.0 * equity - total_exposure_usdc(state)),
        ("balance", free_raw * quote_unit),
    ]
    binding, usdc = min(caps, key=lambda c: c[1])
    if usdc < limits.min_order_usdc:
        return None, f"{binding} leaves {usdc:.2f} USDC < min order {limits.min_order_usdc:g}"
    quote_price = 1.0 if info.quote_mint == state.usdc_mint else sol_usdc_price(state)
    amount = min(math.floor(usdc / quote_price * 10**info.quote_decimals), free_raw)
    found = _within_impact(info, usable, "buy", amount, limits)
    if found is None:
        return None, "no pool returns anything"
    amount, quote = found
    code_out = REBALANCE_CAPPED if capped else REBALANCE
    cap_note = (
        f"; target {fraction * 100:g}% capped at max_position_pct {capped_to * 100:g}%" if capped else ""
    )
    reason = (
        f"{code_out}: buy {amount * quote_unit:.2f} of {residual:.2f} USDC under target ({binding}) on "
        f"{quote.pool.venue} impact {quote.impact_bps:.1f}bps{cap_note}"
    )
    return _rebalance_order(state, pair, "buy", info.quote_mint, amount, quote, limits, now_ms, reason), ""


def _within_impact(
    info: PairInfo, pools: list[PoolState], side: str, amount: int, limits: RiskLimits
) -> tuple[int, PoolQuote] | None:
    """The largest input up to `amount` whose best quote moves the price at most max_slippage_bps."""
    quote = best_quote(info, pools, side, amount)
    if quote is None:
        return None
    if quote.impact_bps <= limits.max_slippage_bps:
        return amount, quote
    lo, hi, best = 0, amount, None
    for _ in range(_SEARCH_STEPS):
        if hi - lo <= 1:
            break
        mid = (lo + hi) // 2
        q = best_quote(info, pools, side, mid)
        if q is not None and q.impact_bps <= limits.max_slippage_bps:
            lo, best = mid, q
        else:
            hi = mid
    return (lo, best) if best is not None and lo > 0 else None


def _rebalance_order(
    state: RiskState,
    pair: str,
    side: str,
    input_mint: str,
    amount: int,
    quote: PoolQuote,
    limits: RiskLimits,
    now_ms: int,
    reason: str,
) -> Order:
    rb: dict[str, Any] = state.rebalance
    rb["slices"] = int(rb["slices"]) + 1
    at = state.newest_ts_ms
    return new_order(
        state,
        order_id=f"rebal:{rb['id']}:{pair}:{rb['slices']}",
        signal_id="",
        pair=pair,
        side=side,
        input_mint=input_mint,
        amount_in=amount,
        quote=quote,
        limits=limits,
        kind=REBALANCE,
        reason=reason,
        ts_ms=at,
        origin_ms=now_ms,
        now_ms=now_ms,
    )
