"""The capital-allocation bandit: rewards, learning the better strategy, context, determinism."""

from __future__ import annotations

import math
import random

import pytest

from core.errors import ConfigError
from models.allocation import AllocatorParams, StrategyAllocator, sharpe_reward
from streams.records import Allocation

CYCLE = 60_000


def test_sharpe_reward_on_hand_computed_returns() -> None:
    # mean 0.002, sample std 0.001 (returns 0.001, 0.002, 0.003), n = 3: 2 * sqrt(3) = 3.4641, clipped to 3
    assert sharpe_reward([0.001, 0.002, 0.003], 1e-4, 3.0) == 3.0
    assert sharpe_reward([0.001, 0.002, 0.003], 1e-4, 10.0) == pytest.approx(2.0 * math.sqrt(3.0))
    assert sharpe_reward([0.0005], 1e-3, 3.0) == pytest.approx(0.5)  # one return: the std floor
    assert sharpe_reward([], 1e-4, 3.0) == 0.0


def feed(
    allocator: StrategyAllocator,
    cycles: int,
    mean: dict[str, float],
    seed: int,
    vol_of: dict[int, float] | None = None,
) -> list[Allocation]:
    rng = random.Random(seed)
    out: list[Allocation] = []
    for c in range(cycles):
        vol = (vol_of or {}).get(c, 0.0)
        for i in range(20):
            ts = c * CYCLE + i * 1_000
            got = allocator.on_time(ts, {"vol": vol})
            if got is not None:
                out.append(got)
            for name, m in mean.items():
                allocator.record(name, ts, rng.gauss(m, 0.002))
    final = allocator.on_time(cycles * CYCLE, {"vol": 0.0})
    if final is not None:
        out.append(final)
    return out


def test_the_bandit_shifts_capital_to_the_better_strategy() -> None:
    allocator = StrategyAllocator(
        ["good", "bad", "flat"], AllocatorParams(cycle_ms=CYCLE, floor=0.05), seed=1
    )
    assert allocator.weights == pytest.approx({"good": 1 / 3, "bad": 1 / 3, "flat": 1 / 3})
    history = feed(allocator, 8, {"good": 0.001, "bad": -0.001, "flat": 0.0}, seed=2)
    assert len(history) == 8
    last = history[-1]
    assert last.weights["good"] > 0.8
    assert last.weights["bad"] == pytest.approx(0.05)  # the exploration floor
    assert sum(last.weights.values()) == pytest.approx(1.0)
    assert last.trades == {"good": 20, "bad": 20, "flat": 20}
    assert last.rewards["good"] > 0 > last.rewards["bad"]
    assert last.id == f"alloc:main:{8 * CYCLE}" and last.policy == "linear-thompson"


def test_the_bandit_is_deterministic_under_a_seed() -> None:
    runs = []
    for _ in range(2):
        allocator = StrategyAllocator(["a", "b"], AllocatorParams(cycle_ms=CYCLE), seed=5)
        runs.append([h.weights for h in feed(allocator, 5, {"a": 0.0002, "b": 0.0}, seed=3)])
    assert runs[0] == runs[1]


def test_the_context_decides_which_strategy_gets_the_capital() -> None:
    # "trend" pays in volatile cycles, "revert" in calm ones; cycles alternate
    params = AllocatorParams(cycle_ms=CYCLE, floor=0.05, discount=1.0)
    allocator = StrategyAllocator(["trend", "revert"], params, seed=1, context_keys=["vol"])
    rng = random.Random(4)
    for c in range(16):
        vol = float(c % 2)
        for i in range(20):
            ts = c * CYCLE + i * 1_000
            allocator.on_time(ts, {"vol": vol})
            allocator.record("trend", ts, rng.gauss(0.001 if vol else -0.001, 0.002))
            allocator.record("revert", ts, rng.gauss(-0.001 if vol else 0.001, 0.002))
    means_volatile = allocator.posterior_means({"vol": 1.0})
    means_calm = allocator.posterior_means({"vol": 0.0})
    assert means_volatile["trend"] > means_volatile["revert"]
    assert means_calm["revert"] > means_calm["trend"]
    at_volatile = allocator.on_time(16 * CYCLE, {"vol": 1.0})
    assert at_volatile is not None and at_volatile.weights["trend"] > 0.8


def test_allocator_validates_its_configuration() -> None:
    with pytest.raises(ConfigError):
        StrategyAllocator([])
    with pytest.raises(ConfigError, match="exceeds budget"):
        StrategyAllocator(["a", "b", "c"], AllocatorParams(floor=0.4))
    with pytest.raises(ConfigError):
        AllocatorParams(budget=1.5)
    with pytest.raises(ConfigError, match="unknown strategy"):
        StrategyAllocator(["a"]).record("b", 0, 0.1)
