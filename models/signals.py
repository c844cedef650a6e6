"""The model step without I/O: an online River model per pair and a book of strategies -> signals.

Predict, then learn when the label arrives: each snapshot is scored by the pair's model, and the
realised return at the horizon is learned once a later snapshot reaches it (event time). Every enabled
strategy of the book (`models.strategies`) then sees the snapshot and the model's prediction; each may
emit one signal per snapshot, with a deterministic id (`sig:{snapshot.id}` for the ML strategy, as before,
`sig:{snapshot.id}:{strategy}` for the others), so a re-delivered snapshot yields the same ids and the
risk agent decides each once. A contextual bandit (`models.allocation`) per pair re-weights the pair's
capital across the strategies every `ALLOCATION_CYCLE_MS` of the pair's event time from their attributed
returns on it; the weight of a signal's strategy travels on the signal and scales its size in risk. One
bandit per pair, not one per worker or market: a signal's weight is then a function of its pair's own
history, so whichever worker owns the pair's partition, after any crash or rebalance, emits the same
signal (a market-wide bandit fed by whatever pairs a worker happened to hold made the weights depend on
the partition assignment; docs/faults.md). Operators switch strategies on and
off, restrict their pairs and set the grid's levels at run time through `strategy.params`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.settings import Settings
from models.allocation import AllocatorParams, StrategyAllocator
from models.checkpoints import PartitionCheckpoint
from models.drift import DriftEvent, DriftMonitor
from models.online import DIRECTION_FEATURES, DelayedLabeler, ModelKind, OnlineModel
from models.strategies import STRATEGIES, ArbitrageIntent, GridParams, GridStrategy, MLSignal, build
from models.strategies.base import ConfiguredStrategy
from models.strategies.ml_signal import MLSignalParams
from models.strategy import Intent
from streams.records import PRICE_MARK, Allocation, FeatureSnapshot, Signal, StrategyParams

log = logging.getLogger(__name__)

_DEFAULT = Settings.model_construct()  # the fields' defaults, not the environment's values

MODEL_NAME = "river:scaler|logreg+linreg"
ML_STRATEGY = MLSignal.name
CONTEXT_KEY = "vol_bps"  # the bandit's context: the snapshot's 60 s volatility, in bps
# The classifier's SGD step. At OnlineModel's 0.01 the logistic regression overshoots on these features
# (JUP/USDC's progressive log loss 1.04 against the baseline's 0.80 on samples/sim-seed1); at 0.002 every
# pair beats its baseline there (aggregate 0.65 vs 0.83) and on seed 2 (see README, "Intelligence").
MODEL_LR = 0.002


@dataclass(frozen=True)
class StrategyControl:
    """What an operator set for one strategy: on or off, and the pairs it may trade (empty = all)."""

    enabled: bool = True
    pairs: frozenset[str] = frozenset()
    updated_ms: int = -1  # of the record that set it; an older record does not override a newer one

    def runs_on(self, pair: str) -> bool:
        return self.enabled and (not self.pairs or pair in self.pairs)


@dataclass(frozen=True)
class _Emitted:
    """A signal awaiting its horizon, for attributing its realised return to its strategy."""

    strategy: str
    ts_ms: int
    price: float
    direction: int


class SignalModels:
    """The model step as an object: a `DelayedLabeler` and an allocator per pair, and the strategy book.

    The model agent's runner holds one per worker and a backtest builds its own (`from_settings`), so runs
    never share models; without arguments the settings' defaults apply (never the environment). Nothing
    here reads the wall clock; each allocator's draws are seeded from the seed and its pair: a replay of the
    same snapshots gives the same signals and allocations, whatever other pairs this instance holds.
    """

    def __init__(
        self,
        *,
        strategies: Sequence[ConfiguredStrategy[Any]] | None = None,
        warmup_labels: int = _DEFAULT.model_warmup_labels,
        label_horizon_ms: int = _DEFAULT.label_horizon_ms,
        model_kind: ModelKind = _DEFAULT.model_kind,
        drift_action: str = _DEFAULT.model_drift_action,
        cost_bps: float = _DEFAULT.strategy_cost_bps,
        min_confidence: float = _DEFAULT.min_confidence,
        cycle_ms: int = _DEFAULT.allocation_cycle_ms,
        floor: float = _DEFAULT.allocation_floor,
        portfolio: str = _DEFAULT.portfolio,
        seed: int = 0,
        on_drift_count: Callable[[str], None] | None = None,
        on_drift_alert: Callable[[DriftEvent], None] | None = None,
    ) -> None:
        if strategies is None:
            ml = MLSignal(MLSignalParams(min_confidence=min_confidence, cost_bps=cost_bps))
            strategies = [ml if name == ML_STRATEGY else build(name) for name in STRATEGIES]
        self.book: dict[str, ConfiguredStrategy[Any]] = {s.name: s for s in strategies}
        self.controls: dict[str, StrategyControl] = {name: StrategyControl() for name in self.book}
        self.warmup_labels = warmup_labels
        self.label_horizon_ms = label_horizon_ms
        self.model_kind: ModelKind = model_kind
        self.drift_action = drift_action
        self.on_drift_count = on_drift_count
        self.on_drift_alert = on_drift_alert
        # the round trip's cost as a log return: what a signal must beat to have earned anything
        self.cost_log = -math.log1p(-cost_bps / 10_000.0)
        self.allocator_params = AllocatorParams(cycle_ms=cycle_ms, floor=floor)
        self.portfolio = portfolio
        self.seed = seed
        self.allocators: dict[str, StrategyAllocator] = {}
        self.by_pair: dict[str, DelayedLabeler] = {}
        self._emitted: dict[str, deque[_Emitted]] = {}
        self.stepped: dict[str, int] = {}  # pair -> event time of the last snapshot scored

    @classmethod
    def from_settings(
        cls,
        s: Settings,
        *,
        seed: int = 0,
        on_drift_count: Callable[[str], None] | None = None,
        on_drift_alert: Callable[[DriftEvent], None] | None = None,
    ) -> SignalModels:
        return cls(
            warmup_labels=s.model_warmup_labels,
            label_horizon_ms=s.label_horizon_ms,
            model_kind=s.model_kind,
            drift_action=s.model_drift_action,
            cost_bps=s.strategy_cost_bps,
            min_confidence=s.min_confidence,
            cycle_ms=s.allocation_cycle_ms,
            floor=s.allocation_floor,
            portfolio=s.portfolio,
            seed=seed,
            on_drift_count=on_drift_count,
            on_drift_alert=on_drift_alert,
        )

    @property
    def allocations(self) -> list[Allocation]:
        """Every pair's closed cycles, in event time (then pair)."""
        history = [a for allocator in self.allocators.values() for a in allocator.history]
        return sorted(history, key=lambda a: (a.ts_ms, a.pair))

    def allocator_for(self, pair: str) -> StrategyAllocator:
        allocator = self.allocators.get(pair)
        if allocator is None:
            allocator = StrategyAllocator(
                list(self.book),
                self.allocator_params,
                seed=pair_seed(self.seed, pair),
                context_keys=(CONTEXT_KEY,),
                portfolio=self.portfolio,
                pair=pair,
            )
            self.allocators[pair] = allocator
        return allocator

    def model_for(self, pair: str) -> DelayedLabeler:
        labeler = self.by_pair.get(pair)
        if labeler is None:
            drift = DriftMonitor(
                pair,
                action=self.drift_action,  # type: ignore[arg-type]  # validated by DriftMonitor
                on_count=self.on_drift_count,
                on_alert=self.on_drift_alert,
            )
            labeler = DelayedLabeler(
                OnlineModel(
                    warmup=self.warmup_labels, lr=MODEL_LR, kind=self.model_kind, features=DIRECTION_FEATURES
                ),
                label_horizon_ms=self.label_horizon_ms,
                drift=drift,
            )
            self.by_pair[pair] = labeler
        return labeler

    def adopt(self, pair: str, labeler: DelayedLabeler) -> None:
        """Use a restored labeler for `pair` (a checkpoint), re-attaching the drift callbacks."""
        if labeler.drift is not None:
            labeler.drift.attach(self.on_drift_count, self.on_drift_alert)
        self.by_pair[pair] = labeler

    def checkpoint(self, pairs: Iterable[str], offset: int) -> PartitionCheckpoint:
        """The state of `pairs` (one features partition's) as of `offset`, to be saved."""
        wanted = [p for p in pairs if p in self.by_pair]
        state: dict[str, dict[str, Any]] = {}
        for name, strategy in self.book.items():
            if isinstance(strategy, GridStrategy):
                grids = strategy.state_dict()
                state[name] = {p: grids[p] for p in wanted if p in grids}
        return PartitionCheckpoint(
            offset=offset,
            labelers={p: self.by_pair[p] for p in wanted},
            strategy_state=state,
            emitted={p: list(self._emitted.get(p, ())) for p in wanted},
            stepped={p: self.stepped[p] for p in wanted if p in self.stepped},
            allocators={p: self.allocators[p] for p in wanted if p in self.allocators},
        )

    def restore(self, checkpoint: PartitionCheckpoint) -> None:
        """Take over a checkpoint's pairs: their models, bandits, grid fills and pending attributions.

        A checkpoint from before per-pair bandits holds one market-wide `allocator`; it is not taken (its
        weights came from whatever pairs its worker held), so those pairs start fresh bandits."""
        for pair, labeler in checkpoint.labelers.items():
            self.adopt(pair, labeler)
            self._emitted[pair] = deque(checkpoint.emitted.get(pair, ()))
        self.stepped.update(getattr(checkpoint, "stepped", {}))
        for pair, allocator in getattr(checkpoint, "allocators", {}).items():
            if isinstance(allocator, StrategyAllocator):
                self.allocators[pair] = allocator
        for name, by_pair in checkpoint.strategy_state.items():
            grid = self.book.get(name)
            if isinstance(grid, GridStrategy):
                grid.load_state({**grid.state_dict(), **by_pair})

    def forget(self, pairs: Iterable[str]) -> None:
        """Drop `pairs` (their partition went to another worker, which restores them from a checkpoint)."""
        for pair in pairs:
            self.by_pair.pop(pair, None)
            self._emitted.pop(pair, None)
            self.stepped.pop(pair, None)
            self.allocators.pop(pair, None)

    def enabled(self, name: str, pair: str) -> bool:
        return self.controls[name].runs_on(pair)

    def apply_params(self, record: StrategyParams) -> bool:
        """An operator's parameters for one strategy; True if applied (latest `updated_ms` wins)."""
        name = record.name
        if name not in self.book:
            log.warning("strategy parameters for unknown strategy %r ignored", name)
            return False
        if record.updated_ms <= self.controls[name].updated_ms:
            return False  # older, or the same record again (the periodic re-read)
        self.controls[name] = StrategyControl(
            enabled=bool(record.enabled), pairs=frozenset(record.pairs), updated_ms=record.updated_ms
        )
        grid = self.book[name]
        if isinstance(grid, GridStrategy) and record.grid_levels > 0:
            self.book[name] = _regrid(grid, record.grid_levels)
        log.info(
            "strategy parameters applied",
            extra={"strategy": name, "enabled": record.enabled, "pairs": sorted(record.pairs)},
        )
        return True

    def is_new(self, snapshot: FeatureSnapshot) -> bool:
        """False for a snapshot at or before its pair's last scored one: the features agent re-emits the
        snapshots of the swaps it re-reads after a crash (same ids), and a restored model replays its log."""
        return snapshot.ts_ms > self.stepped.get(snapshot.pair, -(2**62))

    def step(self, snapshot: FeatureSnapshot) -> tuple[list[Signal], Allocation | None]:
        """Score one snapshot: the signals of every enabled strategy, and an allocation if a cycle closed."""
        pair, ts_ms, price = snapshot.pair, snapshot.ts_ms, snapshot.price
        allocator = self.allocator_for(pair)
        if ts_ms > self.stepped.get(pair, -(2**62)):
            self.stepped[pair] = ts_ms
        self._attribute(allocator, pair, ts_ms, price)
        vol_60s = float(snapshot.features.get("vol_60s", 0.0))
        context = {CONTEXT_KEY: vol_60s * 10_000.0 if math.isfinite(vol_60s) else 0.0}
        allocation = allocator.on_time(ts_ms, context)
        prediction = self.model_for(pair).on_snapshot(ts_ms, price, snapshot.features)
        signals: list[Signal] = []
        for name, strategy in self.book.items():
            if not self.enabled(name, pair):
                continue
            intent = strategy.on_features(
                pair, ts_ms, price, snapshot.features, prediction, pools=snapshot.pools
            )
            if intent is None:
                continue
            if isinstance(intent, ArbitrageIntent):
                # Two legs on two pools cannot go through risk as one signal (it sizes and routes a single
                # leg); the edge, already net of both fees and impacts, is attributed as the return.
                allocator.record(name, ts_ms, intent.expected_return)
                continue
            weight = allocator.weights.get(name, 0.0)
            if weight <= 0.0:
                continue
            signals.append(self._signal(snapshot, intent, weight))
            if math.isfinite(price) and price > 0.0:
                self._emitted.setdefault(pair, deque()).append(_Emitted(name, ts_ms, price, intent.direction))
        return signals, allocation

    def signals_for(self, snapshot: FeatureSnapshot) -> list[Signal]:
        """`step` without the allocation (it stays in `allocations`)."""
        return self.step(snapshot)[0]

    def _attribute(self, allocator: StrategyAllocator, pair: str, ts_ms: int, price: float) -> None:
        """Each signal that reached its horizon: its signed log return, net of the round trip's cost."""
        queue = self._emitted.get(pair)
        if not queue or not (math.isfinite(price) and price > 0.0):
            return
        while queue and queue[0].ts_ms + self.label_horizon_ms <= ts_ms:
            e = queue.popleft()
            ret = e.direction * math.log(price / e.price) - self.cost_log
            allocator.record(e.strategy, ts_ms, ret)

    def _signal(self, snapshot: FeatureSnapshot, intent: Intent, weight: float) -> Signal:
        ml = intent.strategy == ML_STRATEGY
        return Signal(
            id=f"sig:{snapshot.id}" if ml else f"sig:{snapshot.id}:{intent.strategy}",
            pair=snapshot.pair,
            ts_ms=snapshot.ts_ms,
            origin_ms=snapshot.origin_ms,
            price=snapshot.price,
            direction=intent.direction,
            confidence=intent.confidence,
            expected_return=intent.expected_return,
            horizon_ms=self.label_horizon_ms,
            volatility=float(snapshot.features.get("vol_10s", 0.0)),
            model=MODEL_NAME if ml else f"strategy:{intent.strategy}",
            strategy=intent.strategy,
            pools=snapshot.pools,
            weight=weight,
        )


def pair_seed(seed: int, pair: str) -> int:
    """The seed of `pair`'s bandit: stable across processes (not `hash()`, which Python salts per run)."""
    return (seed % 2**32) * 2**32 + zlib.crc32(pair.encode())


def price_mark(snapshot: FeatureSnapshot) -> Signal:
    """A snapshot no strategy acted on, as a price for risk (direction `PRICE_MARK`): risk checks the
    stops of a held pair on every price, not only when one of its strategies speaks."""
    return Signal(
        id=f"mark:{snapshot.id}",
        pair=snapshot.pair,
        ts_ms=snapshot.ts_ms,
        origin_ms=snapshot.origin_ms,
        price=snapshot.price,
        direction=PRICE_MARK,
        confidence=0.0,
        expected_return=0.0,
        horizon_ms=0,
        volatility=0.0,
        model="price_mark",
        strategy="",
        pools=snapshot.pools,
        weight=0.0,
    )


def _regrid(grid: GridStrategy, levels: int) -> GridStrategy:
    """The same grid with `levels` buy levels (default and per-pair), keeping its fills."""
    params: GridParams = dataclasses.replace(grid.params, levels=levels)
    pair_params = {pair: dataclasses.replace(p, levels=levels) for pair, p in grid.pair_params.items()}
    out = GridStrategy(params, pair_params)
    out.load_state(grid.state_dict())
    out.last_level = dict(grid.last_level)
    return out
