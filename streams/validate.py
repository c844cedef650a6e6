"""Semantic checks beyond field types: a well-typed record can still be impossible.

Event times are epoch milliseconds within `MIN_EVENT_MS`..`MAX_EVENT_MS` (a time in microseconds or
seconds is refused: Faust's windowing fails past 2^31 s, and a backtest's windows would grow without
bound), and no later than the record's receipt plus a skew (a time from the future would silence a pair
until the clock caught up). `PoolContinuity` refuses amounts the pool's previous state rules out.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TypeVar

from core.errors import DecodeError
from streams.codec import RawSwap
from streams.records import JupiterQuote, Launch, PerpBook, PoolState, Swap

S = TypeVar("S", Swap, RawSwap)
M = TypeVar("M", JupiterQuote, PerpBook)

MIN_EVENT_MS = 1_262_304_000_000  # 2010-01-01 UTC: before any chain this reads
MAX_EVENT_MS = 4_102_444_800_000  # 2100-01-01 UTC: a microsecond time (~1.7e15) is far beyond it
DEFAULT_SKEW_MS = 5_000  # how far an event time may be ahead of its receipt (`max_event_skew_s`)
EXECUTION_PRICE_RATIO = 100.0  # a swap's own price this many times off its pool's price is not a swap


def check_event_time(ts_ms: int, received_ms: int = 0, skew_ms: int = DEFAULT_SKEW_MS) -> None:
    """Epoch milliseconds in range, and not after its receipt (when known, > 0) plus `skew_ms`."""
    if not MIN_EVENT_MS <= ts_ms <= MAX_EVENT_MS:
        raise DecodeError(f"ts_ms: {ts_ms} is not epoch milliseconds between 2010 and 2100")
    if received_ms > 0 and ts_ms > received_ms + skew_ms:
        ahead_s = (ts_ms - received_ms) / 1000.0
        raise DecodeError(f"ts_ms: {ahead_s:.1f}s after its receipt (more than {skew_ms / 1000.0:g}s skew)")


def check_market_record(record: M, *, received_ms: int = 0, skew_ms: int = DEFAULT_SKEW_MS) -> M:
    """A Jupiter quote or Drift book that could have been answered: times in range, amounts and prices
    not negative, a book not crossed, ratios finite and within their bounds."""
    check_event_time(record.ts_ms, record.received_ms or received_ms, skew_ms)
    if isinstance(record, JupiterQuote):
        if record.in_amount < 0 or record.out_amount < 0:
            raise DecodeError("in_amount, out_amount: must not be negative")
        if not math.isfinite(record.price_impact_pct):
            raise DecodeError("price_impact_pct: must be finite")
        return record
    if record.best_bid < 0 or record.best_ask < 0:
        raise DecodeError("best_bid, best_ask: must not be negative")
    if record.best_bid > 0 and record.best_ask > 0 and record.best_bid > record.best_ask:
        raise DecodeError(f"best_bid, best_ask: a crossed book ({record.best_bid} > {record.best_ask})")
    if not (math.isfinite(record.imbalance) and -1.0 <= record.imbalance <= 1.0):
        raise DecodeError("imbalance: must be within -1..1")
    if not math.isfinite(record.funding_rate_hourly):
        raise DecodeError("funding_rate_hourly: must be finite")
    return record


def check_swap(swap: S, *, received_ms: int = 0, skew_ms: int = DEFAULT_SKEW_MS) -> S:
    """Reject swaps no venue could have produced; the reason names the field.

    The receipt time is the swap's own `received_ms`, else `received_ms` (the record's broker time).
    """
    if swap.side not in ("buy", "sell"):
        raise DecodeError(f"side: must be buy or sell, got {swap.side!r}")
    base, sep, quote = swap.pair.partition("/")
    if not sep or not base or not quote:
        raise DecodeError(f"pair: must be BASE/QUOTE, got {swap.pair!r}")
    if swap.base_amount <= 0 or swap.quote_amount <= 0:
        raise DecodeError("base_amount, quote_amount: must be positive")
    if swap.base_reserve <= 0 or swap.quote_reserve <= 0:
        raise DecodeError("base_reserve, quote_reserve: must be positive")
    if not (0 <= swap.base_decimals <= 18 and 0 <= swap.quote_decimals <= 18):
        raise DecodeError("base_decimals, quote_decimals: must be within 0..18")
    if not (0 <= swap.fee_bps < 10_000):
        raise DecodeError("fee_bps: must be within 0..9999")
    if swap.ts_ms <= 0:
        raise DecodeError("ts_ms: must be a positive epoch time in ms")
    check_event_time(swap.ts_ms, swap.received_ms or received_ms, skew_ms)
    # Raw units on both sides: the swap's own price and its pool's, in quote per base raw unit.
    executed = swap.quote_amount / swap.base_amount
    pooled = swap.quote_reserve / swap.base_reserve
    if not 1.0 / EXECUTION_PRICE_RATIO <= executed / pooled <= EXECUTION_PRICE_RATIO:
        raise DecodeError(
            f"base_amount, quote_amount: the swap's price is {executed / pooled:.3g}x its pool's "
            f"(beyond {EXECUTION_PRICE_RATIO:g}x)"
        )
    return swap


def check_pool_update(state: PoolState, *, received_ms: int = 0, skew_ms: int = DEFAULT_SKEW_MS) -> PoolState:
    """A followed account's pool state that could have been read: times in range, reserves not negative
    (0 is a state that names no reserves, e.g. Raydium's `AmmInfo`, whose reserves sit in its vaults)."""
    check_event_time(state.ts_ms, state.received_ms or received_ms, skew_ms)
    if min(state.base_reserve, state.quote_reserve, state.real_base_reserve, state.real_quote_reserve) < 0:
        raise DecodeError("reserves: must not be negative")
    if not state.pool or state.slot < 0:
        raise DecodeError("pool, slot: a pool address and a slot >= 0 are required")
    return state


class PoolContinuity:
    """Each pool's previous reserves, to refuse a swap that takes out more than the pool held.

    A buy takes base out of the pool, a sell takes quote out: more than the previous state's reserve of
    that side is impossible short of a liquidity deposit in between larger than the pool itself (then
    one real swap is dead-lettered rather than a fabricated one folded). Memory is bounded: the `keep`
    most recently seen pools (a pool seen again after eviction is not judged on its first swap).
    """

    def __init__(self, keep: int = 50_000) -> None:
        self.keep = keep
        self._last: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def check(self, swap: S) -> S:
        """Raise DecodeError for a swap the pool's previous state rules out; else remember its reserves."""
        prev = self._last.get(swap.pool)
        if prev is not None:
            base_prev, quote_prev = prev
            if swap.side == "buy" and swap.base_amount >= base_prev:
                raise DecodeError(f"base_amount: {swap.base_amount} out of a pool that held {base_prev}")
            if swap.side == "sell" and swap.quote_amount >= quote_prev:
                raise DecodeError(f"quote_amount: {swap.quote_amount} out of a pool that held {quote_prev}")
            self._last.move_to_end(swap.pool)
        self._last[swap.pool] = (swap.base_reserve, swap.quote_reserve)
        while len(self._last) > self.keep:
            self._last.popitem(last=False)
        return swap


def check_launch(launch: Launch) -> Launch:
    """Reject launches whose curve could not price a trade; the reason names the field."""
    if launch.virtual_base_reserve <= 0 or launch.virtual_quote_reserve <= 0:
        raise DecodeError("virtual reserves: must be positive")
    if not launch.mint or not launch.bonding_curve:
        raise DecodeError("mint, bonding_curve: must be set")
    return launch
