"""Grid trading, long-only spot: buy as the price steps down through levels, sell each lot one step up.

Levels are geometric around a centre: L_k = centre * (1 + spacing_bps / 10^4)^k for k = -levels..-1 (buy
levels). The centre is `center_price`, or the first price seen for the pair when that is 0. A buy at L_k
is marked filled; once the price reaches L_{k+1} (one spacing above) the lot is sold and the level is free
again. One intent per snapshot: sells first (lowest filled level), then the highest unfilled buy level at
or above the price. No buys outside [lower_bound_price, upper_bound_price] (0 = unbounded); sells always.

The fill state is optimistic (an emitted intent counts as filled); `release(pair, level)` undoes a level
whose order risk refused or that failed, and `state_dict`/`load_state` persist it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.online import Prediction
from models.strategies.base import ConfiguredStrategy, StrategyParams, finite, require
from models.strategy import Intent
from streams.records import PoolState


@dataclass(frozen=True)
class GridParams(StrategyParams):
    levels: int = 5  # buy levels below the centre
    spacing_bps: float = 50.0
    center_price: float = 0.0  # 0: the first price seen
    lower_bound_price: float = 0.0  # 0: no bound
    upper_bound_price: float = 0.0
    confidence: float = 0.6

    def __post_init__(self) -> None:
        require(isinstance(self.levels, int) and 1 <= self.levels <= 100, "levels must be in [1, 100]")
        require(finite(self.spacing_bps) and 0.0 < self.spacing_bps < 5_000.0, "spacing_bps in (0, 5000)")
        require(finite(self.center_price) and self.center_price >= 0.0, "center_price must be >= 0")
        require(
            finite(self.lower_bound_price, self.upper_bound_price)
            and self.lower_bound_price >= 0.0
            and self.upper_bound_price >= 0.0,
            "bounds must be >= 0",
        )
        require(
            self.upper_bound_price == 0.0 or self.upper_bound_price > self.lower_bound_price,
            "upper_bound_price must exceed lower_bound_price",
        )
        require(finite(self.confidence) and 0.5 < self.confidence <= 1.0, "confidence in (0.5, 1]")


@dataclass
class _PairGrid:
    center: float
    filled: set[int]  # negative level indices bought and not yet sold


class GridStrategy(ConfiguredStrategy[GridParams]):
    name = "grid"
    params_type = GridParams

    def __init__(
        self, params: GridParams | None = None, pair_params: Mapping[str, GridParams] | None = None
    ) -> None:
        super().__init__(params, pair_params)
        self._grids: dict[str, _PairGrid] = {}
        self.last_level: dict[str, int] = {}  # pair -> level of the last intent (for `release`)

    @staticmethod
    def level_price(center: float, spacing_bps: float, k: int) -> float:
        return center * (1.0 + spacing_bps / 10_000.0) ** k

    def filled_levels(self, pair: str) -> list[int]:
        grid = self._grids.get(pair)
        return sorted(grid.filled) if grid else []

    def release(self, pair: str, level: int) -> None:
        """Mark `level` unfilled again (its buy was refused or failed)."""
        grid = self._grids.get(pair)
        if grid is not None:
            grid.filled.discard(level)

    def state_dict(self) -> dict[str, Any]:
        return {pair: {"center": g.center, "filled": sorted(g.filled)} for pair, g in self._grids.items()}

    def load_state(self, state: dict[str, Any]) -> None:
        self._grids = {
            pair: _PairGrid(float(g["center"]), {int(k) for k in g["filled"]}) for pair, g in state.items()
        }

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
        if not (finite(price) and price > 0.0):
            return None
        p: GridParams = self.params_for(pair)
        grid = self._grids.get(pair)
        if grid is None:
            grid = self._grids[pair] = _PairGrid(p.center_price or price, set())
        step = math.log1p(p.spacing_bps / 10_000.0)
        for k in sorted(grid.filled):
            if price >= self.level_price(grid.center, p.spacing_bps, k + 1):
                grid.filled.discard(k)
                self.last_level[pair] = k
                return Intent(pair, -1, p.confidence, -step, self.name)
        if p.lower_bound_price and price < p.lower_bound_price:
            return None
        if p.upper_bound_price and price > p.upper_bound_price:
            return None
        for k in range(-1, -p.levels - 1, -1):
            if price > self.level_price(grid.center, p.spacing_bps, k):
                break
            if k not in grid.filled:
                # the highest unfilled level at or above the price: fill levels one at a time going down
                grid.filled.add(k)
                self.last_level[pair] = k
                return Intent(pair, 1, p.confidence, step, self.name)
        return None
