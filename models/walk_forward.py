"""Walk-forward evaluation of the direction model against the forecasts it must beat, with honest errors.

Why: a progressive-validation score on one run, with the learning rate tuned on that run, is in-sample;
labels every `interval_ms` over a `horizon_ms` horizon overlap `horizon_ms / interval_ms` times, so the
labels are far from independent; and the naive running share of up-moves is a weak baseline (always 0.5
beats it). Here:

* **Walk-forward**: each seed's run is cut into `spans` equal spans of event time. The model is learned
  online throughout (test-then-train, as the bot runs it), once per candidate learning rate; for span
  k >= 1 the rate whose log loss was lowest on span k-1 is taken, and only span k's labels score it.
  The momentum baseline's strength is chosen the same way. Span 0 only selects.
* **Baselines**: 0.5 (log loss ln 2 = 0.6931, the bar for any forecaster of a fair coin) and momentum
  (p_up = 0.5 + c * sign of the past horizon's log return, c chosen on the span before).
* **Intervals**: the 95 % interval of the mean log-loss difference (model - baseline) is a moving-block
  bootstrap with blocks of `2 * horizon_ms / interval_ms` labels, drawn within each (seed, pair) series,
  so the overlap's correlation stays inside a block; `n_eff` = labels / overlap is also printed.

A difference is "better" only when the whole interval is below 0.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from features.pair_state import PairFeatureState
from market.simulator import MarketSimulator
from models.online import DIRECTION_FEATURES, OnlineModel
from streams.records import Swap

START_MS = 1_700_000_000_000
LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)
MOMENTUM_GRID = (0.0, 0.02, 0.05, 0.1, 0.2)
P_CLIP = 1e-6
LN2 = math.log(2.0)


@dataclass(frozen=True, slots=True)
class Snapshot:
    pair: str
    ts_ms: int
    price: float
    features: dict[str, float]


def snapshots(
    seed: int, minutes: float, *, random_walk: bool, rate_eps: float, interval_ms: int
) -> list[Snapshot]:
    """The majors' feature snapshots of one simulated run, every `interval_ms` of event time."""
    sim = MarketSimulator(seed=seed, rate_eps=rate_eps, random_walk=random_walk, start_ms=START_MS)
    majors = set(sim.pairs)
    states = {pair: PairFeatureState(pair) for pair in sorted(majors)}
    end_ms = START_MS + int(minutes * 60_000)
    next_snap = START_MS + interval_ms
    out: list[Snapshot] = []
    for event in sim.events():
        if event.ts_ms >= end_ms:
            break
        while next_snap <= event.ts_ms:
            for pair, state in states.items():
                if state.max_ts_ms is None:
                    continue
                price = state.inputs(next_snap)[0]
                if price > 0.0:
                    out.append(Snapshot(pair, next_snap, price, state.snapshot(next_snap)))
            next_snap += interval_ms
        if isinstance(event, Swap) and event.pair in majors:
            states[event.pair].learn_one(event)
    return out


@dataclass(slots=True)
class Labels:
    """One (seed, pair) series of scored labels, in time order: the outcome and every forecast of it."""

    ts_ms: list[int] = field(default_factory=list)
    up: list[bool] = field(default_factory=list)
    past_sign: list[float] = field(default_factory=list)  # sign of the past horizon's log return
    p_model: dict[float, list[float]] = field(default_factory=dict)  # learning rate -> p_up


def label_series(
    snaps: Iterable[Snapshot], *, horizon_ms: int, warmup: int, lrs: Sequence[float] = LR_GRID
) -> dict[str, Labels]:
    """Per pair: test-then-train with one model per learning rate; labels scored once every model is
    past its warm-up (they all learn the same labels, so they are ready together)."""
    by_pair: dict[str, list[Snapshot]] = {}
    for s in snaps:
        by_pair.setdefault(s.pair, []).append(s)
    out: dict[str, Labels] = {}
    for pair, series in by_pair.items():
        models = {lr: OnlineModel(warmup=warmup, lr=lr, features=DIRECTION_FEATURES) for lr in lrs}
        labels = Labels(p_model={lr: [] for lr in lrs})
        pending: deque[tuple[Snapshot, dict[float, float], float]] = deque()
        history: deque[Snapshot] = deque()
        for snap in series:
            while pending and pending[0][0].ts_ms + horizon_ms <= snap.ts_ms:
                then, preds, past = pending.popleft()
                y = math.log(snap.price / then.price)
                ready = all(m.ready for m in models.values())
                if ready:
                    labels.ts_ms.append(then.ts_ms)
                    labels.up.append(y > 0.0)
                    labels.past_sign.append(past)
                    for lr, p in preds.items():
                        labels.p_model[lr].append(p)
                for m in models.values():
                    m.learn_one(then.features, y)
            history.append(snap)
            while history and history[0].ts_ms < snap.ts_ms - horizon_ms:
                history.popleft()
            past = math.log(snap.price / history[0].price) if history[0].price > 0 else 0.0
            preds = {lr: m.predict_one(snap.features).p_up for lr, m in models.items()}
            pending.append((snap, preds, float(np.sign(past))))
        out[pair] = labels
    return out


def log_loss(up: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, P_CLIP, 1.0 - P_CLIP)
    return -np.where(up, np.log(p), np.log(1.0 - p))


@dataclass(slots=True)
class Scored:
    """The out-of-sample per-label losses of one (seed, pair) series and what was chosen per span."""

    model: np.ndarray
    half: np.ndarray
    momentum: np.ndarray
    chosen_lr: list[float]
    chosen_c: list[float]


def walk_forward(labels: Labels, start_ms: int, end_ms: int, spans: int) -> Scored:
    """Choose on span k-1, score on span k (see the module docstring)."""
    ts = np.asarray(labels.ts_ms, dtype=np.int64)
    up = np.asarray(labels.up, dtype=bool)
    past = np.asarray(labels.past_sign, dtype=float)
    edges = np.linspace(start_ms, end_ms, spans + 1)
    span_of = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, spans - 1)
    model_loss = {lr: log_loss(up, np.asarray(p)) for lr, p in labels.p_model.items()}
    momentum_loss = {c: log_loss(up, 0.5 + c * past) for c in MOMENTUM_GRID}
    out_model: list[np.ndarray] = []
    out_momentum: list[np.ndarray] = []
    chosen_lr: list[float] = []
    chosen_c: list[float] = []
    for k in range(1, spans):
        train, test = span_of == k - 1, span_of == k
        if not train.any() or not test.any():
            continue
        lr = min(model_loss, key=lambda r: (float(model_loss[r][train].mean()), r))
        c = min(momentum_loss, key=lambda v: (float(momentum_loss[v][train].mean()), v))
        chosen_lr.append(lr)
        chosen_c.append(c)
        out_model.append(model_loss[lr][test])
        out_momentum.append(momentum_loss[c][test])
    model = np.concatenate(out_model) if out_model else np.zeros(0)
    momentum = np.concatenate(out_momentum) if out_momentum else np.zeros(0)
    return Scored(model, np.full(len(model), LN2), momentum, chosen_lr, chosen_c)


def block_bootstrap_ci(
    series: Sequence[np.ndarray], block: int, *, reps: int = 1_000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, 2.5 %, 97.5 %) of the pooled mean, resampling blocks of `block` consecutive values within
    each series (a moving-block bootstrap: the labels' overlap stays inside a block)."""
    parts = [np.asarray(s, dtype=float) for s in series if len(s)]
    if not parts:
        return (math.nan, math.nan, math.nan)
    total = sum(len(s) for s in parts)
    mean = float(sum(s.sum() for s in parts) / total)
    rng = np.random.Generator(np.random.PCG64(seed))
    means = np.empty(reps)
    for i in range(reps):
        acc = 0.0
        for s in parts:
            b = min(block, len(s))
            n_blocks = -(-len(s) // b)
            starts = rng.integers(0, len(s) - b + 1, size=n_blocks)
            idx = (starts[:, None] + np.arange(b)[None, :]).ravel()[: len(s)]
            acc += float(s[idx].sum())
        means[i] = acc / total
    low, high = np.percentile(means, [2.5, 97.5])
    return (mean, float(low), float(high))


@dataclass(slots=True)
class MarketReport:
    """One market's walk-forward result across seeds."""

    market: str
    seeds: list[int]
    n: int
    n_eff: float
    model: float
    half: float
    momentum: float
    vs_half: tuple[float, float, float]
    vs_momentum: tuple[float, float, float]
    chosen_lr: dict[float, int]


def evaluate_market(
    *,
    seeds: Sequence[int],
    minutes: float,
    random_walk: bool,
    rate_eps: float = 300.0,
    interval_ms: int = 500,
    horizon_ms: int = 10_000,
    warmup: int = 50,
    spans: int = 4,
    reps: int = 1_000,
) -> MarketReport:
    """Walk-forward over every seed of one market; intervals pooled across seeds and pairs."""
    scored: list[Scored] = []
    for seed in seeds:
        snaps = snapshots(seed, minutes, random_walk=random_walk, rate_eps=rate_eps, interval_ms=interval_ms)
        end_ms = START_MS + int(minutes * 60_000)
        for labels in label_series(snaps, horizon_ms=horizon_ms, warmup=warmup).values():
            scored.append(walk_forward(labels, START_MS, end_ms, spans))
    overlap = max(1, horizon_ms // interval_ms)
    n = sum(len(s.model) for s in scored)
    chosen: dict[float, int] = {}
    for s in scored:
        for lr in s.chosen_lr:
            chosen[lr] = chosen.get(lr, 0) + 1

    def pooled(values: list[np.ndarray]) -> float:
        return float(np.concatenate(values).mean()) if n else math.nan

    return MarketReport(
        market="random walk" if random_walk else "documented",
        seeds=list(seeds),
        n=n,
        n_eff=n / overlap,
        model=pooled([s.model for s in scored]),
        half=pooled([s.half for s in scored]),
        momentum=pooled([s.momentum for s in scored]),
        vs_half=block_bootstrap_ci([s.model - s.half for s in scored], 2 * overlap, reps=reps),
        vs_momentum=block_bootstrap_ci([s.model - s.momentum for s in scored], 2 * overlap, reps=reps),
        chosen_lr=dict(sorted(chosen.items())),
    )


def verdict(ci: tuple[float, float, float]) -> str:
    _, low, high = ci
    if high < 0:
        return "better"
    if low > 0:
        return "worse"
    return "no difference"


def format_table(reports: Sequence[MarketReport], *, minutes: float, spans: int, horizon_ms: int) -> str:
    lines = [
        f"walk-forward: {minutes:g} min per seed, {spans} spans (choose on span k-1, score on span k), "
        f"horizon {horizon_ms} ms; log loss, lower is better; 95 % moving-block bootstrap intervals",
        f"{'market':<12} {'seeds':>9} {'n':>6} {'n_eff':>6} {'model':>7} {'0.5':>7} {'momentum':>8}"
        f"  {'model - 0.5 [95 % CI]':<30} {'model - momentum [95 % CI]':<30}",
    ]
    for r in reports:
        seeds = f"{min(r.seeds)}-{max(r.seeds)}" if len(r.seeds) > 1 else str(r.seeds[0])

        def ci(c: tuple[float, float, float]) -> str:
            return f"{c[0]:+.4f} [{c[1]:+.4f}, {c[2]:+.4f}] {verdict(c)}"

        lines.append(
            f"{r.market:<12} {seeds:>9} {r.n:>6} {r.n_eff:>6.0f} {r.model:>7.4f} {r.half:>7.4f} "
            f"{r.momentum:>8.4f}  {ci(r.vs_half):<30} {ci(r.vs_momentum):<30}"
        )
    for r in reports:
        picks = ", ".join(f"{lr:g}: {k}" for lr, k in r.chosen_lr.items())
        lines.append(f"learning rates chosen on the span before ({r.market}): {picks}")
    return "\n".join(lines)
