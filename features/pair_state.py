"""One pair's features kept one swap at a time, in memory: the model evaluation's view of the market.

The same maths as the folding over tables (`features.maths`), so `models.evaluate` scores the features the
live pipeline computes without tables, batches or a broker.
"""

from __future__ import annotations

from typing import Any

from features.market_signals import market_features, newer
from features.maths import (
    BAR_MS,
    BARS_1S,
    HOP_10S_MS,
    HOP_60S_MS,
    compute_features,
    hop_bar,
    pair_price,
    pool_state_from_swap,
    trade_from_swap,
)
from streams.codec import RawSwap
from streams.records import PoolState, Swap
from tables.windows import Bar, tumbling_start, window_keys_for_range


class PairFeatureState:
    """One pair's features kept one event at a time (River's `learn_one`), for backtests without a broker.

    Holds the one-second bars the agent's tables hold, bounded to the last `BARS_1S`; the hopping-window
    bars are merged from them at a snapshot, as the agent does (`hop_bar`). A swap older than every live
    bar is counted in `late_swaps` and otherwise ignored, as an expired table window would ignore it.
    """

    def __init__(self, pair: str) -> None:
        self.pair = pair
        self.max_ts_ms: int | None = None
        self.last_trade_price = 0.0
        self.late_swaps = 0
        self.skipped_swaps = 0
        self._bars: dict[int, Bar] = {}
        self._pools: dict[str, PoolState] = {}
        self.market: dict[str, dict[str, Any]] = {}  # the newest quote and perp book contexts

    def learn_one(self, swap: Swap | RawSwap) -> None:
        """Fold one swap into its one-second bar and keep its pool's latest state."""
        if swap.pair != self.pair:
            raise ValueError(f"swap for {swap.pair!r} fed to the state of {self.pair!r}")
        trade = trade_from_swap(swap)
        if trade is None:
            self.skipped_swaps += 1
            return
        ts = swap.ts_ms
        if self.max_ts_ms is None or ts > self.max_ts_ms:
            # Every window boundary is a whole second, so windows can only expire when the second changes.
            second_changed = self.max_ts_ms is None or ts // BAR_MS != self.max_ts_ms // BAR_MS
            self.max_ts_ms = ts
            if second_changed:
                self._expire()
        start = tumbling_start(ts, BAR_MS)
        if start < self._oldest_bar():
            self.late_swaps += 1
            return
        bar = self._bars.get(start)
        if bar is None:
            bar = self._bars[start] = Bar()
        bar.add(*trade)
        if ts >= self.max_ts_ms:
            self.last_trade_price = trade.price
        known = self._pools.get(swap.pool)
        if known is None or ts >= known.ts_ms:
            self._pools[swap.pool] = pool_state_from_swap(swap)

    def learn_market(self, kind: str, context: dict[str, Any] | None) -> None:
        """Keep the newest quote or perp book (`kind`), as the fold does (`features.market_signals`)."""
        if newer(self.market.get(kind), context):
            assert context is not None
            self.market[kind] = context

    def snapshot(self, ts_ms: int | None = None) -> dict[str, float]:
        """Features at `ts_ms` (default: the latest event time); meant for now, not for the past."""
        inputs = self.inputs(ts_ms)
        features = compute_features(*inputs)
        if self.market:
            t = ts_ms if ts_ms is not None else (self.max_ts_ms or 0)
            features.update(market_features(self.market, inputs[0], t, inputs[4]))
        return features

    def inputs(
        self, ts_ms: int | None = None
    ) -> tuple[float, list[Bar | None], Bar | None, Bar | None, list[PoolState]]:
        """The `compute_features` arguments at `ts_ms`, read the way the agent reads its tables."""
        t = ts_ms if ts_ms is not None else (self.max_ts_ms or 0)
        bars = [self._bars.get(s) for s in window_keys_for_range(t, BARS_1S, BAR_MS)]
        pools = list(self._pools.values())
        return (
            pair_price(pools, fallback=self.last_trade_price),
            bars,
            hop_bar(bars, t, *HOP_10S_MS),
            hop_bar(bars, t, *HOP_60S_MS),
            pools,
        )

    def _oldest_bar(self) -> int:
        assert self.max_ts_ms is not None
        return tumbling_start(self.max_ts_ms, BAR_MS) - (BARS_1S - 1) * BAR_MS

    def _expire(self) -> None:
        oldest_bar = self._oldest_bar()
        for start in [s for s in self._bars if s < oldest_bar]:
            del self._bars[start]
