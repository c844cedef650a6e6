"""Trend following: trade a short return that agrees with the longer trend and stands out of the noise.

The short return is measured against its own noise: over `fast_window_s` a random walk with per-second
volatility `vol_10s` moves by about vol * sqrt(window), so z = ret_10s / (vol_10s * sqrt(10)) is how many
standard deviations the move is. Buy when z >= `entry_z` and ret_60s > 0; sell (go flat) when z <= -entry_z
and ret_60s < 0. Confidence is Phi(|z| - entry_z) mapped into [0.5, `max_confidence`]: a heuristic, not a
calibrated probability; the expected return assumes `carry_ratio` of the short move continues.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from models.online import Prediction
from models.strategies.base import ConfiguredStrategy, StrategyParams, finite, require
from models.strategy import Intent
from streams.records import PoolState

FAST_WINDOW_S = 10.0  # ret_10s / vol_10s


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass(frozen=True)
class TrendParams(StrategyParams):
    entry_z: float = 2.0  # |ret_10s| in standard deviations of a 10 s random-walk move
    min_vol_per_sqrt_s: float = 1e-6  # below this the market is too quiet to scale anything by
    carry_ratio: float = 0.5  # share of the 10 s move expected to continue over the horizon
    max_confidence: float = 0.75

    def __post_init__(self) -> None:
        require(finite(self.entry_z) and self.entry_z > 0.0, "entry_z must be > 0")
        require(finite(self.min_vol_per_sqrt_s) and self.min_vol_per_sqrt_s > 0.0, "min_vol must be > 0")
        require(finite(self.carry_ratio) and 0.0 < self.carry_ratio <= 1.0, "carry_ratio must be in (0, 1]")
        require(
            finite(self.max_confidence) and 0.5 < self.max_confidence <= 1.0, "max_confidence in (0.5, 1]"
        )


class TrendFollowingStrategy(ConfiguredStrategy[TrendParams]):
    name = "trend"
    params_type = TrendParams

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
        fast, slow, vol = (
            features.get("ret_10s", 0.0),
            features.get("ret_60s", 0.0),
            features.get("vol_10s", 0.0),
        )
        if not finite(fast, slow, vol) or vol < p.min_vol_per_sqrt_s:
            return None
        z = fast / (vol * math.sqrt(FAST_WINDOW_S))
        if z >= p.entry_z and slow > 0.0:
            direction = 1
        elif z <= -p.entry_z and slow < 0.0:
            direction = -1
        else:
            return None
        confidence = 0.5 + (p.max_confidence - 0.5) * (2.0 * normal_cdf(abs(z) - p.entry_z) - 1.0)
        return Intent(
            pair=pair,
            direction=direction,
            confidence=confidence,
            expected_return=p.carry_ratio * fast,
            strategy=self.name,
        )
