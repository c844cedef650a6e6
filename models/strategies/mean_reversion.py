"""Mean reversion: buy a price stretched below its 60 s VWAP, go flat when it is stretched above.

z = vwap_dist_60s / (vol_60s * sqrt(`window_s`)): the distance from VWAP in standard deviations of a
random-walk move over the window. Buy at z <= -`entry_z`, sell at z >= +`entry_z`. The expected return
assumes `reversion_ratio` of the distance closes over the horizon. This bets against the trend strategy by
design; the allocator decides which one the market is paying.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from models.online import Prediction
from models.strategies.base import ConfiguredStrategy, StrategyParams, finite, require
from models.strategies.trend import normal_cdf
from models.strategy import Intent
from streams.records import PoolState


@dataclass(frozen=True)
class MeanReversionParams(StrategyParams):
    entry_z: float = 1.5
    window_s: float = 60.0  # the VWAP window the distance is measured over (vwap_dist_60s)
    min_vol_per_sqrt_s: float = 1e-6
    reversion_ratio: float = 0.5
    max_confidence: float = 0.7

    def __post_init__(self) -> None:
        require(finite(self.entry_z) and self.entry_z > 0.0, "entry_z must be > 0")
        require(finite(self.window_s) and self.window_s > 0.0, "window_s must be > 0")
        require(finite(self.min_vol_per_sqrt_s) and self.min_vol_per_sqrt_s > 0.0, "min_vol must be > 0")
        require(
            finite(self.reversion_ratio) and 0.0 < self.reversion_ratio <= 1.0, "reversion_ratio in (0, 1]"
        )
        require(
            finite(self.max_confidence) and 0.5 < self.max_confidence <= 1.0, "max_confidence in (0.5, 1]"
        )


class MeanReversionStrategy(ConfiguredStrategy[MeanReversionParams]):
    name = "mean_reversion"
    params_type = MeanReversionParams

    def on_features(
        self,
        pair: str,
        ts_ms: int,
        price: float,
        features: dict[str, float],
        prediction: Prediction | None,
        *,
        pools: Sequence[PoolState] = (),
    ) -> Intent | None:
        p = self.params_for(pair)
        dist, vol = features.get("vwap_dist_60s", 0.0), features.get("vol_60s", 0.0)
        if not finite(dist, vol) or vol < p.min_vol_per_sqrt_s:
            return None
        z = dist / (vol * math.sqrt(p.window_s))
        if z <= -p.entry_z:
            direction = 1
        elif z >= p.entry_z:
            direction = -1
        else:
            return None
        confidence = 0.5 + (p.max_confidence - 0.5) * (2.0 * normal_cdf(abs(z) - p.entry_z) - 1.0)
        return Intent(
            pair=pair,
            direction=direction,
            confidence=confidence,
            expected_return=-p.reversion_ratio * dist,
            strategy=self.name,
        )
