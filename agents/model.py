"""The model agent: feature snapshots -> an online River model per pair and a book of strategies -> signals.

Predict, then learn when the label arrives: each snapshot is scored by the pair's model, and the
realised return at the horizon is learned once a later snapshot reaches it (event time). Every enabled
strategy of the book (`models.strategies`) then sees the snapshot and the model's prediction; each may
emit one signal per snapshot, with a deterministic id (`sig:{snapshot.id}` for the ML strategy, as before,
`sig:{snapshot.id}:{strategy}` for the others), so a re-delivered snapshot yields the same ids and the
risk agent decides each once. A contextual bandit (`models.allocation`) re-weights capital across the
strategies every `ALLOCATION_CYCLE_MS` of event time from their attributed returns; the weight of a
signal's strategy travels on the signal and scales its size in risk. Operators switch strategies on and
off, restrict their pairs and set the grid's levels at run time through `strategy.params`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP

from agents.dead_letters import send_dead_letter
from agents.event_order import EventTimeMerge
from core import metrics
from core.errors import DecodeError
from core.settings import Settings
from models.allocation import AllocatorParams, StrategyAllocator
from models.checkpoints import PartitionCheckpoint, dump_partition, load_partition, save_partition
from models.drift import DriftEvent, DriftMonitor
from models.online import DelayedLabeler, ModelKind, OnlineModel
from models.strategies import STRATEGIES, ArbitrageIntent, GridParams, GridStrategy, MLSignal, build
from models.strategies.base import ConfiguredStrategy
from models.strategies.ml_signal import MLSignalParams
from models.strategy import Intent
from store.strategy_params import read_strategy_params
from streams.app import (
    allocations_topic,
    app,
    dlq_features_topic,
    features_topic,
    settings,
    signals_topic,
    strategy_params_topic,
)
from streams.broker_compat import fetch_read_offsets
from streams.codec import decode, encode
from streams.records import PROGRESS_KEY, Allocation, FeatureSnapshot, Progress, Signal, StrategyParams

log = logging.getLogger(__name__)

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
    """The model step as an object: a `DelayedLabeler` per pair, the strategy book and the allocator.

    The agent uses one module-level instance; a backtest builds its own (`from_settings`), so runs never
    share models. Nothing here reads the wall clock; the allocator's draws are seeded: a replay of the same
    snapshots gives the same signals and allocations.
    """

    def __init__(
        self,
        *,
        strategies: Sequence[ConfiguredStrategy[Any]] | None = None,
        warmup_labels: int = settings.model_warmup_labels,
        label_horizon_ms: int = settings.label_horizon_ms,
        model_kind: ModelKind = settings.model_kind,
        drift_action: str = settings.model_drift_action,
        cost_bps: float = settings.strategy_cost_bps,
        min_confidence: float = settings.min_confidence,
        cycle_ms: int = settings.allocation_cycle_ms,
        floor: float = settings.allocation_floor,
        portfolio: str = settings.portfolio,
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
        self.allocator = StrategyAllocator(
            list(self.book),
            AllocatorParams(cycle_ms=cycle_ms, floor=floor),
            seed=seed,
            context_keys=(CONTEXT_KEY,),
            portfolio=portfolio,
        )
        self.by_pair: dict[str, DelayedLabeler] = {}
        self._emitted: dict[str, deque[_Emitted]] = {}
        self.stepped: dict[str, int] = {}  # pair -> event time of the last snapshot scored
        self._allocator_live = False  # True once this instance has stepped or restored its bandit

    @classmethod
    def from_settings(cls, s: Settings, *, seed: int = 0) -> SignalModels:
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
        )

    @property
    def allocations(self) -> list[Allocation]:
        return self.allocator.history

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
                OnlineModel(warmup=self.warmup_labels, lr=MODEL_LR, kind=self.model_kind),
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
            allocator=self.allocator,
        )

    def restore(self, checkpoint: PartitionCheckpoint) -> None:
        """Take over a checkpoint's pairs (their models, grid fills and pending attributions), and its
        bandit if this instance has not started its own (a worker that already runs keeps its cycles)."""
        for pair, labeler in checkpoint.labelers.items():
            self.adopt(pair, labeler)
            self._emitted[pair] = deque(checkpoint.emitted.get(pair, ()))
        self.stepped.update(getattr(checkpoint, "stepped", {}))
        allocator = getattr(checkpoint, "allocator", None)
        if isinstance(allocator, StrategyAllocator) and not self._allocator_live:
            self.allocator = allocator
            self._allocator_live = True
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
        self._allocator_live = True
        if ts_ms > self.stepped.get(pair, -(2**62)):
            self.stepped[pair] = ts_ms
        self._attribute(pair, ts_ms, price)
        vol_60s = float(snapshot.features.get("vol_60s", 0.0))
        context = {CONTEXT_KEY: vol_60s * 10_000.0 if math.isfinite(vol_60s) else 0.0}
        allocation = self.allocator.on_time(ts_ms, context)
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
                self.allocator.record(name, ts_ms, intent.expected_return)
                continue
            weight = self.allocator.weights.get(name, 0.0)
            if weight <= 0.0:
                continue
            signals.append(self._signal(snapshot, intent, weight))
            if math.isfinite(price) and price > 0.0:
                self._emitted.setdefault(pair, deque()).append(_Emitted(name, ts_ms, price, intent.direction))
        return signals, allocation

    def signals_for(self, snapshot: FeatureSnapshot) -> list[Signal]:
        """`step` without the allocation (it stays in `allocations`)."""
        return self.step(snapshot)[0]

    def _attribute(self, pair: str, ts_ms: int, price: float) -> None:
        """Each signal that reached its horizon: its signed log return, net of the round trip's cost."""
        queue = self._emitted.get(pair)
        if not queue or not (math.isfinite(price) and price > 0.0):
            return
        while queue and queue[0].ts_ms + self.label_horizon_ms <= ts_ms:
            e = queue.popleft()
            ret = e.direction * math.log(price / e.price) - self.cost_log
            self.allocator.record(e.strategy, ts_ms, ret)

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


def _regrid(grid: GridStrategy, levels: int) -> GridStrategy:
    """The same grid with `levels` buy levels (default and per-pair), keeping its fills."""
    params: GridParams = dataclasses.replace(grid.params, levels=levels)
    pair_params = {pair: dataclasses.replace(p, levels=levels) for pair, p in grid.pair_params.items()}
    out = GridStrategy(params, pair_params)
    out.load_state(grid.state_dict())
    out.last_level = dict(grid.last_level)
    return out


# This worker's models; the status view reads `models_by_pair` (the same dict, pair -> labeler).
_drift_alerts: list[DriftEvent] = []


def _count_drift(pair: str) -> None:
    metrics.MODEL_DRIFT.labels(pair).inc()


signal_models = SignalModels(on_drift_count=_count_drift, on_drift_alert=_drift_alerts.append)
models_by_pair: dict[str, DelayedLabeler] = signal_models.by_pair
_applied: dict[int, int] = {}  # features partition -> last offset seen by this process
_redis: Any = None


def model_for(pair: str) -> DelayedLabeler:
    return signal_models.model_for(pair)


async def raise_drift_alerts() -> None:
    """Best effort: one warning alert per drift detection, if a Redis URL is configured."""
    global _redis
    events, _drift_alerts[:] = list(_drift_alerts), []
    if not events or settings.redis_url is None:
        return
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    from store.alerts import raise_alert

    try:
        if _redis is None:
            _redis = aioredis.Redis.from_url(settings.redis_url)
        for e in events:
            message = (
                f"model error drifted on {e.key} (detection {e.detections}, error now "
                f"{e.window_mean_error:.3f}): {e.action}"
            )
            await raise_alert(_redis, "warning", f"model.drift.{e.key}", message)
    except (RedisError, OSError) as exc:
        log.warning("drift alerts not raised: %s", exc)


# Snapshots wait here until every assigned features partition has passed their event time, then are scored
# in (event time, pair) order: the signals, their order on `signals` and the bandit's cycles are then the
# same in every run of the same input, crashes included (`agents.event_order`).
_merge: EventTimeMerge[tuple[FeatureSnapshot, float]] = EventTimeMerge(
    settings.model_idle_partition_ms, settings.model_progress_idle_ms
)
_step_lock = asyncio.Lock()  # held while the agent scores a batch (the revocation handler looks at it)
# Partitions sought back to a checkpoint: features partition -> the offset the seek resumed at. Faust's
# fetch loop may still hand over records fetched before the seek, and each moves its read offset past
# it, so the records the seek brings back are dropped as already read. Until the resumed offset arrives,
# a record beyond it is dropped and the partition sought again (`agents.risk` does the same).
_settling: dict[int, int] = {}
_reseek: set[int] = set()
_last_reseek: dict[int, float] = {}
MARKER_SLACK = 1  # under transactions the resumed offset may be a commit marker
RESEEK_INTERVAL_S = 0.2


def _settled(partition: int, offset: int) -> bool:
    """False for a record fetched before the seek to `partition`'s checkpoint (it will come again)."""
    resumed = _settling.get(partition)
    if resumed is None:
        return True
    if offset > resumed + MARKER_SLACK:
        _reseek.add(partition)
        return False
    if offset >= resumed:
        del _settling[partition]
    return True


async def _reseek_settling() -> None:
    now, owned, topic = time.monotonic(), set(app.consumer.assignment()), features_topic.get_topic_name()
    for partition in sorted(_reseek):
        resumed = _settling.get(partition)
        if resumed is None or now - _last_reseek.get(partition, 0.0) < RESEEK_INTERVAL_S:
            continue
        if TP(topic, partition) not in owned:
            continue
        _last_reseek[partition] = now
        await app.consumer.seek(TP(topic, partition), resumed)
        log.info(
            "features partition read again from its checkpoint",
            extra={"topic": features_topic.get_topic_name(), "partition": partition, "offset": resumed},
        )
    _reseek.clear()


@app.timer(interval=1.0, on_leader=False)
async def watch_settling() -> None:
    """Seek again where the fetch loop overwrote the seek and nothing more arrives to show it (the
    records beyond it are what the agent notices otherwise): its read offset is past the resumed one."""
    if not _settling:
        return
    read, topic = fetch_read_offsets(app.consumer), features_topic.get_topic_name()
    for partition, resumed in list(_settling.items()):
        at = read.get(TP(topic, partition))
        if at is not None and at > resumed + MARKER_SLACK:
            _reseek.add(partition)
    await _reseek_settling()


def _now_ms() -> float:
    return time.monotonic() * 1000.0


async def _release(now_ms: float) -> int:
    """Score every snapshot the watermark has passed and publish its signals; how many were scored."""
    key = settings.portfolio.encode()
    scored = 0
    late = _merge.late
    ready = _merge.pop_ready(now_ms)
    if _merge.late > late:
        metrics.MERGE_LATE.inc(_merge.late - late)
    metrics.MERGE_HELD.set(_merge.held)
    for held in ready:
        snapshot, broker_ms = held.item
        if not signal_models.is_new(snapshot):
            continue  # a re-emitted snapshot, or one a restored model already scored
        scored += 1
        signals, allocation = signal_models.step(snapshot)
        for signal in signals:
            await signals_topic.send(key=key, value=encode(signal))
            metrics.observe_hop("features_to_signals", broker_ms)
            log.info(
                "signal",
                extra={
                    "correlation_id": snapshot.id,
                    "pair": signal.pair,
                    "topic": features_topic.get_topic_name(),
                    "partition": held.partition,
                    "offset": held.offset,
                    "direction": signal.direction,
                    "strategy": signal.strategy,
                    "weight": signal.weight,
                },
            )
        if allocation is not None:
            await allocations_topic.send(key=key, value=encode(allocation))
            log.info("allocation", extra={"allocation_id": allocation.id, "weights": allocation.weights})
    return scored


@app.agent(features_topic)
async def predict_signals(stream: Any) -> None:
    """features -> signals (keyed by portfolio: one risk agent decides them in order) and allocations."""
    async for events in stream.take_events(500, within=settings.batch_within_s):
        metrics.EVENTS.labels("predict_signals").inc(len(events))
        async with _step_lock:
            now = _now_ms()
            for event in events:
                msg = event.message
                if not _settled(msg.partition, msg.offset):
                    continue
                if msg.offset <= _applied.get(msg.partition, -1):
                    continue
                _applied[msg.partition] = msg.offset
                if msg.key == PROGRESS_KEY:
                    try:
                        progress = decode(Progress, msg.value)
                    except DecodeError as exc:
                        _merge.seen(msg.partition, msg.offset, now)
                        await send_dead_letter(dlq_features_topic, event, str(exc), "predict_signals")
                        continue
                    _merge.seen(msg.partition, msg.offset, now, progress.ts_ms, steady=progress.steady)
                    continue
                try:
                    snapshot = decode(FeatureSnapshot, msg.value)
                except DecodeError as exc:
                    _merge.seen(msg.partition, msg.offset, now)
                    await send_dead_letter(dlq_features_topic, event, str(exc), "predict_signals")
                    continue
                _partition_pairs.setdefault(msg.partition, set()).add(snapshot.pair)
                _merge.push(
                    msg.partition,
                    msg.offset,
                    snapshot.ts_ms,
                    snapshot.pair,
                    snapshot.id,
                    (snapshot, msg.timestamp * 1000.0),
                    now,
                )
            await _reseek_settling()
            await _release(now)
            if time.monotonic() >= _next_checkpoint[0]:
                # here every released snapshot's signals have been sent; held ones are not in the offsets
                _next_checkpoint[0] = time.monotonic() + settings.model_checkpoint_interval_s
                await save_checkpoints(list(_partition_pairs))
        await raise_drift_alerts()


@app.timer(interval=0.1, on_leader=False)
async def release_idle_partitions() -> None:
    """Snapshots held for a partition that went quiet are released once it counts as idle, also when no
    batch arrives to do it (at the end of a stream they waited for the next worker's shutdown)."""
    if _merge.held:
        async with _step_lock:
            await _release(_now_ms())


_partition_pairs: dict[int, set[str]] = {}  # features partition -> the pairs it carried to this worker
_next_checkpoint = [time.monotonic() + settings.model_checkpoint_interval_s]
_pool: Any = None


def checkpoint_key(partition: int) -> str:
    return f"{settings.app_id}:features:{partition}"


async def _db() -> Any:
    global _pool
    if _pool is None:
        from store.db import create_pool

        assert settings.database_url is not None
        _pool = await create_pool(settings.database_url, max_size=2)
    return _pool


async def save_checkpoints(partitions: Iterable[int]) -> int:
    """Save each partition's models with the last features offset they reflect, in one transaction (their
    bandit copies then agree); how many were saved. Payloads are pickled before the first await, so each
    is consistent with its offset. Call it holding `_step_lock`."""
    if settings.database_url is None:
        return 0
    payloads = []
    for p in partitions:
        offset = _merge.resume_offset(p)
        if offset is None:
            continue
        checkpoint = signal_models.checkpoint(_partition_pairs.get(p, ()), offset)
        payloads.append((p, offset, dump_partition(checkpoint)))
    if not payloads:
        return 0
    from core.errors import ServiceError

    try:
        pool = await _db()
        async with pool.acquire() as conn, conn.transaction():
            for partition, offset, payload in payloads:
                size = await save_partition(conn, checkpoint_key(partition), payload, int(time.time() * 1000))
                log.info(
                    "model checkpoint saved",
                    extra={
                        "topic": features_topic.get_topic_name(),
                        "partition": partition,
                        "offset": offset,
                        "bytes": size,
                    },
                )
    except (OSError, ServiceError, asyncpg.PostgresError) as exc:
        log.warning("model checkpoints not saved (the next interval retries): %s", exc)
        return 0
    return len(payloads)


KEEP = -2  # restore_partition: this process already holds the partition
FROM_START = 0  # restore_partition: no checkpoint, read the partition's log from its start


async def restore_partition(partition: int) -> int:
    """Load a features partition's checkpoint into this worker's models; the offset to resume at.

    A partition this process already holds (kept across a rebalance) is not rolled back (`KEEP`). Without
    a checkpoint the partition is read from its start (`FROM_START`): a model that skipped the snapshots
    before the committed offset would score the rest differently from one that saw them all.
    """
    if partition in _applied:
        return KEEP
    if settings.database_url is None:
        return FROM_START
    pool = await _db()
    async with pool.acquire() as conn:
        checkpoint = await load_partition(conn, checkpoint_key(partition))
    if checkpoint is None:
        return FROM_START
    signal_models.restore(checkpoint)
    _applied[partition] = checkpoint.offset
    _partition_pairs[partition] = set(checkpoint.labelers)
    log.info(
        "model checkpoint restored",
        extra={
            "topic": features_topic.get_topic_name(),
            "partition": partition,
            "offset": checkpoint.offset,
            "labels": checkpoint.labels,
        },
    )
    return checkpoint.offset + 1


@app.on_partitions_revoked.connect  # type: ignore[arg-type]  # Faust passes `signal=` in kwargs
async def _save_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
    """Save the revoked features partitions' models, then forget them: their next owner restores them."""
    topic = features_topic.get_topic_name()
    partitions = [tp.partition for tp in revoked if tp.topic == topic and tp.partition in _applied]
    if not partitions:
        return
    # Never wait for the agent here: a batch that is sending signals can be held up by the rebalance this
    # handler is part of, and waiting for it stalled whole workers (the crash test). The payloads are taken
    # before the first await, so a save is consistent; while a batch runs, the next owner restores the
    # last periodic checkpoint instead and replays from there.
    if _step_lock.locked():
        log.info("model checkpoints on revocation skipped: a batch is being scored")
    else:
        await save_checkpoints(partitions)
    _merge.revoke(partitions)
    for p in partitions:
        signal_models.forget(_partition_pairs.pop(p, set()))
        _applied.pop(p, None)
        _settling.pop(p, None)


def resume_features_at_checkpoints() -> None:
    """After every assignment, restore the assigned features partitions' models and resume each one
    past the offset its checkpoint reflects (the pattern of `agents.execution`'s seek): a restarted
    worker continues learning where the checkpoint stopped instead of from scratch.
    """
    consumer_cls = FaustConsumer
    if getattr(consumer_cls.perform_seek, "_solbot_model_seek", False):
        return
    original = consumer_cls.perform_seek

    async def perform_seek(self: Any) -> None:
        topic = features_topic.get_topic_name()
        # Faust resumes the partitions before this seek and its fetcher is running: hold the partitions
        # this process does not hold yet, or snapshots would reach the fresh models before the restore.
        gained = [tp for tp in self.assignment() if tp.topic == topic and tp.partition not in _applied]
        self.pause_partitions(gained)
        try:
            await original(self)
            for tp in gained:
                resume_at = await restore_partition(tp.partition)
                if resume_at != KEEP:
                    await self.seek(tp, resume_at)
                    _settling[tp.partition] = resume_at
            _merge.assign([tp.partition for tp in gained], _now_ms())
        finally:
            self.resume_partitions(gained)

    perform_seek._solbot_model_seek = True  # type: ignore[attr-defined]
    consumer_cls.perform_seek = perform_seek  # type: ignore[method-assign]


# Installed on import, before `solbot worker` starts the app (and before execution's seek wraps this one).
resume_features_at_checkpoints()


def apply_params_records(records: Iterable[StrategyParams]) -> int:
    """Apply operator parameters to this worker's book; how many changed it."""
    return sum(signal_models.apply_params(r) for r in records)


@app.agent(strategy_params_topic)
async def apply_strategy_params(stream: Any) -> None:
    """strategy.params -> this worker's strategy book (latest record per strategy wins)."""
    async for event in stream.events():
        try:
            record = decode(StrategyParams, event.message.value)
        except DecodeError as exc:
            log.warning(
                "bad strategy parameters skipped: %s",
                exc,
                extra={"topic": event.message.topic, "offset": event.message.offset},
            )
            continue
        apply_params_records([record])


async def load_params_from_db() -> int:
    """The operator parameters saved in Postgres (`strategy_params`): what a worker starts with."""
    if settings.database_url is None:
        return 0
    try:
        conn = await asyncpg.connect(settings.database_url)
    except (OSError, asyncpg.PostgresError) as exc:
        log.warning("strategy parameters not loaded: %s", exc)
        return 0
    try:
        records = await read_strategy_params(conn)
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()
    return apply_params_records(records)


@app.timer(interval=10.0, on_leader=False)
async def refresh_strategy_params() -> None:
    """Every worker re-reads the saved parameters: `strategy.params` has one partition, so only one
    worker's agent sees each record; the others converge within this interval."""
    await load_params_from_db()


__all__ = ["MODEL_NAME", "SignalModels", "StrategyControl", "model_for", "models_by_pair", "signal_models"]
