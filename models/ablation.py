"""What each market-data feature group adds to the direction model, measured: `python -m models.evaluate
--ablation`.

The simulated market runs with its Jupiter quotes and Drift book (`market.market_data`); each major pair
gets one linear `DelayedLabeler` per variant of its features: the swaps' alone, plus the quote's, plus
the perp's, plus both. Every label is scored with the prediction made before it was learned (progressive
validation, River's test-then-train), so the scores are out of sample; the gain is against always saying
0.5 (log loss ln 2), the forecast to beat when there is nothing to know.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from features.market_signals import GROUPS, perp_context, perp_pair, quote_context
from features.pair_state import PairFeatureState
from market.market_data import with_market_data
from market.simulator import MarketSimulator
from models.online import DIRECTION_FEATURES, DelayedLabeler, OnlineModel
from streams.records import JupiterQuote, PerpBook, Swap

START_MS = 1_700_000_000_000
MARKET_KEYS = frozenset(k for keys in GROUPS.values() for k in keys)
VARIANTS: dict[str, frozenset[str]] = {
    "swaps": frozenset(),
    "+quote": frozenset(GROUPS["quote"]),
    "+perp": frozenset(GROUPS["perp"]),
    "+both": MARKET_KEYS,
}
HALF = math.log(2.0)  # the log loss of always saying 0.5


@dataclass(frozen=True)
class Score:
    pair: str
    variant: str
    seed: int
    n: int
    log_loss: float
    accuracy: float


def run_seed(
    seed: int,
    minutes: float,
    *,
    rate_eps: float = 300.0,
    interval_ms: int = 500,
    horizon_ms: int = 10_000,
    warmup: int = 50,
    lr: float = 0.01,
    random_walk: bool = False,
) -> list[Score]:
    """One seed of the market: every major pair's score under every variant."""
    sim = MarketSimulator(seed=seed, rate_eps=rate_eps, random_walk=random_walk, start_ms=START_MS)
    states = {pair: PairFeatureState(pair) for pair in sim.pairs}
    labelers = {
        (pair, variant): DelayedLabeler(
            OnlineModel(warmup=warmup, lr=lr, features=DIRECTION_FEATURES), label_horizon_ms=horizon_ms
        )
        for pair in sim.pairs
        for variant in VARIANTS
    }
    end_ms = START_MS + int(minutes * 60_000)
    next_snap = START_MS + interval_ms
    for event in with_market_data(sim):
        if event.ts_ms >= end_ms:
            break
        while next_snap <= event.ts_ms:
            _score_all(next_snap, states, labelers)
            next_snap += interval_ms
        if isinstance(event, Swap) and event.pair in states:
            states[event.pair].learn_one(event)
        elif isinstance(event, JupiterQuote) and event.pair in states:
            states[event.pair].learn_market("quote", quote_context(event))
        elif isinstance(event, PerpBook) and perp_pair(event.market) in states:
            states[perp_pair(event.market)].learn_market("perp", perp_context(event))
    return [
        Score(pair, variant, seed, int(m["n"]), m["log_loss"], m["accuracy"])
        for (pair, variant), labeler in labelers.items()
        for m in (labeler.metrics(),)
    ]


def _score_all(
    ts_ms: int, states: dict[str, PairFeatureState], labelers: dict[tuple[str, str], DelayedLabeler]
) -> None:
    for pair, state in states.items():
        if state.max_ts_ms is None:
            continue
        price = state.inputs(ts_ms)[0]
        if not price > 0.0:
            continue
        features = state.snapshot(ts_ms)
        for variant, kept in VARIANTS.items():
            x = {k: v for k, v in features.items() if k not in MARKET_KEYS or k in kept}
            labelers[pair, variant].on_snapshot(ts_ms, price, x)


def format_ablation(scores: Sequence[Score], *, minutes: float, random_walk: bool) -> str:
    """Per pair and variant: log loss (mean over seeds, min..max) and its gain over 0.5."""
    seeds = sorted({s.seed for s in scores})
    market = "random walk" if random_walk else "documented market"
    lines = [
        f"feature ablation on the {market}: seeds {seeds[0]}-{seeds[-1]}, {minutes:g} min each, linear model,"
        " progressive validation (log loss: lower is better; 0.5 always: 0.6931)",
        f"{'pair':<10} {'variant':<7} {'labels':>7} {'log loss':>9} {'min..max':>15} {'gain vs 0.5':>12}"
        f" {'acc':>6}",
    ]
    for pair in sorted({s.pair for s in scores}):
        for variant in VARIANTS:
            rows = [s for s in scores if s.pair == pair and s.variant == variant and s.n > 0]
            if not rows:
                continue
            losses = [r.log_loss for r in rows]
            mean = statistics.fmean(losses)
            lines.append(
                f"{pair:<10} {variant:<7} {sum(r.n for r in rows):>7} {mean:>9.4f}"
                f" {min(losses):>7.4f}..{max(losses):<7.4f} {(HALF - mean) / HALF * 100:>11.2f}%"
                f" {statistics.fmean(r.accuracy for r in rows):>6.3f}"
            )
    return "\n".join(lines)
