"""Getting out: stop loss, trailing stop, take profit and time stop on a price; every position when a
halt asks for it (flatten); one position when an operator asks (manual close).

Exits are allowed while halted and are not slippage-capped (getting out beats the cap; the order still
carries a min_amount_out): an exit over the cap says so in its reason (`over the ... cap, protective exit`).
Exits sell the whole position, every strategy's lot. At most one sell per pair is in flight. A stop exit
(stop loss, trailing stop) starts the cool-down of every strategy that held a lot (`stop_cooldown_s`).

Exits are checked on every accepted price of the pair: the signals' and the price marks' (direction 0,
`risk.apply`), so a pair whose strategies are quiet still has its stops.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from risk.codes import (
    BREAKER,
    FLATTEN,
    MANUAL_CLOSE,
    STOP_KINDS,
    STOP_LOSS,
    TAKE_PROFIT,
    TIME_STOP,
    TRAILING_STOP,
    reason_code,
)
from risk.limits import RiskLimits
from risk.observe import learn
from risk.orders import new_order, sell_pending, sell_within_cap, sellable
from risk.pricing import best_quote
from risk.state import Position, RiskState
from streams.records import Order, PoolState

logger = logging.getLogger(__name__)


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

    The id is `exit:{pair}:{ts_ms}:{kind}`. `origin_ms` defaults to `now_ms` because a price tick that
    triggers an exit may not carry the raw record's publish time.
    """
    if not learn(state, pair, price, pools, limits, ts_ms):
        return []  # an outlier held back (or no usable price): nothing to act on yet
    pos = state.positions.get(pair)
    info = state.pairs.get(pair)
    if pos is None or info is None or not (price > 0.0 and math.isfinite(price)) or sell_pending(state, pair):
        return []
    reason = exit_trigger(state, pos, price, ts_ms, limits)
    if not reason:
        return []
    kind = reason_code(reason)
    if kind in STOP_KINDS:
        for strategy in {*pos.lots, pos.strategy} - {""}:
            state.stopped[f"{pair}|{strategy}"] = ts_ms
    order = exit_all(
        state,
        pair,
        kind,
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
        order = exit_all(state, pair, BREAKER, f"{FLATTEN}: {state.halt_reason or 'halt'}", limits, now_ms)
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
    reason = f"{MANUAL_CLOSE}: close requested by {requested_by}"
    order = exit_all(state, pair, MANUAL_CLOSE, reason, limits, now_ms)
    return [order] if order is not None else []


def exit_all(
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
    """A sell of the whole (sellable) position in `pair` (at most the order cap's worth), id
    `exit:{pair}:{ts_ms}:{kind}`, and `...:{n}` for the n-th part sold at the same event time.

    Priced on `pools` (the triggering signal's) or else the pair's last known pools; `ts_ms` defaults to
    the newest event time and `origin_ms` to `now_ms`. None when there is nothing to sell, a sell is in
    flight, or no pool returns anything.
    """
    pos = state.positions.get(pair)
    info = state.pairs.get(pair)
    if pos is None or info is None:
        return None
    amount_in = sellable(state, pos)
    if amount_in <= 0 or sell_pending(state, pair):
        return None
    known = list(pools) if pools is not None else [PoolState(**p) for p in state.pools.get(pair, [])]
    quote = best_quote(info, known, "sell", amount_in)
    if quote is None:
        logger.warning("%s on %s cannot be priced: no pool returns anything", kind, pair)
        return None
    quote = sell_within_cap(state, quote, limits)
    amount_in = quote.amount_in
    at = state.newest_ts_ms if ts_ms is None else ts_ms
    if quote.impact_bps > limits.max_slippage_bps:
        reason += (
            f"; impact {quote.impact_bps:.1f}bps over the {limits.max_slippage_bps}bps cap, protective exit"
        )
    return new_order(
        state,
        order_id=exit_id(pos, f"exit:{pair}:{at}:{kind}"),
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


def exit_id(pos: Position, base: str) -> str:
    """`base`, or `base:{n}` for the n-th exit of the position under that id: ids stay deterministic (they
    follow the state) and one id never names two different sells."""
    if pos.exit_id == base:
        pos.exit_parts += 1
        return f"{base}:{pos.exit_parts + 1}"
    pos.exit_id, pos.exit_parts = base, 0
    return base
