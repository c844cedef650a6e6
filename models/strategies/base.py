"""What the strategies share: validated, serialisable parameters with per-pair overrides.

Parameters are frozen dataclasses whose field names carry their units (`_bps`, `_ms`, `_quote`, `_sol`, ...),
checked in `__post_init__`, so a bad value fails when it is configured rather than mid-trade, and
`to_dict`/`from_dict` round-trip them through JSON for the API to persist.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from core.errors import ConfigError

if TYPE_CHECKING:
    from models.online import Prediction
    from models.strategy import Intent
    from streams.records import PoolState


@dataclasses.dataclass(frozen=True)
class StrategyParams:
    """Base of every strategy's parameters."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a dict; unknown keys are an error (a typo must not silently keep a default)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown parameter(s) {unknown}; known: {sorted(names)}")
        return cls(**dict(data))


def require(ok: bool, message: str) -> None:
    """Raise `ConfigError(message)` unless `ok` (parameter validation)."""
    if not ok:
        raise ConfigError(message)


def finite(*values: float) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


P = TypeVar("P", bound=StrategyParams)


class ConfiguredStrategy(Generic[P]):
    """Default parameters plus per-pair overrides; subclasses set `name` and `params_type`."""

    name: str = ""
    params_type: ClassVar[type[StrategyParams]]

    def __init__(self, params: P | None = None, pair_params: Mapping[str, P] | None = None) -> None:
        default = params if params is not None else self.params_type()
        if not isinstance(default, self.params_type):
            raise ConfigError(f"{type(self).__name__} takes {self.params_type.__name__}, got {type(default)}")
        for pair, p in (pair_params or {}).items():
            if not isinstance(p, self.params_type):
                raise ConfigError(
                    f"{type(self).__name__}: parameters for {pair!r} are not {self.params_type}"
                )
        self.params: P = default  # type: ignore[assignment]
        self.pair_params: dict[str, P] = dict(pair_params or {})

    def params_for(self, pair: str) -> P:
        return self.pair_params.get(pair, self.params)

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
        """The `Strategy` protocol; every registered strategy overrides it."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.params.to_dict(),
            "pair_params": {pair: p.to_dict() for pair, p in sorted(self.pair_params.items())},
        }
