"""The decisions risk emits: an order reserves its input the moment it is built, a rejection is counted.

Decisions depend on event time and on the state only; `now_ms` is stamped onto them (`decided_ms`) for
latency measurement and never read by a rule, so a replay decides the same way.
"""

from __future__ import annotations

from risk.limits import RiskLimits
from risk.pricing import PoolQuote, min_out, quote_pool
from risk.state import PendingOrder, Position, RiskState, unit_value_usdc
from risk.valuation import available
from streams.records import Order, Rejection, Signal

MINUTE_MS = 60_000


def reject(state: RiskState, signal: Signal, code: str, detail: str, now_ms: int) -> Rejection:
    """The rejection of `signal`, reason `"<code>: <detail>"`; counted in the state."""
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


def new_order(
    state: RiskState,
    *,
    order_id: str,
    signal_id: str,
    pair: str,
    side: str,
    input_mint: str,
    amount_in: int,
    quote: PoolQuote,
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
        min_amount_out=min_out(quote.amount_out, limits),
        venue=quote.pool.venue,
        pool=quote.pool.pool,
        pool_state=quote.pool,
        kind=kind,
        reason=reason,
        ts_ms=ts_ms,
        origin_ms=origin_ms,
        decided_ms=now_ms,
    )


def orders_in_last_minute(state: RiskState, ts_ms: int) -> int:
    """Orders decided in the 60 s of event time up to `ts_ms` (what max_orders_per_minute counts)."""
    return sum(1 for t in state.order_ts if ts_ms - MINUTE_MS < t <= ts_ms)


def sell_pending(state: RiskState, pair: str) -> bool:
    """A sell of `pair` is in flight (at most one is, so its fill is awaited before the next)."""
    return any(p.pair == pair and p.side == "sell" for p in state.pending.values())


def sellable(state: RiskState, pos: Position) -> int:
    """The position, capped by the unreserved base balance (SOL held as a position can also be a quote)."""
    return min(pos.base_amount, available(state, pos.base_mint))


ORDER_CAP_MARGIN = 0.005  # under the cap by this share: execution prices SOL at its own SOL/USDC


def sell_within_cap(state: RiskState, quote: PoolQuote, limits: RiskLimits) -> PoolQuote:
    """The sell `quote`, or one on the same pool for at most `max_order_usdc` worth of base valued as live
    execution values it (the pool's price): an order over the cap is refused unsent, so a position bigger
    than the cap could otherwise never be sold. The rest goes in later orders."""
    pool = quote.pool
    if limits.max_order_usdc <= 0 or pool.base_reserve <= 0:
        return quote
    per_raw_base = pool.quote_reserve / pool.base_reserve * unit_value_usdc(state, pool.quote_mint)
    if per_raw_base <= 0:
        return quote
    most = int(limits.max_order_usdc * (1.0 - ORDER_CAP_MARGIN) / per_raw_base)
    return quote if quote.amount_in <= most else quote_pool(pool, "sell", most)
