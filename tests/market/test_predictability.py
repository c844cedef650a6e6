"""The market has a learnable edge, and the random-walk mode has none.

The proxy is what a feature job can compute from raw.swaps alone: buys minus sells on a pair over the
last 3 s. The target is the sign of the next 10 s log return of the pair's mid (mean log price of its
pools' last trades), or of the hidden fair price. Samples are taken every second of event time.
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np
import pytest

from market.simulator import MarketSimulator
from streams.records import Swap

LOOKBACK_S = 3.0
HORIZON_S = 10
EVENTS = 90_000  # at 60 events/s: 25 min of event time, ~4,400 scored samples over 3 pairs


def hit_rates(sim: MarketSimulator) -> tuple[float, float]:
    """(accuracy on the pools' mid, accuracy on the fair price) of sign(proxy) for the next return."""
    last: dict[tuple[str, str], float] = {}
    trades: dict[str, deque[tuple[float, int]]] = {p: deque() for p in sim.pairs}
    samples: dict[str, list[tuple[int, float, float]]] = {p: [] for p in sim.pairs}
    next_s = 10.0
    for e in itertools.islice(sim.events(), EVENTS):
        t = (e.ts_ms - sim.start_ms) / 1000
        while t >= next_s:
            for pair in sim.pairs:
                q = trades[pair]
                while q and q[0][0] < next_s - LOOKBACK_S:
                    q.popleft()
                mids = [v for (p, _), v in last.items() if p == pair]
                fair = math.log(sim.fair_price(pair))
                samples[pair].append((sum(s for _, s in q), sum(mids) / len(mids), fair))
            next_s += 1.0
        last[(e.pair, e.venue)] = math.log(e.quote_reserve / e.base_reserve)
        trades[e.pair].append((t, 1 if e.side == "buy" else -1))
    hits = fair_hits = total = 0
    for s in samples.values():
        for now, later in zip(s, s[HORIZON_S:], strict=False):
            if now[0] == 0 or later[1] == now[1]:
                continue
            total += 1
            hits += (later[1] > now[1]) == (now[0] > 0)
            fair_hits += (later[2] > now[2]) == (now[0] > 0)
    assert total > 3_000
    return hits / total, fair_hits / total


def test_recent_net_buying_predicts_the_next_move() -> None:
    sim = MarketSimulator(seed=2, start_ms=0, rate_eps=60.0, launches=False)
    pool_acc, fair_acc = hit_rates(sim)
    # observed: seed 2 pools 0.673, fair 0.643; seed 3 pools 0.656, fair 0.633
    assert pool_acc > 0.60
    assert fair_acc > 0.58


def test_random_walk_mode_is_unpredictable() -> None:
    sim = MarketSimulator(seed=2, start_ms=0, rate_eps=60.0, launches=False, random_walk=True)
    pool_acc, fair_acc = hit_rates(sim)
    # observed: seed 2 pools 0.523, fair 0.503; seed 3 pools 0.500, fair 0.513. The pools keep a sliver
    # of predictability that is no edge: a pool lags the fair price by up to its fee, and catches up by
    # less than a fee.
    assert abs(fair_acc - 0.5) < 0.03
    assert abs(pool_acc - 0.5) < 0.05


def _launch_drift(random_walk: bool) -> tuple[float, float, int]:
    """t-statistics of the mean log price change per launch trade (after each dev buy): over a coin's
    whole life and over its first 40 s; and the number of trades."""
    sim = MarketSimulator(seed=4, start_ms=0, rate_eps=300.0, random_walk=random_walk)
    last: dict[str, float] = {}
    born: dict[str, int] = {}
    moves: list[float] = []
    early: list[float] = []
    for event, _ in zip(sim.events(), range(120_000), strict=False):
        if not isinstance(event, Swap) or event.venue != "pumpfun":
            continue
        price = event.quote_reserve / event.base_reserve
        if event.pool in last:
            moves.append(math.log(price / last[event.pool]))
            if event.ts_ms - born[event.pool] < 40_000:
                early.append(moves[-1])
        else:
            born[event.pool] = event.ts_ms
        last[event.pool] = price

    def t(x: list[float]) -> float:
        a = np.asarray(x)
        return float(a.mean() / (a.std() / math.sqrt(len(a))))

    return t(moves), t(early), len(moves)


@pytest.mark.slow
def test_random_walk_launches_have_no_predictable_drift() -> None:
    # observed (seed 4, 120,000 events): random walk t = 1.9 whole life, 1.3 first 40 s (761 trades);
    # documented t = 4.7 and 5.5 (918 trades): hype buying early on, rugs at drawn ages
    t_all, t_early, n = _launch_drift(random_walk=True)
    assert n > 500
    assert abs(t_all) < 3.0 and abs(t_early) < 3.0
    doc_all, doc_early, _ = _launch_drift(random_walk=False)
    assert doc_early > 3.0 and doc_all > 3.0
