import math

import pytest

from models.online import Prediction
from models.strategy import Intent, MLSignalStrategy, Strategy

COST_60_BPS = -math.log1p(-0.006)  # ~60.2e-4: the log return a 60 bps round trip eats


def decide(strategy: MLSignalStrategy, prediction: Prediction | None) -> Intent | None:
    return strategy.on_features("SOL/USDC", 1_000, 150.0, {"ofi_10s": 1.0}, prediction)


def test_confident_agreeing_profitable_prediction_buys() -> None:
    intent = decide(MLSignalStrategy(), Prediction(p_up=0.7, expected_return=0.01, ready=True))
    assert intent == Intent(
        pair="SOL/USDC", direction=1, confidence=0.7, expected_return=0.01, strategy="ml_signal"
    )


def test_confident_down_prediction_sells() -> None:
    intent = decide(MLSignalStrategy(), Prediction(p_up=0.2, expected_return=-0.01, ready=True))
    assert intent is not None
    assert intent.direction == -1
    assert intent.confidence == pytest.approx(0.8)


def test_no_prediction_or_not_ready_means_no_intent() -> None:
    strategy = MLSignalStrategy()
    assert decide(strategy, None) is None
    assert decide(strategy, Prediction(p_up=0.9, expected_return=0.05, ready=False)) is None


def test_confidence_threshold_is_inclusive() -> None:
    strategy = MLSignalStrategy(min_confidence=0.6)
    assert decide(strategy, Prediction(p_up=0.59, expected_return=0.01, ready=True)) is None
    assert decide(strategy, Prediction(p_up=0.41, expected_return=-0.01, ready=True)) is None
    assert decide(strategy, Prediction(p_up=0.6, expected_return=0.01, ready=True)) is not None


def test_direction_and_expected_return_must_agree() -> None:
    strategy = MLSignalStrategy()
    assert decide(strategy, Prediction(p_up=0.8, expected_return=-0.01, ready=True)) is None
    assert decide(strategy, Prediction(p_up=0.2, expected_return=0.01, ready=True)) is None
    assert decide(strategy, Prediction(p_up=0.8, expected_return=0.0, ready=True)) is None


def test_expected_return_must_beat_round_trip_cost() -> None:
    strategy = MLSignalStrategy(cost_bps=60.0)
    assert strategy.min_abs_return == pytest.approx(COST_60_BPS)
    assert decide(strategy, Prediction(p_up=0.8, expected_return=0.0060, ready=True)) is None  # < cost
    assert decide(strategy, Prediction(p_up=0.8, expected_return=COST_60_BPS, ready=True)) is None
    assert decide(strategy, Prediction(p_up=0.8, expected_return=0.0061, ready=True)) is not None
    assert decide(strategy, Prediction(p_up=0.2, expected_return=-0.0060, ready=True)) is None
    assert decide(strategy, Prediction(p_up=0.2, expected_return=-0.0061, ready=True)) is not None
    free = MLSignalStrategy(cost_bps=0.0)
    assert decide(free, Prediction(p_up=0.8, expected_return=1e-9, ready=True)) is not None


def test_coin_flip_and_non_finite_predictions_are_ignored() -> None:
    strategy = MLSignalStrategy(min_confidence=0.5, cost_bps=0.0)
    assert decide(strategy, Prediction(p_up=0.5, expected_return=0.01, ready=True)) is None
    assert decide(strategy, Prediction(p_up=math.nan, expected_return=0.01, ready=True)) is None
    assert decide(strategy, Prediction(p_up=0.9, expected_return=math.inf, ready=True)) is None


def test_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        MLSignalStrategy(min_confidence=0.4)
    with pytest.raises(ValueError):
        MLSignalStrategy(cost_bps=-1.0)
    with pytest.raises(ValueError):
        MLSignalStrategy(cost_bps=10_000.0)


def test_satisfies_the_strategy_protocol() -> None:
    strategy: Strategy = MLSignalStrategy(name="ml_v1")
    assert strategy.name == "ml_v1"
