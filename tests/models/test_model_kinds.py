"""Linear vs tree models: what each can learn and what each costs per snapshot; the evaluation script."""

from __future__ import annotations

import math
import random
import time

import pytest

from features.maths import FEATURE_NAMES
from models.evaluate import evaluate, main
from models.online import DelayedLabeler, ModelKind, OnlineModel


def run_rule(kind: ModelKind, n: int = 2_500) -> dict[str, float]:
    """Up iff |s| > 1: a threshold on a magnitude, which no linear boundary in s can draw."""
    rng = random.Random(11)
    labeler = DelayedLabeler(OnlineModel(warmup=100, kind=kind), label_horizon_ms=1_000)
    price = 100.0
    for i in range(n):
        s = rng.gauss(0.0, 1.0)
        labeler.on_snapshot(i * 1_000, price, {"s": s})
        r = (0.001 if abs(s) > 1.0 else -0.001) + rng.gauss(0.0, 0.0003)
        price *= math.exp(r)
    return labeler.metrics()


def test_the_tree_learns_a_threshold_the_linear_model_cannot() -> None:
    linear, tree = run_rule("linear"), run_rule("tree")
    assert tree["accuracy"] > 0.85
    assert linear["accuracy"] < 0.75  # ~ the share of down labels, 0.68
    assert tree["log_loss"] < linear["log_loss"]


def cost_us(kind: ModelKind, n: int = 600) -> float:
    rng = random.Random(2)
    labeler = DelayedLabeler(OnlineModel(warmup=10, kind=kind), label_horizon_ms=2_000)
    total = 0
    price = 100.0
    for i in range(n):
        x = {name: rng.gauss(0.0, 1.0) for name in FEATURE_NAMES}
        t0 = time.perf_counter_ns()
        labeler.on_snapshot(i * 500, price, x)
        total += time.perf_counter_ns() - t0
        price *= math.exp(rng.gauss(0.0, 0.001))
    return total / n / 1_000.0


def test_tree_costs_more_per_snapshot_than_linear() -> None:
    linear, tree = cost_us("linear"), cost_us("tree")
    print(f"µs per snapshot, 19 features, predict + learn: linear {linear:.0f}, tree {tree:.0f}")
    assert 0.0 < linear < tree


def test_fresh_keeps_the_hyperparameters_and_forgets_the_learning() -> None:
    model = OnlineModel(warmup=7, kind="tree", tree_grace_period=30, tree_shrink=0.5, seed=3)
    model.learn_one({"a": 1.0}, 0.01)
    again = model.fresh()
    assert (again.kind, again.warmup, again.tree_grace_period, again.tree_shrink, again.seed) == (
        "tree",
        7,
        30,
        0.5,
        3,
    )
    assert again.n_learned == 0
    with pytest.raises(ValueError):
        OnlineModel(kind="forest")  # type: ignore[arg-type]


def test_evaluate_runs_the_market_through_models_strategies_and_bandit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = evaluate(seed=1, minutes=0.5, kinds=("linear",), cycle_s=8.0, warmup=10, horizon_ms=2_000)
    assert set(result.models) == {"SOL/USDC", "JUP/USDC", "BONK/SOL"}
    for by_kind in result.models.values():
        assert by_kind["linear"]["n"] > 0 and math.isfinite(by_kind["linear"]["log_loss"])
    assert len(result.allocations) >= 3
    for allocation in result.allocations:
        assert sum(allocation.weights.values()) == pytest.approx(1.0)
    assert result.cost_us["linear"] > 0
    again = evaluate(seed=1, minutes=0.5, kinds=("linear",), cycle_s=8.0, warmup=10, horizon_ms=2_000)
    assert [a.weights for a in again.allocations] == [a.weights for a in result.allocations]
    assert main(["--single", "--seed", "2", "--minutes", "0.2", "--random-walk", "--cycle-s", "5"]) == 0
    out = capsys.readouterr().out
    assert "progressive validation" in out and "bandit allocations" in out and "random_walk=True" in out
