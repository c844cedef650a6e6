"""The online model's signal (`models.strategy.MLSignalStrategy`) behind the registry's parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from models.online import Prediction
from models.strategies.base import ConfiguredStrategy, StrategyParams, finite, require
from models.strategy import Intent, MLSignalStrategy
from streams.records import PoolState


@dataclass(frozen=True)
class MLSignalParams(StrategyParams):
    min_confidence: float = 0.55
    cost_bps: float = 60.0  # round trip: two swaps' fees and impact

    def __post_init__(self) -> None:
        require(
            finite(self.min_confidence) and 0.5 <= self.min_confidence <= 1.0, "min_confidence in [0.5, 1]"
        )
        require(finite(self.cost_bps) and 0.0 <= self.cost_bps < 10_000.0, "cost_bps in [0, 10000)")


class MLSignal(ConfiguredStrategy[MLSignalParams]):
    name = "ml_signal"
    params_type = MLSignalParams

    def __init__(
        self, params: MLSignalParams | None = None, pair_params: Mapping[str, MLSignalParams] | None = None
    ) -> None:
        super().__init__(params, pair_params)
        self._default = self._make(self.params)
        self._by_pair = {pair: self._make(p) for pair, p in self.pair_params.items()}

    def _make(self, p: MLSignalParams) -> MLSignalStrategy:
        return MLSignalStrategy(min_confidence=p.min_confidence, cost_bps=p.cost_bps, name=self.name)

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
        return self._by_pair.get(pair, self._default).on_features(pair, ts_ms, price, features, prediction)
