"""The strategy registry: every strategy by name, built from serialisable parameters.

`build(name, params, pair_params)` takes plain dicts (as the API stores them) or parameter objects;
`from_dict(strategy.to_dict())` rebuilds an equal strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import ConfigError
from models.strategies.arbitrage import ArbitrageIntent, ArbitrageParams, ArbitrageStrategy
from models.strategies.base import ConfiguredStrategy, StrategyParams
from models.strategies.grid import GridParams, GridStrategy
from models.strategies.mean_reversion import MeanReversionParams, MeanReversionStrategy
from models.strategies.ml_signal import MLSignal, MLSignalParams
from models.strategies.pump_launch import PumpLaunchParams, PumpLaunchStrategy
from models.strategies.trend import TrendFollowingStrategy, TrendParams

STRATEGIES: dict[str, type[ConfiguredStrategy[Any]]] = {
    cls.name: cls
    for cls in (
        TrendFollowingStrategy,
        MeanReversionStrategy,
        GridStrategy,
        ArbitrageStrategy,
        PumpLaunchStrategy,
        MLSignal,
    )
}


def _params(
    cls: type[ConfiguredStrategy[Any]], value: StrategyParams | Mapping[str, Any] | None
) -> StrategyParams:
    if value is None:
        return cls.params_type()
    if isinstance(value, StrategyParams):
        return value
    return cls.params_type.from_dict(value)


def build(
    name: str,
    params: StrategyParams | Mapping[str, Any] | None = None,
    pair_params: Mapping[str, StrategyParams | Mapping[str, Any]] | None = None,
) -> ConfiguredStrategy[Any]:
    """The strategy `name` with default `params` and per-pair overrides; `ConfigError` if anything is off."""
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ConfigError(f"unknown strategy {name!r}; known: {sorted(STRATEGIES)}")
    overrides = {pair: _params(cls, p) for pair, p in (pair_params or {}).items()}
    return cls(_params(cls, params), overrides)


def from_dict(data: Mapping[str, Any]) -> ConfiguredStrategy[Any]:
    """Inverse of `ConfiguredStrategy.to_dict`."""
    return build(str(data["name"]), data.get("params"), data.get("pair_params"))


__all__ = [
    "STRATEGIES",
    "ArbitrageIntent",
    "ArbitrageParams",
    "ArbitrageStrategy",
    "GridParams",
    "GridStrategy",
    "MLSignal",
    "MLSignalParams",
    "MeanReversionParams",
    "MeanReversionStrategy",
    "PumpLaunchParams",
    "PumpLaunchStrategy",
    "TrendFollowingStrategy",
    "TrendParams",
    "build",
    "from_dict",
]
