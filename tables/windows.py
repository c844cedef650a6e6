"""Window maths for the features tables: one-window trade aggregates and integer-millisecond window keys.

Every window here is half-open, `[start, start + size)`, in integer event-time milliseconds, so a trade at
exactly `start + size` belongs to the next window. Hopping windows start at multiples of `step_ms` (as in
Faust's `HoppingWindow`, which works in float seconds); integer ms keeps keys exact and hashable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

_INF = math.inf  # module-level names for `Bar.add`, which runs once per raw swap
_log = math.log


@dataclass(slots=True)
class Bar:
    """Trades of one window folded into sums, so bars merge and serialise as plain dicts.

    Prices are quote per base in human units. `open`/`close` follow event time, not arrival: the open is the
    earliest-timestamped trade, the close the latest (ties go to the first-added for the open and the
    last-added for the close), so a late trade inside the window still lands in the right place.
    OHLC fields are 0.0 while `trades == 0`.
    """

    open: float = 0.0
    high: float = 0.0
    low: float = 0.0
    close: float = 0.0
    volume_base: float = 0.0
    volume_quote: float = 0.0
    buy_quote: float = 0.0  # taker bought base
    sell_quote: float = 0.0  # taker sold base
    trades: int = 0
    buys: int = 0
    sells: int = 0
    pv_sum: float = 0.0  # sum of price * base quantity, for the VWAP
    impact_sum: float = 0.0  # sum of |log(price / prev_price)| over trades with a known prev_price
    impact_size_sum: float = 0.0  # sum of the quote size of those same trades
    first_ts_ms: int = 0
    last_ts_ms: int = 0
    # The newest raw offset folded in (one pair's swaps come from one raw partition): a swap re-delivered
    # after a crash whose bar, but not its pair's state, reached the changelog is not counted twice.
    offset: int = field(default=-1, compare=False)

    @classmethod
    def empty(cls) -> Bar:
        return cls()

    def add(
        self,
        price: float,
        base_qty: float,
        quote_qty: float,
        is_buy: bool,
        ts_ms: int,
        prev_price: float | None,
    ) -> None:
        """Fold one trade in. `prev_price` is the price just before it (None if unknown: no impact term)."""
        if not 0.0 < price < _INF:
            raise ValueError(f"trade price must be positive and finite, got {price!r}")
        if self.trades == 0:
            self.open = self.high = self.low = self.close = price
            self.first_ts_ms = self.last_ts_ms = ts_ms
        else:
            if price > self.high:
                self.high = price
            elif price < self.low:
                self.low = price
            if ts_ms < self.first_ts_ms:
                self.open = price
                self.first_ts_ms = ts_ms
            if ts_ms >= self.last_ts_ms:
                self.close = price
                self.last_ts_ms = ts_ms
        self.trades += 1
        self.volume_base += base_qty
        self.volume_quote += quote_qty
        self.pv_sum += price * base_qty
        if is_buy:
            self.buys += 1
            self.buy_quote += quote_qty
        else:
            self.sells += 1
            self.sell_quote += quote_qty
        if prev_price is not None and 0.0 < prev_price < _INF:
            self.impact_sum += abs(_log(price) - _log(prev_price))  # a ratio could underflow
            self.impact_size_sum += quote_qty

    def merge(self, other: Bar) -> Bar:
        """A new bar equal to adding `other`'s trades after `self`'s; associative, `Bar()` is identity."""
        return merge_bars((self, other)) or Bar()

    def absorb(self, other: Bar) -> None:
        """In place, `self = self.merge(other)`: summing a window's sub-bars without a bar per step."""
        if other.trades == 0:
            return
        merged = merge_bars((self, other))
        for f, value in zip(_SUM_FIELDS, _sums_of(merged), strict=True):
            setattr(self, f, value)

    @property
    def vwap(self) -> float:
        """Volume-weighted average price; 0.0 when there is no base volume."""
        return self.pv_sum / self.volume_base if self.volume_base > 0.0 else 0.0

    def to_dict(self) -> dict[str, float | int]:
        """Plain JSON-ready dict, the shape a Faust table stores."""
        return {f: getattr(self, f) for f in _FIELD_NAMES}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Bar:
        """Inverse of `to_dict`; coerces types because a JSON round trip may turn 0.0 into 0 elsewhere."""
        bar = cls()
        for f in _FIELD_NAMES:
            if f in d:  # a changelog written before a field existed keeps its default
                setattr(bar, f, int(d[f]) if f in _INT_FIELDS else float(d[f]))
        return bar


_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Bar))
_INT_FIELDS = frozenset(f.name for f in fields(Bar) if f.type in ("int", int))


def merge_bars(bars: Iterable[Bar | None]) -> Bar | None:
    """Sub-bars merged oldest first into the bar of the window they tile; None when none had trades.

    A window's bar is the merge of its one-second bars: the same trades, counts, OHLC and VWAP as adding
    each trade to the window, with float sums added per second rather than per trade (equal to ~1e-15).
    The one place the merge rule is written (`Bar.merge` and `Bar.absorb` call it): every snapshot merges
    up to 60 bars twice, so it runs on local variables and builds one bar at the end.
    """
    it = iter(bars)
    for first in it:
        if first is not None and first.trades != 0:
            break
    else:
        return None
    (o, h, lo, c, vb, vq, bq, sq, n, buys, sells, pv, imp, imp_size, first_ts, last_ts) = _sums_of(first)
    for bar in it:
        if bar is None or bar.trades == 0:
            continue
        if bar.first_ts_ms < first_ts:
            o, first_ts = bar.open, bar.first_ts_ms
        if bar.last_ts_ms >= last_ts:
            c, last_ts = bar.close, bar.last_ts_ms
        if bar.high > h:
            h = bar.high
        if bar.low < lo:
            lo = bar.low
        vb += bar.volume_base
        vq += bar.volume_quote
        bq += bar.buy_quote
        sq += bar.sell_quote
        n += bar.trades
        buys += bar.buys
        sells += bar.sells
        pv += bar.pv_sum
        imp += bar.impact_sum
        imp_size += bar.impact_size_sum
    return Bar(o, h, lo, c, vb, vq, bq, sq, n, buys, sells, pv, imp, imp_size, first_ts, last_ts)


_SUM_FIELDS = tuple(f for f in _FIELD_NAMES if f != "offset")  # what trades add up to, in field order
_sums_of = attrgetter(*_SUM_FIELDS)


WindowRange = tuple[float, float]


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """A tumbling (step = size) or hopping window of a bars table, in float seconds as Faust keys them.

    `ranges` gives exactly the keys Faust's `HoppingWindow.ranges` gives (`(start, start + size - 0.1)`),
    so in-memory tables (the backtest) and Faust's windowed tables key bars alike without the backtest
    importing Faust. `expires_s`: how long after its end a window is kept.
    """

    size_s: float
    step_s: float
    expires_s: float

    def ranges(self, ts_s: float) -> list[WindowRange]:
        """Every window containing `ts_s`, oldest first."""
        step, size = self.step_s, self.size_s
        first = (ts_s // step) * step - size + step
        return [
            (float(start), float(start) + size - 0.1) for start in range(int(first), int(ts_s) + 1, int(step))
        ]


# The features tables' windows (`features.folding` keys its bars by them, `tables.features` declares them):
# one-second bars, and hopping 10 s / 60 s windows every 2 s / 10 s, each kept a while after it ends. A
# snapshot reads at most 60 s back, less than every window's expiry.
BARS_1S_WINDOW = WindowSpec(size_s=1.0, step_s=1.0, expires_s=90.0)
BARS_10S_WINDOW = WindowSpec(size_s=10.0, step_s=2.0, expires_s=30.0)
BARS_60S_WINDOW = WindowSpec(size_s=60.0, step_s=10.0, expires_s=120.0)


def tumbling_start(ts_ms: int, size_ms: int) -> int:
    """Start of the tumbling window `[start, start + size_ms)` that contains `ts_ms`."""
    if size_ms <= 0:
        raise ValueError("size_ms must be positive")
    return ts_ms - ts_ms % size_ms


def hopping_starts(ts_ms: int, size_ms: int, step_ms: int) -> list[int]:
    """Starts, ascending, of every hopping window `[start, start + size_ms)` containing `ts_ms`.

    Windows start at multiples of `step_ms` and `size_ms` must be a multiple of it, so there are always
    size/step of them. Like Faust's `HoppingWindow.ranges`, starts before zero are kept near the epoch.
    """
    if step_ms <= 0 or size_ms <= 0 or size_ms % step_ms:
        raise ValueError("need step_ms > 0 and size_ms a positive multiple of step_ms")
    last = ts_ms - ts_ms % step_ms
    return list(range(last - size_ms + step_ms, last + 1, step_ms))


def snapshot_hop_start(ts_ms: int, size_ms: int, step_ms: int) -> int:
    """The hopping window a snapshot at `ts_ms` reads: the oldest one containing it.

    Of the windows containing `ts_ms` it covers the most history up to `ts_ms` (at least size - step),
    while a window that already closed would be up to one step stale.
    """
    return hopping_starts(ts_ms, size_ms, step_ms)[0]


def window_keys_for_range(end_ms: int, count: int, size_ms: int) -> list[int]:
    """The `count` most recent tumbling starts, oldest first, the last being the window containing end_ms."""
    if count < 0:
        raise ValueError("count must be non-negative")
    last = tumbling_start(end_ms, size_ms)
    return list(range(last - (count - 1) * size_ms, last + 1, size_ms)) if count else []


def swap_price(base_amount: int, quote_amount: int, base_decimals: int, quote_decimals: int) -> float:
    """Execution price of a swap, quote per base in human units; 0.0 when no base moved."""
    if base_amount == 0:
        return 0.0
    return (quote_amount / base_amount) * 10.0 ** (base_decimals - quote_decimals)


def reserve_price(base_reserve: int, quote_reserve: int, base_decimals: int, quote_decimals: int) -> float:
    """Spot price implied by a pool's reserves (virtual ones for a curve); 0.0 for an empty base side."""
    if base_reserve == 0:
        return 0.0
    return (quote_reserve / base_reserve) * 10.0 ** (base_decimals - quote_decimals)
