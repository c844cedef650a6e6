"""Feature maths: a pair's windowed bars and pool states in, a fixed dict of finite floats out.

Pure functions, so the feature folding (`features.folding`: bars held in Faust windowed tables or in memory)
and `features.pair_state.PairFeatureState` (one pair's bars in memory, for model evaluation) compute the same
numbers from the same events.

Price convention, set once in `trade_from_swap`: a trade's price is the pool's reserve price *after* the
trade (its mark), and its `prev_price` the reserve price just before it, rebuilt from the swap itself (the
reserves after, minus what the trade moved). Marks do not bounce between buys and sells the way execution
prices do, and the impact term needs no state carried between events. A swap without usable reserves
falls back to its execution price and adds no impact term.

Windows read at a snapshot instant T (all integer ms, `tables.windows`):
- `bars_1s`: the `BARS_1S` one-second bars `window_keys_for_range(T, BARS_1S, BAR_MS)`, oldest first, the
  last one containing T (None for a second without trades). `BARS_1S` is 61: a 60 s return needs the
  close 60 bars before the latest one.
- `hop_10s`, `hop_60s`: the hopping window `snapshot_hop_start(T, size, step)` (the oldest one containing
  T, i.e. the one covering the most history up to T), merged from its one-second bars (`hop_bar`).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, NamedTuple

from streams.codec import RawSwap
from streams.records import PoolState, Swap
from tables.windows import (
    Bar,
    merge_bars,
    reserve_price,
    snapshot_hop_start,
    tumbling_start,
)

BAR_MS = 1_000
BARS_1S = 61  # 60 one-second returns
HOP_10S_MS = (10_000, 2_000)  # (size, step)
HOP_60S_MS = (60_000, 10_000)
IMPACT_QUOTE_UNIT = 1_000.0  # impact is reported in bps per this many quote units (human) of trade size
_BPS = 10_000.0
_MAX = sys.float_info.max

FEATURE_NAMES: tuple[str, ...] = (
    "ret_1s",  # log(price / close 1 bar before the latest bar); 0.0 without that much history
    "ret_5s",
    "ret_10s",
    "ret_30s",
    "ret_60s",
    "vol_10s",  # sample std of the last 10 one-second log returns, per sqrt(second)
    "vol_60s",  # same over the last 60
    "vwap_dist_10s",  # log(price / VWAP of the 10 s hopping window)
    "vwap_dist_60s",
    "volume_quote_10s",  # quote volume, human units
    "volume_quote_60s",
    "trades_10s",
    "trades_60s",
    "ofi_10s",  # (buy - sell) / (buy + sell) quote volume, in [-1, 1]
    "ofi_60s",
    "buy_sell_ratio_60s",  # log((buys + 1) / (sells + 1)), trade counts
    "impact_bps_60s",  # bps of |log price move| per IMPACT_QUOTE_UNIT quote traded
    "liquidity_quote",  # 2 x quote reserves summed over pools, human units (virtual for curves)
    "venue_spread_bps",  # (max - min) / mid of pool prices, bps
)


class Trade(NamedTuple):
    """One swap as `Bar.add` takes it, in that argument order: `bar.add(*trade)`."""

    price: float
    base_qty: float
    quote_qty: float
    is_buy: bool
    ts_ms: int
    prev_price: float | None


def trade_from_swap(swap: Swap | RawSwap) -> Trade | None:
    """The trade a swap adds to every bar it falls in; None for a swap that moved nothing or has no side.

    Runs once per raw swap, so it reads each field once and inlines `reserve_price` / `swap_price`
    (the same expressions, so the same floats).
    """
    base_amount, quote_amount, side = swap.base_amount, swap.quote_amount, swap.side
    if base_amount <= 0 or quote_amount <= 0:
        return None
    # Undo the trade on the reserves: a buy took base out and put quote in (fee included, as Raydium v4
    # keeps it in the pool and Pump.fun reports the curve's side before its fee); a sell did the opposite.
    base_reserve, quote_reserve = swap.base_reserve, swap.quote_reserve
    if side == "buy":
        is_buy = True
        pre_base, pre_quote = base_reserve + base_amount, quote_reserve - quote_amount
    elif side == "sell":
        is_buy = False
        pre_base, pre_quote = base_reserve - base_amount, quote_reserve + quote_amount
    else:
        return None
    bd, qd = swap.base_decimals, swap.quote_decimals
    scale = 10.0 ** (bd - qd)
    mark = (quote_reserve / base_reserve) * scale if base_reserve != 0 else 0.0
    prev: float | None
    if mark > 0.0 and pre_base > 0 and pre_quote > 0:
        price, prev = mark, (pre_quote / pre_base) * scale
    else:
        price, prev = (quote_amount / base_amount) * scale, None  # base_amount > 0 here
    return Trade(price, base_amount / 10.0**bd, quote_amount / 10.0**qd, is_buy, swap.ts_ms, prev)


def pool_dict_from_swap(swap: Swap | RawSwap) -> dict[str, Any]:
    """The pool's state right after a swap as `PoolState.asdict()` gives it, without building the record."""
    return {
        "venue": swap.venue,
        "pool": swap.pool,
        "base_mint": swap.base_mint,
        "quote_mint": swap.quote_mint,
        "base_decimals": swap.base_decimals,
        "quote_decimals": swap.quote_decimals,
        "base_reserve": swap.base_reserve,
        "quote_reserve": swap.quote_reserve,
        "fee_bps": swap.fee_bps,
        "real_base_reserve": swap.real_base_reserve,
        "ts_ms": swap.ts_ms,
        "creator_fee_bps": swap.creator_fee_bps,
        "slot": swap.slot,  # a followed account's later state replaces it (features.folding.note_pool)
    }


def pool_state_from_swap(swap: Swap | RawSwap) -> PoolState:
    """The pool's state right after a swap."""
    return PoolState(**pool_dict_from_swap(swap))


def hop_bar(bars_1s: Sequence[Bar | None], ts_ms: int, size_ms: int, step_ms: int) -> Bar | None:
    """The snapshot's hopping-window bar (`snapshot_hop_start`) from the one-second bars up to `ts_ms`.

    `bars_1s` is the `compute_features` series (the last one containing `ts_ms`). A snapshot is taken at
    the first swap of its interval, so no later bar of that window has trades yet: the window's bar is
    the merge of its one-second bars up to `ts_ms`. One running bar per second instead of one per
    overlapping window makes a swap one bar update, not twelve.
    """
    start = snapshot_hop_start(ts_ms, size_ms, step_ms)
    count = (tumbling_start(ts_ms, BAR_MS) - start) // BAR_MS + 1
    return merge_bars(bars_1s[len(bars_1s) - count :]) if count > 0 else None


def _pool_price(p: PoolState) -> float:
    return reserve_price(p.base_reserve, p.quote_reserve, p.base_decimals, p.quote_decimals)


def pair_price(pools: Sequence[PoolState], fallback: float = 0.0) -> float:
    """Pool prices weighted by quote reserve: the deeper pool sets the price. `fallback` if no pool prices."""
    num = den = 0.0
    for p in pools:
        price = _pool_price(p)
        if price > 0.0 and p.quote_reserve > 0:
            num += price * p.quote_reserve
            den += p.quote_reserve
    return num / den if den > 0.0 else fallback


def _valid(x: float) -> bool:
    return 0.0 < x < math.inf


def filled_closes(bars: Sequence[Bar | None]) -> list[float]:
    """Closes forward-filled over empty (or unusable) bars, starting at the first bar with a close.

    Leading empty bars are dropped rather than invented, so the list aligns with `bars` from the end.
    """
    out: list[float] = []
    last = 0.0
    for bar in bars:
        if bar is not None and bar.trades > 0 and 0.0 < bar.close < math.inf:
            last = bar.close
        if last:
            out.append(last)
    return out


def log_returns(closes: Sequence[float]) -> list[float]:
    """Consecutive log returns of positive closes."""
    return [math.log(b / a) for a, b in pairwise(closes)]


def _sample_std(xs: Sequence[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    mean = sum(xs) / n
    return math.sqrt(sum([(x - mean) * (x - mean) for x in xs]) / (n - 1))


def realised_vol(bars_1s: Sequence[Bar | None]) -> float:
    """Sample std of 1 s log returns of forward-filled closes, per sqrt(second); 0.0 under 2 returns."""
    return _sample_std(log_returns(filled_closes(bars_1s)))


def vwap_distance(price: float, bar: Bar | None) -> float:
    """log(price / VWAP): how far the price sits above what the window's volume paid; 0.0 if undefined."""
    if bar is None or not _valid(price):
        return 0.0
    vwap = bar.vwap
    return math.log(price) - math.log(vwap) if _valid(vwap) else 0.0  # two logs: the ratio may underflow


def order_flow_imbalance(bar: Bar | None) -> float:
    """(buy - sell) / (buy + sell) taker quote volume, in [-1, 1]; 0.0 for an empty window."""
    if bar is None:
        return 0.0
    total = bar.buy_quote + bar.sell_quote
    return (bar.buy_quote - bar.sell_quote) / total if total > 0.0 else 0.0


def buy_sell_ratio(bar: Bar | None) -> float:
    """log((buys + 1) / (sells + 1)) on trade counts: symmetric, finite, 0.0 when balanced or empty.

    Counts rather than volume, so with `order_flow_imbalance` it tells many small buys from a few big ones.
    """
    if bar is None:
        return 0.0
    return math.log((max(bar.buys, 0) + 1) / (max(bar.sells, 0) + 1))


def impact_per_unit(bar: Bar | None) -> float:
    """Price impact in bps per `IMPACT_QUOTE_UNIT` (1,000) quote units traded: sum |dlog p| / sum size.

    A size-weighted Amihud-style illiquidity measure; 0.0 when no trade had a known previous price.
    """
    if bar is None or not bar.impact_size_sum > 0.0:
        return 0.0
    return bar.impact_sum / bar.impact_size_sum * _BPS * IMPACT_QUOTE_UNIT


def liquidity_quote(pools: Sequence[PoolState]) -> float:
    """Two-sided depth in quote (human units): 2 x quote reserve summed over the pair's pools."""
    return math.fsum(2.0 * p.quote_reserve / 10.0**p.quote_decimals for p in pools if p.quote_reserve > 0)


def venue_spread_bps(pools: Sequence[PoolState]) -> float:
    """(max - min) / mid of the pools' prices, in bps: the cross-venue gap; 0.0 with fewer than two pools."""
    prices = [x for x in map(_pool_price, pools) if x > 0.0]
    if len(prices) < 2:
        return 0.0
    hi, lo = max(prices), min(prices)
    return (hi - lo) / ((hi + lo) / 2.0) * _BPS


def _finite(x: float) -> float:
    if x != x:  # NaN
        return 0.0
    return min(max(x, -_MAX), _MAX)


def compute_features(
    price: float,
    bars_1s: Sequence[Bar | None],
    hop_10s: Bar | None,
    hop_60s: Bar | None,
    pools: Sequence[PoolState],
) -> dict[str, float]:
    """The `FEATURE_NAMES` features, in that order, every value a finite float whatever the inputs.

    Returns and volatilities share one forward-filled close series over all of `bars_1s`, so a 10 s
    window that opens on an empty second is seeded by the older bars. A non-positive `price` falls back
    to the latest close.
    """
    closes = filled_closes(bars_1s)
    logs = [math.log(c) for c in closes]
    n = len(logs)
    rets = [b - a for a, b in pairwise(logs)]
    if _valid(price):
        log_price = math.log(price)
    elif n:
        log_price, price = logs[-1], closes[-1]
    else:
        log_price = 0.0

    def ret(k: int) -> float:
        return log_price - logs[-1 - k] if n > k else 0.0

    out = {
        "ret_1s": ret(1),
        "ret_5s": ret(5),
        "ret_10s": ret(10),
        "ret_30s": ret(30),
        "ret_60s": ret(60),
        "vol_10s": _sample_std(rets[-10:]),
        "vol_60s": _sample_std(rets[-60:]),
        "vwap_dist_10s": vwap_distance(price, hop_10s),
        "vwap_dist_60s": vwap_distance(price, hop_60s),
        "volume_quote_10s": hop_10s.volume_quote if hop_10s is not None else 0.0,
        "volume_quote_60s": hop_60s.volume_quote if hop_60s is not None else 0.0,
        "trades_10s": float(hop_10s.trades) if hop_10s is not None else 0.0,
        "trades_60s": float(hop_60s.trades) if hop_60s is not None else 0.0,
        "ofi_10s": order_flow_imbalance(hop_10s),
        "ofi_60s": order_flow_imbalance(hop_60s),
        "buy_sell_ratio_60s": buy_sell_ratio(hop_60s),
        "impact_bps_60s": impact_per_unit(hop_60s),
        "liquidity_quote": liquidity_quote(pools),
        "venue_spread_bps": venue_spread_bps(pools),
    }
    for k, v in out.items():
        if not math.isfinite(v):
            out[k] = _finite(v)
    return out
