"""Capital allocation across strategies: a contextual Thompson-sampling bandit, re-run every cycle.

Every `cycle_ms` of event time (default 5 minutes) each strategy's attributed returns in the cycle become
one reward, a Sharpe-like ratio: sum(r) / (max(std(r), min_return_std) * sqrt(n)) = mean / std * sqrt(n),
clipped to +-`reward_clip`; a strategy that did not trade earns 0 (idle capital earns nothing). Each
strategy is an arm with a Bayesian linear model of its reward given the cycle's context (an intercept plus
`context_keys`, e.g. the market's volatility): precision A and vector b, discounted by `discount` each
cycle so that old regimes fade. The weights for the next cycle are probability matching: the share of
`n_draws` posterior draws in which each arm has the highest expected reward for the current context,
scaled into [floor, budget] so that no strategy starves (it must keep trading to be re-evaluated).

River 0.26.1's bandits (`EpsilonGreedy`, `UCB`, `ThompsonSampling`, `LinUCBDisjoint`) pull one arm per
step; allocating capital needs a weight for every arm, so this is a small numpy implementation of the same
idea. Draws come from one seeded generator and nothing reads the wall clock: the same rewards and seed
give the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import ConfigError
from streams.records import Allocation

POLICY = "linear-thompson"


@dataclass(frozen=True)
class AllocatorParams:
    cycle_ms: int = 300_000
    floor: float = 0.05  # smallest weight of any strategy
    budget: float = 1.0  # weights sum to this (<= 1: the rest stays in cash)
    discount: float = 0.9  # per cycle, on the arms' evidence
    prior_precision: float = 1.0
    noise_std: float = 1.0  # reward noise assumed by the posterior (rewards are clipped to +-3)
    reward_clip: float = 3.0
    min_return_std: float = 1e-4  # floor of a cycle's return std (one trade has none)
    n_draws: int = 1_000

    def __post_init__(self) -> None:
        if self.cycle_ms < 1:
            raise ConfigError("cycle_ms must be >= 1")
        if not 0.0 < self.budget <= 1.0:
            raise ConfigError("budget must be in (0, 1]")
        if not 0.0 <= self.floor:
            raise ConfigError("floor must be >= 0")
        if not 0.0 < self.discount <= 1.0:
            raise ConfigError("discount must be in (0, 1]")
        if (
            self.prior_precision <= 0
            or self.noise_std <= 0
            or self.reward_clip <= 0
            or self.min_return_std <= 0
        ):
            raise ConfigError("prior_precision, noise_std, reward_clip and min_return_std must be > 0")
        if self.n_draws < 1:
            raise ConfigError("n_draws must be >= 1")


def sharpe_reward(returns: Sequence[float], min_std: float, clip: float) -> float:
    """mean / std * sqrt(n) of one cycle's returns (std floored at `min_std`), clipped; 0 without returns."""
    n = len(returns)
    if n == 0:
        return 0.0
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / (n - 1) if n > 1 else 0.0
    z = mean / max(math.sqrt(var), min_std) * math.sqrt(n)
    return min(max(z, -clip), clip)


@dataclass
class _Arm:
    precision: np.ndarray  # A
    target: np.ndarray  # b
    cycles: int = 0


@dataclass
class _Cycle:
    start_ms: int
    context: np.ndarray
    returns: dict[str, list[float]] = field(default_factory=dict)


class StrategyAllocator:
    """Weights per strategy, updated once per cycle of event time from the strategies' attributed returns.

    Use: `record(strategy, ts_ms, ret)` for each realised return (a fraction of the capital the strategy had),
    `on_time(ts_ms, context)` on every snapshot; it returns an `Allocation` when a cycle closes.
    """

    def __init__(
        self,
        strategies: Sequence[str],
        params: AllocatorParams | None = None,
        *,
        seed: int = 0,
        context_keys: Sequence[str] = (),
        portfolio: str = "main",
        pair: str = "",
    ) -> None:
        names = list(dict.fromkeys(strategies))
        if not names:
            raise ConfigError("the allocator needs at least one strategy")
        self.params = params if params is not None else AllocatorParams()
        if self.params.floor * len(names) > self.params.budget:
            raise ConfigError(f"floor {self.params.floor} x {len(names)} strategies exceeds budget")
        self.strategies = names
        self.context_keys = tuple(context_keys)
        self.portfolio = portfolio
        self.pair = pair  # the pair whose capital it splits; "" for one bandit over a whole market
        dim = 1 + len(self.context_keys)
        lam = self.params.prior_precision
        self._arms = {s: _Arm(lam * np.eye(dim), np.zeros(dim)) for s in names}
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._cycle: _Cycle | None = None
        self.weights: dict[str, float] = {s: self.params.budget / len(names) for s in names}
        self.history: list[Allocation] = []

    def _vector(self, context: Mapping[str, float] | None) -> np.ndarray:
        values = [1.0]
        for key in self.context_keys:
            v = float((context or {}).get(key, 0.0))
            values.append(v if math.isfinite(v) else 0.0)
        return np.array(values)

    def record(self, strategy: str, ts_ms: int, ret: float) -> None:
        """Attribute one realised return to `strategy` in the cycle that contains `ts_ms`."""
        if strategy not in self._arms:
            raise ConfigError(f"unknown strategy {strategy!r}; allocating across {self.strategies}")
        if not math.isfinite(ret) or self._cycle is None:
            return
        self._cycle.returns.setdefault(strategy, []).append(ret)

    def on_time(self, ts_ms: int, context: Mapping[str, float] | None = None) -> Allocation | None:
        """Advance event time; at a cycle boundary learn the closed cycle's rewards and re-allocate."""
        cycle_ms = self.params.cycle_ms
        start = ts_ms - ts_ms % cycle_ms
        if self._cycle is None:
            self._cycle = _Cycle(start, self._vector(context))
            return None
        if ts_ms < self._cycle.start_ms + cycle_ms:
            return None
        closed = self._cycle
        rewards: dict[str, float] = {}
        for name, arm in self._arms.items():
            r = sharpe_reward(
                closed.returns.get(name, []), self.params.min_return_std, self.params.reward_clip
            )
            rewards[name] = r
            self._learn(arm, closed.context, r)
        now = self._vector(context)
        self._cycle = _Cycle(start, now)
        self.weights = self._allocate(now)
        allocation = Allocation(
            id=f"alloc:{self.portfolio}:{self.pair}:{start}"
            if self.pair
            else f"alloc:{self.portfolio}:{start}",
            portfolio=self.portfolio,
            pair=self.pair,
            ts_ms=start,
            cycle_ms=cycle_ms,
            weights=dict(self.weights),
            rewards=rewards,
            trades={s: len(closed.returns.get(s, [])) for s in self.strategies},
            policy=POLICY,
        )
        self.history.append(allocation)
        return allocation

    def _learn(self, arm: _Arm, x: np.ndarray, reward: float) -> None:
        p, gamma = self.params, self.params.discount
        dim = len(x)
        # discount old evidence towards the prior, then add this cycle's
        arm.precision = (
            gamma * arm.precision + (1.0 - gamma) * p.prior_precision * np.eye(dim) + np.outer(x, x)
        )
        arm.target = gamma * arm.target + reward * x
        arm.cycles += 1

    def posterior_means(self, context: Mapping[str, float] | None = None) -> dict[str, float]:
        """Each arm's expected reward for `context` (the posterior mean), for status views and tests."""
        x = self._vector(context)
        return {s: float(x @ np.linalg.solve(a.precision, a.target)) for s, a in self._arms.items()}

    def _allocate(self, x: np.ndarray) -> dict[str, float]:
        p = self.params
        wins = np.zeros(len(self.strategies))
        scores = np.empty((p.n_draws, len(self.strategies)))
        for j, name in enumerate(self.strategies):
            arm = self._arms[name]
            cov = p.noise_std**2 * np.linalg.inv(arm.precision)
            mean = np.linalg.solve(arm.precision, arm.target)
            theta = self._rng.multivariate_normal(mean, cov, size=p.n_draws, method="cholesky")
            scores[:, j] = theta @ x
        winners = np.argmax(scores, axis=1)
        for w in winners:
            wins[w] += 1
        share = wins / p.n_draws
        spare = p.budget - p.floor * len(self.strategies)
        return {name: float(p.floor + spare * share[j]) for j, name in enumerate(self.strategies)}
