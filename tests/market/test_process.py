"""The fair-price process: deterministic, bounded flow, regimes and clustering only when asked for."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.process import FairPriceProcess, ProcessParams


def returns(seed: int, *, random_walk: bool) -> tuple[np.ndarray, list[float], set[int]]:
    proc = FairPriceProcess(
        price=100.0, rng=np.random.Generator(np.random.PCG64(seed)), random_walk=random_walk
    )
    logs, flows, regimes = [proc.log_price], [], set()
    for k in range(1, 4_001):
        proc.advance(k - 0.5)
        proc.advance(float(k))
        logs.append(proc.log_price)
        flows.append(proc.flow)
        regimes.add(int(proc.regime))
    return np.diff(np.array(logs)), flows, regimes


def test_same_seed_same_path() -> None:
    a = FairPriceProcess(price=1.0, rng=np.random.Generator(np.random.PCG64(5)))
    b = FairPriceProcess(price=1.0, rng=np.random.Generator(np.random.PCG64(5)))
    assert [a.advance(t / 7) for t in range(500)] == [b.advance(t / 7) for t in range(500)]


def test_time_cannot_go_backwards() -> None:
    proc = FairPriceProcess(price=1.0, rng=np.random.Generator(np.random.PCG64(1)))
    proc.advance(2.0)
    with pytest.raises(ValueError, match="backwards"):
        proc.advance(1.0)


def test_flow_stays_bounded_and_regimes_switch() -> None:
    r, flows, regimes = returns(1, random_walk=False)
    assert all(-1.0 <= f <= 1.0 for f in flows)
    assert regimes == {0, 1, 2}
    # volatility clusters: squared returns are autocorrelated
    sq = r**2
    assert np.corrcoef(sq[:-1], sq[1:])[0, 1] > 0.1


def test_random_walk_is_constant_vol_gbm_without_flow() -> None:
    r, flows, regimes = returns(1, random_walk=True)
    assert set(flows) == {0.0} and regimes == {0}
    sq = r**2
    assert abs(np.corrcoef(sq[:-1], sq[1:])[0, 1]) < 0.06
    assert math.sqrt(float(np.mean(sq))) == pytest.approx(ProcessParams().random_walk_sbar, rel=0.05)


def test_unstable_garch_is_refused() -> None:
    with pytest.raises(ValueError, match="stationary"):
        ProcessParams(alpha=0.2, beta=0.9)
