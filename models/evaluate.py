"""Offline evaluation: the simulator in-process -> features -> linear and tree models, strategies, bandit.

    python -m models.evaluate [--seeds 1-8] [--minutes 10] [--spans 4]   # walk-forward table (default)
    python -m models.evaluate --single --seed 1 --minutes 10 [--random-walk]
    python -m models.evaluate --ablation [--seeds 1-6] [--minutes 10]   # what quotes and perp books add

The default is the walk-forward table of `models.walk_forward`: on the documented simulated market and on
a random walk, the direction model against 0.5 and momentum, parameters chosen on one span and scored on
the next, with block-bootstrap intervals. `--single` prints one run's report, described below.

Swaps go through `features.pair_state.PairFeatureState` and are snapshotted every `--interval-ms` of event
time, as the features agent does. Each major pair gets a linear and a tree `DelayedLabeler` (progressive
validation: every label is scored with the prediction made before it was learned) next to the naive
baseline. Every registered strategy trades a paper book (long-only, one unit per pair, a closed trade's
return is its log return less the pools' fee on both legs); closed-trade returns are attributed to their
strategy and the bandit re-allocates every `--cycle-s` of event time. The numbers it prints are measured,
on a simulated market: they say whether the pipeline can find the planted signal, not what a live market pays.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from features.pair_state import PairFeatureState
from market.simulator import MarketSimulator
from models.allocation import AllocatorParams, StrategyAllocator
from models.online import DIRECTION_FEATURES, DelayedLabeler, ModelKind, OnlineModel, Prediction
from models.strategies import STRATEGIES, ArbitrageIntent, build
from models.strategies.base import ConfiguredStrategy
from streams.records import Allocation, Swap

START_MS = 1_700_000_000_000
KINDS: tuple[ModelKind, ...] = ("linear", "tree")
STALE_PAIR_MS = 120_000  # a launch without a trade for this long is no longer snapshotted


@dataclass
class _Book:
    entries: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # (strategy, pair)
    closed: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class EvalResult:
    models: dict[str, dict[str, dict[str, float]]]  # pair -> kind -> metrics
    cost_us: dict[str, float]  # kind -> mean µs per snapshot (predict + learn)
    allocations: list[Allocation]
    trades: dict[str, list[float]]  # strategy -> closed-trade returns
    snapshots: int
    events: int


def evaluate(
    seed: int = 1,
    minutes: float = 10.0,
    random_walk: bool = False,
    rate_eps: float = 300.0,
    interval_ms: int = 500,
    horizon_ms: int = 10_000,
    warmup: int = 50,
    cycle_s: float = 60.0,
    kinds: Sequence[ModelKind] = KINDS,
    lr: float = 0.01,
) -> EvalResult:
    sim = MarketSimulator(seed=seed, rate_eps=rate_eps, random_walk=random_walk, start_ms=START_MS)
    majors = set(sim.pairs)
    states: dict[str, PairFeatureState] = {}
    labelers = {
        (pair, kind): DelayedLabeler(
            OnlineModel(warmup=warmup, kind=kind, lr=lr, features=DIRECTION_FEATURES),
            label_horizon_ms=horizon_ms,
        )
        for pair in sim.pairs
        for kind in kinds
    }
    cost_ns = dict.fromkeys(kinds, 0)
    cost_n = dict.fromkeys(kinds, 0)
    strategies: list[ConfiguredStrategy[Any]] = [build(name) for name in STRATEGIES]
    allocator = StrategyAllocator(
        [s.name for s in strategies],
        AllocatorParams(cycle_ms=int(cycle_s * 1000)),
        seed=seed,
        context_keys=("vol_bps",),
    )
    book = _Book()
    end_ms = START_MS + int(minutes * 60_000)
    next_snap = START_MS + interval_ms
    events = snapshots = 0
    for event in sim.events():
        if event.ts_ms >= end_ms:
            break
        events += 1
        while next_snap <= event.ts_ms:
            snapshots += _snapshot_all(
                next_snap, states, majors, labelers, kinds, cost_ns, cost_n, strategies, allocator, book
            )
            next_snap += interval_ms
        if isinstance(event, Swap):
            state = states.get(event.pair)
            if state is None:
                state = states[event.pair] = PairFeatureState(event.pair)
            state.learn_one(event)
    models: dict[str, dict[str, dict[str, float]]] = {
        pair: {str(kind): labelers[pair, kind].metrics() for kind in kinds} for pair in sorted(majors)
    }
    cost_us = {str(k): cost_ns[k] / cost_n[k] / 1_000.0 if cost_n[k] else 0.0 for k in kinds}
    return EvalResult(models, cost_us, allocator.history, book.closed, snapshots, events)


def _snapshot_all(
    ts_ms: int,
    states: dict[str, PairFeatureState],
    majors: set[str],
    labelers: dict[tuple[str, ModelKind], DelayedLabeler],
    kinds: Sequence[ModelKind],
    cost_ns: dict[ModelKind, int],
    cost_n: dict[ModelKind, int],
    strategies: Sequence[ConfiguredStrategy[Any]],
    allocator: StrategyAllocator,
    book: _Book,
) -> int:
    n = 0
    context: dict[str, float] = {}
    for pair in list(states):
        state = states[pair]
        if pair not in majors and (state.max_ts_ms or 0) < ts_ms - STALE_PAIR_MS:
            del states[pair]
            continue
        price, *_, pools = state.inputs(ts_ms)
        if not price > 0.0:
            continue
        features = state.snapshot(ts_ms)
        n += 1
        prediction: Prediction | None = None
        if pair in majors:
            for kind in kinds:
                t0 = time.perf_counter_ns()
                p = labelers[pair, kind].on_snapshot(ts_ms, price, features)
                cost_ns[kind] += time.perf_counter_ns() - t0
                cost_n[kind] += 1
                if kind == "linear":
                    prediction = p
            if pair == "SOL/USDC":
                context["vol_bps"] = features["vol_60s"] * 10_000.0
        fee = max((pool.fee_bps for pool in pools), default=30) / 10_000.0
        for strategy in strategies:
            intent = strategy.on_features(pair, ts_ms, price, features, prediction, pools=pools)
            if intent is None:
                continue
            if isinstance(intent, ArbitrageIntent):
                book.closed.setdefault(strategy.name, []).append(intent.expected_return)
                allocator.record(strategy.name, ts_ms, intent.expected_return)
                continue
            key = (strategy.name, pair)
            if intent.direction > 0 and key not in book.entries:
                book.entries[key] = (price, fee)
            elif intent.direction < 0 and key in book.entries:
                entry, entry_fee = book.entries.pop(key)
                ret = math.log(price / entry) + math.log1p(-entry_fee) + math.log1p(-fee)
                book.closed.setdefault(strategy.name, []).append(ret)
                allocator.record(strategy.name, ts_ms, ret)
    allocator.on_time(ts_ms, context)
    return n


def format_report(result: EvalResult, args: argparse.Namespace) -> str:
    lines = [
        f"seed={args.seed} minutes={args.minutes} random_walk={args.random_walk} events={result.events} "
        f"snapshots={result.snapshots}",
        "",
        "progressive validation (post-warm-up labels; log loss: lower is better)",
        f"{'pair':<10} {'kind':<7} {'n':>6} {'logloss':>8} {'base':>8} {'gain%':>7} {'acc':>6}"
        f" {'base_acc':>8} {'mae/base':>8}",
    ]
    for pair, by_kind in result.models.items():
        for kind, m in by_kind.items():
            gain = (m["baseline_log_loss"] - m["log_loss"]) / m["baseline_log_loss"] * 100 if m["n"] else 0.0
            mae_ratio = m["mae"] / m["baseline_mae"] if m["baseline_mae"] else float("nan")
            lines.append(
                f"{pair:<10} {kind:<7} {int(m['n']):>6} {m['log_loss']:>8.4f} {m['baseline_log_loss']:>8.4f}"
                f" {gain:>7.2f} {m['accuracy']:>6.3f} {m['baseline_accuracy']:>8.3f} {mae_ratio:>8.3f}"
            )
    lines += [
        "",
        "cost per snapshot (predict + learn): "
        + ", ".join(f"{k} {v:.0f} µs" for k, v in result.cost_us.items()),
    ]
    lines += ["", "strategies (closed trades, mean log return net of fees)"]
    for name in STRATEGIES:
        rets = result.trades.get(name, [])
        mean = sum(rets) / len(rets) if rets else 0.0
        lines.append(f"  {name:<15} trades={len(rets):>5} mean={mean * 1e4:>8.1f} bps")
    lines += ["", "bandit allocations (weights for the next cycle; event time since start)"]
    names = list(STRATEGIES)
    lines.append(f"{'t':>7} " + " ".join(f"{n[:12]:>12}" for n in names))
    for a in result.allocations:
        lines.append(
            f"{(a.ts_ms - START_MS) / 1000:>6.0f}s " + " ".join(f"{a.weights[n]:>12.3f}" for n in names)
        )
    return "\n".join(lines)


def seed_range(text: str) -> list[int]:
    """`3`, `1-8` or `1,4,9`: the seeds to run."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.partition("-")
            seeds.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must look like 3, 1-8 or 1,4,9, not {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"no seeds in {text!r}")
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--single", action="store_true", help="one run's report instead of walk-forward")
    parser.add_argument(
        "--ablation", action="store_true", help="what the quote and perp features add (models.ablation)"
    )
    parser.add_argument("--seeds", type=seed_range, default=seed_range("1-6"), help="walk-forward seeds")
    parser.add_argument("--spans", type=int, default=4, help="walk-forward spans per seed (>= 2)")
    parser.add_argument("--reps", type=int, default=1_000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--random-walk", action="store_true")
    parser.add_argument("--rate", type=float, default=300.0, help="simulated events per second")
    parser.add_argument("--horizon-ms", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.01, help="the linear classifier's SGD learning rate")
    parser.add_argument("--cycle-s", type=float, default=60.0, help="bandit cycle, seconds of event time")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be > 0")
    if args.ablation:
        return _ablation(args)
    if not args.single:
        return _walk_forward(parser, args)
    result = evaluate(
        seed=args.seed,
        minutes=args.minutes,
        random_walk=args.random_walk,
        rate_eps=args.rate,
        horizon_ms=args.horizon_ms,
        warmup=args.warmup,
        cycle_s=args.cycle_s,
        lr=args.lr,
    )
    print(format_report(result, args))
    return 0


def _ablation(args: argparse.Namespace) -> int:
    from models.ablation import format_ablation, run_seed

    for random_walk in (False, True):
        scores = [
            score
            for seed in args.seeds
            for score in run_seed(
                seed,
                args.minutes,
                rate_eps=args.rate,
                horizon_ms=args.horizon_ms,
                warmup=args.warmup,
                lr=args.lr,
                random_walk=random_walk,
            )
        ]
        print(format_ablation(scores, minutes=args.minutes, random_walk=random_walk), end="\n\n")
    return 0


def _walk_forward(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from models.walk_forward import evaluate_market, format_table

    if args.spans < 2:
        parser.error("--spans must be >= 2 (one to choose on, one to score)")
    if args.reps < 10:
        parser.error("--reps must be >= 10")
    reports = [
        evaluate_market(
            seeds=args.seeds,
            minutes=args.minutes,
            random_walk=random_walk,
            rate_eps=args.rate,
            horizon_ms=args.horizon_ms,
            warmup=args.warmup,
            spans=args.spans,
            reps=args.reps,
        )
        for random_walk in (False, True)
    ]
    print(format_table(reports, minutes=args.minutes, spans=args.spans, horizon_ms=args.horizon_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
