"""A signal to orders or one rejection: the screening every signal gets, then a buy through the
pre-trade checks and its route, or a sell of the strategy's own lot.

The portfolio is spot and long-only: a -1 signal closes the long its strategy opened (`risk.attribution`),
never another strategy's, and never opens a short. Both sides keep within max_slippage_bps: a buy or a
sell too large for it is shrunk to the largest size that fits (refused only when that is below the
minimum order). Protective exits (`risk.exits`) are exempt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from risk.attribution import lot_of
from risk.checks import PRE_TRADE_CHECKS, BuyContext, Check, run_checks
from risk.codes import (
    BAD_SIGNAL,
    CLOSE,
    DUPLICATE,
    ENTRY,
    EXIT_PENDING,
    LOW_CONFIDENCE,
    NO_POOL,
    NO_POSITION,
    OUTLIER_PRICE,
    RESIZED,
    SLIPPAGE,
)
from risk.limits import RiskLimits
from risk.observe import learn
from risk.orders import new_order, reject, sell_pending, sell_within_cap, sellable
from risk.pricing import PoolQuote, best_quote, quote_pool, route_buy
from risk.state import (
    RECENT_IDS_KEPT,
    PairInfo,
    RiskState,
    raise_mark,
    remember,
    sol_usdc_price,
    unit_value_usdc,
)
from streams.records import Order, PoolState, Rejection, Signal


def _signal_mark_key(signal: Signal) -> str:
    return f"{signal.pair}|{signal.strategy}"


def already_decided(state: RiskState, signal: Signal) -> bool:
    """A signal decided before: its id is recent, or it is not newer than the last decided signal of its
    pair and strategy (the mark).

    A pair's snapshots, hence each strategy's signals, are emitted in event-time order, so anything below
    the mark is a re-emission (a restarted model replaying from its checkpoint), never a new signal. One at
    the mark itself is looked up among the ids decided at the mark (`signal_mark_ids`), not only the recent
    ids: other pairs and strategies push its id out of those while this one is quiet, and a replay of it
    minutes later must not be decided again.
    """
    if signal.id in state.recent_signals:
        return True
    key = _signal_mark_key(signal)
    mark = state.signal_marks.get(key)
    if mark is None or signal.ts_ms > mark:
        return False
    return signal.ts_ms < mark or signal.id in state.signal_mark_ids.get(key, ())


def decide(state: RiskState, signal: Signal, limits: RiskLimits, now_ms: int) -> Order | Rejection:
    """One signal to one order or a rejection: `decide_all` with buys kept on one pool (never split).

    For callers that need exactly one order per signal; the risk agent uses `decide_all`.
    """
    return decide_all(state, signal, limits, now_ms, split=False)[0]


def decide_all(
    state: RiskState,
    signal: Signal,
    limits: RiskLimits,
    now_ms: int,
    *,
    split: bool = True,
    checks: Sequence[Check] = PRE_TRADE_CHECKS,
) -> list[Order | Rejection]:
    """Turn one signal into orders (approved, maybe resized) or one rejection, updating the state.

    A buy passes `checks` (`risk.checks.PRE_TRADE_CHECKS`), then is routed (`route_buy`): one order on
    the best pool, or with `split` one order per leg when the buy is too large for one pool's impact cap,
    ids `ord:{signal}/leg{n}`; an unsplit order keeps `ord:{signal}`. Every leg is its own pending order
    (exposure, balance, fills), the legs together are one decision (counters, order rate).

    The signal's price updates the price map (and the breaker) first, whatever the outcome. The counters
    count signals only (decided = approved + rejected); stop-loss exits are not counted.
    """
    state.decided += 1
    accepted = learn(state, signal.pair, signal.price, signal.pools, limits, signal.ts_ms)
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
        return [reject(state, signal, BAD_SIGNAL, detail, now_ms)]
    if signal.id in state.recent_signals:
        return [reject(state, signal, DUPLICATE, f"signal {signal.id} already decided", now_ms)]
    remember(state.recent_signals, signal.id, RECENT_IDS_KEPT)
    raise_mark(state, _signal_mark_key(signal), signal.ts_ms, signal.id)
    if not accepted:
        held = state.suspect_prices.get(signal.pair, [signal.price])[0]
        detail = f"{signal.pair} price {held:.6g} held back: over {limits.price_outlier_pct:g}% from " + (
            f"{state.prices[signal.pair]:.6g}" if signal.pair in state.prices else "the last"
        )
        return [reject(state, signal, OUTLIER_PRICE, detail, now_ms)]
    if signal.confidence < limits.min_confidence:
        detail = f"{signal.confidence:.3f} < {limits.min_confidence:g}"
        return [reject(state, signal, LOW_CONFIDENCE, detail, now_ms)]
    info = state.pairs.get(signal.pair)
    if info is None:
        return [reject(state, signal, NO_POOL, "signal carries no pool for the pair", now_ms)]
    if sell_pending(state, signal.pair):
        return [reject(state, signal, EXIT_PENDING, f"a sell of {signal.pair} is in flight", now_ms)]
    out: list[Order] | Rejection
    if signal.direction == 1:
        out = _decide_buy(state, signal, info, limits, now_ms, split, checks)
    else:
        sell = _decide_sell(state, signal, info, limits, now_ms)
        out = [sell] if isinstance(sell, Order) else sell
    if isinstance(out, Rejection):
        return [out]
    for order in out:
        state.pending[order.id].strategy = signal.strategy
    state.approved += 1
    return list(out)


def _decide_buy(
    state: RiskState,
    signal: Signal,
    info: PairInfo,
    limits: RiskLimits,
    now_ms: int,
    split: bool,
    checks: Sequence[Check],
) -> list[Order] | Rejection:
    """The checks size the buy; the route prices it. One pool over the impact cap: the buy shrinks to the
    largest size within it (`fit_to_cap`), refused only below the minimum order."""
    ctx = BuyContext(state, signal, info, limits)
    refused = run_checks(ctx, checks)
    if refused is not None:
        return reject(state, signal, refused.code, refused.detail, now_ms)
    if ctx.binding is None:
        raise ValueError("no pre-trade check sized the buy (the checks must include a cap)")
    cap, target_usdc = ctx.binding.cap, ctx.binding.size_usdc
    # Convert through the human price (1.0 or SOL/USDC), not the per-raw-unit float, to floor exactly.
    quote_price = 1.0 if info.quote_mint == state.usdc_mint else sol_usdc_price(state)
    amount_in = min(math.floor(target_usdc / quote_price * 10**info.quote_decimals), ctx.free_raw)
    legs = route_buy(state, info, signal.pair, ctx.pools, amount_in, limits, split=split)
    if not legs:
        return reject(state, signal, NO_POOL, f"no pool returns anything for {amount_in} raw in", now_ms)
    if len(legs) == 1 and legs[0].impact_bps > limits.max_slippage_bps:
        quote = legs[0]
        fitted = fit_to_cap(quote.pool, "buy", quote.amount_in, limits.max_slippage_bps)
        fitted_usdc = (fitted.amount_in if fitted else 0) * ctx.quote_unit
        if fitted is None or fitted_usdc < limits.min_order_usdc:
            detail = (
                f"impact {quote.impact_bps:.1f}bps > {limits.max_slippage_bps}bps on {quote.pool.venue}, and "
                f"the largest buy within it ({fitted_usdc:.2f} USDC) is below the min order"
            )
            return reject(state, signal, SLIPPAGE, detail, now_ms)
        cap, target_usdc, legs = "slippage_cap", fitted_usdc, [fitted]
    if len(legs) == 1:
        where = f"on {legs[0].pool.venue} impact {legs[0].impact_bps:.1f}bps"
    else:
        where = f"split in {len(legs)}: " + " + ".join(
            f"{q.amount_in} raw on {q.pool.venue} impact {q.impact_bps:.1f}bps" for q in legs
        )
    if cap == "position_cap" and ctx.held_usdc == 0.0:
        reason = f"{ENTRY}: {target_usdc:.2f} USDC ({limits.max_position_pct:g}% of {ctx.equity:.2f}) {where}"
    else:
        reason = f"{RESIZED}: {cap} {target_usdc:.2f} of {ctx.full_usdc:.2f} USDC {where}"
    base_id = f"ord:{signal.id}"
    return [
        new_order(
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


def fit_to_cap(pool: PoolState, side: str, amount_in: int, cap_bps: int) -> PoolQuote | None:
    """The largest input up to `amount_in` whose impact on `pool` is within `cap_bps` (impact grows with
    size, so a bisection finds it), quoted; None when even one raw unit is over the cap or returns
    nothing."""
    lo, hi = 0, amount_in
    while lo < hi:
        mid = (lo + hi + 1) // 2
        q = quote_pool(pool, side, mid)
        if q.amount_out > 0 and q.impact_bps <= cap_bps:
            lo = mid
        else:
            hi = mid - 1
    return quote_pool(pool, side, lo) if lo > 0 else None


def _decide_sell(
    state: RiskState, signal: Signal, info: PairInfo, limits: RiskLimits, now_ms: int
) -> Order | Rejection:
    """The strategy's own lot, shrunk to fit the slippage cap (the rest waits for the next signal)."""
    pos = state.positions.get(signal.pair)
    if pos is None:
        return reject(state, signal, NO_POSITION, f"no long in {signal.pair} to close", now_ms)
    lot = lot_of(pos, signal.strategy)
    if lot <= 0:
        detail = f"{signal.strategy} holds no lot of the {signal.pair} long (others' lots are theirs)"
        return reject(state, signal, NO_POSITION, detail, now_ms)
    amount_in = min(lot, sellable(state, pos))
    if amount_in <= 0:
        detail = f"the {signal.pair} long is wholly reserved by pending orders"
        return reject(state, signal, NO_POSITION, detail, now_ms)
    quote = best_quote(info, signal.pools, "sell", amount_in)
    if quote is None:
        return reject(state, signal, NO_POOL, f"no pool returns anything for {amount_in} raw base", now_ms)
    if quote.impact_bps > limits.max_slippage_bps:
        fitted = fit_to_cap(quote.pool, "sell", amount_in, limits.max_slippage_bps)
        value = fitted.amount_in * unit_value_usdc(state, pos.base_mint) if fitted else 0.0
        if fitted is None or (value < limits.min_order_usdc and fitted.amount_in < amount_in):
            detail = (
                f"impact {quote.impact_bps:.1f}bps > {limits.max_slippage_bps}bps on {quote.pool.venue}, and "
                f"the largest sell within it ({value:.2f} USDC) is below the min order"
            )
            return reject(state, signal, SLIPPAGE, detail, now_ms)
        quote, amount_in = fitted, fitted.amount_in
    quote = sell_within_cap(state, quote, limits)
    amount_in = quote.amount_in
    return new_order(
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
