"""Strategies turn a pair's features (and the model's prediction, if any) into trade intents.

An intent is a wish, not an order: risk sizes it, prices it against a pool and may refuse it. Strategies
are pure functions of their inputs and their own state, so a replay decides the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from models.online import Prediction

if TYPE_CHECKING:
    from streams.records import PoolState


@dataclass(frozen=True)
class Intent:
    """A strategy's wish to be long (+1, buy) or flat (-1, sell) in `pair`.

    `confidence` is the probability that `direction` is right; `expected_return` is the log return over
    the model's label horizon.
    """

    pair: str
    direction: int
    confidence: float
    expected_return: float
    strategy: str


class Strategy(Protocol):
    """What every strategy offers the decision agent.

    `pools` (keyword, optional) are the snapshot's pool states; strategies that price trades against the
    pools (arbitrage) need them, the others ignore them, so callers that do not pass them keep working.
    """

    name: str

    def on_features(
        self,
        pair: str,
        ts_ms: int,
        price: float,
        features: dict[str, float],
        prediction: Prediction | None,
        *,
        pools: Sequence[PoolState] = (),
    ) -> Intent | None: ...


class MLSignalStrategy:
    """Trade the online model's prediction only when it is confident, consistent and worth the costs.

    Four gates, all required, so that the strategy does not churn on noise:
    1. the prediction is `ready` (the model is past its warm-up) and finite;
    2. confidence max(p_up, 1 - p_up) >= `min_confidence`;
    3. the classifier and the regressor agree: p_up > 0.5 with expected_return > 0, or p_up < 0.5 with
       expected_return < 0 (two models disagreeing is a sign neither has found anything);
    4. |expected_return| exceeds the round trip's cost. `cost_bps` is the fraction of notional lost to two
       swaps' fees and impact; a position worth exp(r) after costs c is profitable only if
       r > -log(1 - c), slightly more than c itself.
    """

    def __init__(self, min_confidence: float = 0.55, cost_bps: float = 60.0, name: str = "ml_signal") -> None:
        if not 0.5 <= min_confidence <= 1.0:
            raise ValueError("min_confidence must be in [0.5, 1]")
        if not 0.0 <= cost_bps < 10_000.0:
            raise ValueError("cost_bps must be in [0, 10000)")
        self.min_confidence = min_confidence
        self.cost_bps = cost_bps
        self.name = name
        self._min_abs_return = -math.log1p(-cost_bps / 10_000.0)

    @property
    def min_abs_return(self) -> float:
        """The smallest |expected log return| that pays for a round trip."""
        return self._min_abs_return

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
        if prediction is None or not prediction.ready:
            return None
        p_up, er = prediction.p_up, prediction.expected_return
        if not (math.isfinite(p_up) and math.isfinite(er)) or p_up == 0.5:
            return None
        direction = 1 if p_up > 0.5 else -1
        confidence = max(p_up, 1.0 - p_up)
        if confidence < self.min_confidence:
            return None
        if direction * er <= 0.0:
            return None
        if abs(er) <= self._min_abs_return:
            return None
        return Intent(
            pair=pair, direction=direction, confidence=confidence, expected_return=er, strategy=self.name
        )
