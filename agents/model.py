"""The model agent: feature snapshots -> signals and allocations, through `models.signals.SignalModels`.

Snapshots wait in an event-time merge (`streams.event_order`) until every assigned features partition has
passed their event time, then are scored in (event time, pair) order: the signals, their order on
`signals` and the bandit's cycles are the same in every run of the same input, crashes included. Each
features partition's models are checkpointed to Postgres with the offset they reflect; a worker assigned
the partition restores them and resumes right after that offset (a resume hook, `streams.compat.seeks`).
Operators' strategy parameters come from `strategy.params` and, every 10 s, from Postgres.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg
from faust.types import TP

from agents.context import WorkerContext
from agents.recovery import BatchRecovery
from core import metrics
from core.errors import DecodeError, TransactionLost
from models.checkpoint_seal import CheckpointSealer
from models.checkpoints import dump_partition, load_partition, save_partition
from models.drift import DriftEvent
from models.signals import SignalModels, price_mark
from store.db import DATABASE_DOWN
from store.strategy_params import read_strategy_params
from streams.codec import decode, encode
from streams.compat.batches import BatchWindow, take_batches
from streams.compat.consumer import assignment
from streams.compat.dead_letters import send_dead_letter
from streams.compat.seeks import ResumeAfter, ResumeAt, ResumePoint
from streams.compat.transactions import outputs_of
from streams.event_order import NO_TIME, EventTimeMerge
from streams.records import PROGRESS_KEY, FeatureSnapshot, Progress, StrategyParams

log = logging.getLogger(__name__)

RESTORE_WAIT_S = 60.0  # how long a partition's resume waits for Postgres to read its model checkpoint

PUBLISH_FIRST_BACKOFF_S = 0.05
PUBLISH_MAX_BACKOFF_S = 5.0


def _now_ms() -> float:
    return time.monotonic() * 1000.0


def _count_drift(pair: str) -> None:
    metrics.MODEL_DRIFT.labels(pair).inc()


class ModelRunner:
    """The model agent of one worker: its models, merge and checkpoints (no module state)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        s = ctx.settings
        self.drift_events: list[DriftEvent] = []
        self.models = SignalModels.from_settings(
            s, on_drift_count=_count_drift, on_drift_alert=self.drift_events.append
        )
        self.merge: EventTimeMerge[tuple[FeatureSnapshot, float]] = EventTimeMerge(
            s.model_idle_partition_ms, s.model_progress_idle_ms
        )
        self.window = BatchWindow(s.batch_within_s, s.batch_max_within_s)
        self.applied: dict[int, int] = {}  # features partition -> last offset seen by this process
        self.partition_pairs: dict[int, set[str]] = {}  # features partition -> the pairs it carried here
        self.pair_partition: dict[str, int] = {}  # pair -> its features partition (kept past revocations)
        self.forwarded: dict[int, int] = {}  # features partition -> the progress last sent on `signals`
        self.step_lock = asyncio.Lock()  # held while a batch is scored (the revocation handler looks at it)
        self.checkpoint_lock = asyncio.Lock()  # checkpoints are written in the order they were taken
        self.next_checkpoint = time.monotonic() + s.model_checkpoint_interval_s
        self.features_topic = ctx.topics.features_topic.get_topic_name()
        self.faults = ctx.faults
        self.recovery = BatchRecovery(ctx, "model", [self.features_topic], self._forget_all)
        self._sealer: CheckpointSealer | None = None

    @property
    def sealer(self) -> CheckpointSealer:
        """The checkpoints' HMAC key, read (or made) on first use: a worker without a database needs none."""
        if self._sealer is None:
            self._sealer = CheckpointSealer.for_settings(self.ctx.settings)
        return self._sealer

    def register(self) -> None:
        ctx, app, topics = self.ctx, self.ctx.app, self.ctx.topics

        async def predict_signals(stream: Any) -> None:
            """features -> signals (keyed by portfolio: one risk agent decides them in order), allocations."""
            async for events in take_batches(stream, 500, self.window):
                await self.process(self.recovery.fresh(events))

        async def release_idle_partitions() -> None:
            """Snapshots held for a partition that went quiet are released once it counts as idle, also when
            no batch arrives to do it (at the end of a stream they waited for the next worker's shutdown)."""
            if self.merge.held:
                async with self.step_lock:
                    await self.release_or_rewind([], _now_ms())

        async def apply_strategy_params(stream: Any) -> None:
            """strategy.params -> this worker's strategy book (latest record per strategy wins)."""
            async for event in stream.events():
                self.apply_params_message(event.message)

        async def refresh_strategy_params() -> None:
            """Every worker re-reads the saved parameters: `strategy.params` has one partition, so only one
            worker's agent sees each record; the others converge within this interval."""
            await self.load_params_from_db()

        app.agent(topics.features_topic, name="agents.model.predict_signals")(predict_signals)
        app.timer(interval=0.1, on_leader=False, name="agents.model.release_idle_partitions")(
            release_idle_partitions
        )
        app.agent(topics.strategy_params_topic, name="agents.model.apply_strategy_params")(
            apply_strategy_params
        )
        app.timer(interval=10.0, on_leader=False, name="agents.model.refresh_strategy_params")(
            refresh_strategy_params
        )
        app.on_partitions_revoked.connect(self.on_revoked)  # type: ignore[arg-type]  # Faust passes signal=
        ctx.compat.hooks.register("model checkpoints", [self.features_topic], self.resume_points)

    # -- scoring -------------------------------------------------------------------------------------

    async def process(self, events: list[Any]) -> None:
        """One batch of features records: into the merge, then score what the watermark has passed."""
        metrics.EVENTS.labels("predict_signals").inc(len(events))
        async with self.step_lock:
            now = _now_ms()
            if not await self.release_or_rewind(events, now):
                return
            payloads = []
            if time.monotonic() >= self.next_checkpoint:
                # here every released snapshot's signals have been sent; held ones are not in the offsets
                self.next_checkpoint = time.monotonic() + self.ctx.settings.model_checkpoint_interval_s
                payloads = self.checkpoint_payloads(list(self.partition_pairs))
        await self.write_checkpoints(payloads)  # once their signals are committed, not holding the lock
        await self.raise_drift_alerts()

    async def release_or_rewind(self, events: list[Any], now: float) -> bool:
        """Take the batch into the merge and score what is ready; if that fails (a send refused), the models
        and the merge are forgotten and the features partitions go back to their checkpoints
        (`agents.recovery`); False then. Call holding `step_lock`."""
        try:
            for event in events:
                await self._take(event, now)
            await self.release(now)
        except Exception as exc:
            await self.recovery.failed(events, exc)
            return False
        self.recovery.succeeded()
        return True

    async def _forget_all(self) -> None:
        """Every features partition of this worker, as at a revocation without a checkpoint: the models may
        have scored snapshots whose signals never went out; the rewind restores the last checkpoints."""
        partitions = list(self.applied)
        self.merge.revoke(partitions)
        for p in partitions:
            self.models.forget(self.partition_pairs.pop(p, set()))
            self.applied.pop(p, None)
            self.forwarded.pop(p, None)

    async def _take(self, event: Any, now: float) -> None:
        msg, merge = event.message, self.merge
        if msg.offset <= self.applied.get(msg.partition, -1):
            return  # re-read after a resume (the checkpoint's own offset) or a rebalance
        self.applied[msg.partition] = msg.offset
        if msg.key == PROGRESS_KEY:
            try:
                progress = decode(Progress, msg.value)
            except DecodeError as exc:
                merge.seen(msg.partition, msg.offset, now)
                await send_dead_letter(self.ctx.topics.dlq_features_topic, event, str(exc), "predict_signals")
                return
            merge.seen(msg.partition, msg.offset, now, progress.ts_ms, steady=progress.steady)
            return
        try:
            snapshot = decode(FeatureSnapshot, msg.value)
        except DecodeError as exc:
            merge.seen(msg.partition, msg.offset, now)
            await send_dead_letter(self.ctx.topics.dlq_features_topic, event, str(exc), "predict_signals")
            return
        self.partition_pairs.setdefault(msg.partition, set()).add(snapshot.pair)
        self.pair_partition[snapshot.pair] = msg.partition
        item = (snapshot, msg.timestamp * 1000.0)
        merge.push(msg.partition, msg.offset, snapshot.ts_ms, snapshot.pair, snapshot.id, item, now)

    async def release(self, now_ms: float) -> int:
        """Score every snapshot the watermark has passed and publish its signals; how many were scored."""
        merge = self.merge
        scored = 0
        late = merge.late
        ready = merge.pop_ready(now_ms)
        if merge.late > late:
            metrics.MERGE_LATE.inc(merge.late - late)
        metrics.MERGE_HELD.set(merge.held)
        for held in ready:
            snapshot, broker_ms = held.item
            if not self.models.is_new(snapshot):
                continue  # a re-emitted snapshot, or one a restored model already scored
            scored += 1
            signals, allocation = self.models.step(snapshot)
            if not signals:
                signals = [price_mark(snapshot)]  # risk checks a held pair's stops on every price
            with outputs_of(TP(self.features_topic, held.partition)):  # the snapshot's input task
                for signal in signals:
                    signal.source_partition = held.partition
                await self.publish_until_sent(snapshot, signals, allocation, held, broker_ms)
        await self.forward_progress(now_ms)
        return scored

    async def forward_progress(self, now_ms: float) -> None:
        """Tell the risk agent how far each features partition's signals have gone out: a progress record on
        `signals` per partition whose mark moved (after its signals, in its input task's transaction). Risk
        merges the signals of every features partition in event time on these (`agents.signal_merge`),
        whichever worker's model sent them. One not sent now is sent with the next release."""
        key = PROGRESS_KEY
        for partition in list(self.applied):
            passed = self.merge.passed(partition, now_ms)
            if passed is None or passed <= self.forwarded.get(partition, NO_TIME):
                continue
            progress = Progress(source_partition=partition, ts_ms=passed, steady=True)
            try:
                with outputs_of(TP(self.features_topic, partition)):
                    await self.ctx.topics.signals_topic.send(key=key, value=encode(progress))
            except Exception as exc:  # the next release sends a newer one
                log.warning("model: progress of features/%d not sent (%s)", partition, type(exc).__name__)
                return
            self.forwarded[partition] = passed

    async def publish_until_sent(
        self, snapshot: FeatureSnapshot, signals: list[Any], allocation: Any, held: Any, broker_ms: float
    ) -> None:
        """Publish a scored snapshot's outputs, retrying with a growing back-off until they go out.

        The snapshot has been scored: its signals are what the models say now, and sending them again is
        harmless (risk decides a signal id once). Rewinding to the checkpoint instead would replay the
        merge, whose idle releases depend on wall time, so the replay could score differently and emit
        signals risk then takes for re-emissions (issue 16, item 1). Nothing else is scored meanwhile. A
        snapshot whose partition was revoked meanwhile is not retried (its transactional producer is gone,
        the retries would hold the agent forever): the failure goes to the batch's recovery."""
        attempt = 0
        while True:
            try:
                await self.publish(snapshot, signals, allocation, held, broker_ms)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                metrics.BATCH_FAILURES.labels("model").inc()
                if TP(self.features_topic, held.partition) not in assignment(self.ctx.app.consumer):
                    raise  # revoked meanwhile: its next owner replays it from the checkpoint; no retry
                log.warning(
                    "model: the signals of %s not sent (%s: %s); retrying",
                    snapshot.id,
                    type(exc).__name__,
                    exc,
                    extra={"correlation_id": snapshot.id},
                )
                await asyncio.sleep(
                    min(PUBLISH_MAX_BACKOFF_S, PUBLISH_FIRST_BACKOFF_S * 2 ** min(attempt, 10))
                )

    async def publish(
        self, snapshot: FeatureSnapshot, signals: list[Any], allocation: Any, held: Any, broker_ms: float
    ) -> None:
        """One scored snapshot's signals and allocation (inside `outputs_of` its features partition)."""
        topics = self.ctx.topics
        key = self.ctx.settings.portfolio.encode()
        if signals:
            self.faults.fire("model.publish")
        for signal in signals:
            await topics.signals_topic.send(key=key, value=encode(signal))
            metrics.observe_hop("features_to_signals", broker_ms)
            log.info(
                "signal",
                extra={
                    "correlation_id": snapshot.id,
                    "pair": signal.pair,
                    "topic": self.features_topic,
                    "partition": held.partition,
                    "offset": held.offset,
                    "direction": signal.direction,
                    "strategy": signal.strategy,
                    "weight": signal.weight,
                },
            )
        if allocation is not None:
            await topics.allocations_topic.send(key=key, value=encode(allocation))
            log.info("allocation", extra={"allocation_id": allocation.id, "weights": allocation.weights})

    async def raise_drift_alerts(self) -> None:
        """Best effort: one warning alert per drift detection, if a Redis URL is configured."""
        events, self.drift_events[:] = list(self.drift_events), []
        await self.ctx.connections.alert(
            (
                (
                    "warning",
                    f"model.drift.{e.key}",
                    f"model error drifted on {e.key} (detection {e.detections}, error now "
                    f"{e.window_mean_error:.3f}): {e.action}",
                )
                for e in events
            ),
            "drift",
        )

    # -- checkpoints ---------------------------------------------------------------------------------

    def checkpoint_key(self, partition: int) -> str:
        return f"{self.ctx.settings.app_id}:features:{partition}"

    async def _pool(self) -> asyncpg.Pool:
        return await self.ctx.connections.pool("model checkpoints", max_size=2)

    async def save_checkpoints(self, partitions: Iterable[int]) -> int:
        """Save each partition's models with the last features offset they reflect; how many were saved.
        Payloads are taken at once (call it holding `step_lock`), written once their signals are durable."""
        return await self.write_checkpoints(self.checkpoint_payloads(partitions))

    def checkpoint_payloads(self, partitions: Iterable[int]) -> list[tuple[int, int, bytes]]:
        """(partition, offset, pickled models) now: each is consistent with its offset (no await here)."""
        if self.ctx.settings.database_url is None:
            return []
        payloads = []
        for p in partitions:
            offset = self.merge.resume_offset(p)
            if offset is None or offset < 0:
                continue  # nothing of the partition applied yet: the next owner starts at its beginning
            checkpoint = self.models.checkpoint(self.partition_pairs.get(p, ()), offset)
            payloads.append((p, offset, dump_partition(checkpoint)))
        return payloads

    async def write_checkpoints(self, payloads: list[tuple[int, int, bytes]]) -> int:
        """Write the payloads in one transaction (their bandit copies then agree), only once every signal
        sent for their partitions is committed (exactly-once) or acknowledged (at-least-once): a checkpoint
        never names a signal a reader may not see. A transaction that will not commit (fenced) writes none:
        the next owner restores the previous checkpoint and replays from there."""
        if not payloads:
            return 0
        try:
            await self.ctx.compat.outputs_settled(TP(self.features_topic, p) for p, _, _ in payloads)
        except TransactionLost as exc:
            log.warning("model checkpoints not saved: their signals were not committed (%s)", exc)
            return 0
        try:
            pool = await self._pool()
            async with self.checkpoint_lock, pool.acquire() as conn, conn.transaction():
                for partition, offset, payload in payloads:
                    size = await save_partition(
                        conn, self.checkpoint_key(partition), payload, int(time.time() * 1000), self.sealer
                    )
                    log.info(
                        "model checkpoint saved",
                        extra={
                            "topic": self.features_topic,
                            "partition": partition,
                            "offset": offset,
                            "bytes": size,
                        },
                    )
        except DATABASE_DOWN as exc:
            log.warning("model checkpoints not saved (the next interval retries): %s", exc)
            return 0
        return len(payloads)

    async def restore_partition(self, partition: int) -> ResumePoint:
        """Load a features partition's checkpoint into this worker's models; where the partition resumes.

        A partition this process already holds (kept across a rebalance) is not rolled back: it resumes
        after what it applied. Without a checkpoint the partition is read from its start: a model that
        skipped the snapshots before the committed offset would score the rest differently from one that
        saw them all.
        """
        if partition in self.applied:
            return ResumeAfter(self.applied[partition])
        # What this process still holds of the partition's pairs goes: a batch scored after its revocation
        # (a fence, with the batch under way) stepped pairs again that the revocation had forgotten, and a
        # pair newer than the checkpoint then kept its last scored time and skipped its replayed snapshots
        # (`make chaos`: 54 s of a new launch's signals never sent).
        self.models.forget([pair for pair, p in self.pair_partition.items() if p == partition])
        if self.ctx.settings.database_url is None:
            return ResumeAt(0)
        checkpoint = await self._load_checkpoint(partition)
        if checkpoint is None:
            return ResumeAt(0)
        self.models.restore(checkpoint)
        self.applied[partition] = checkpoint.offset
        self.partition_pairs[partition] = set(checkpoint.labelers)
        log.info(
            "model checkpoint restored",
            extra={
                "topic": self.features_topic,
                "partition": partition,
                "offset": checkpoint.offset,
                "labels": checkpoint.labels,
            },
        )
        return ResumeAfter(checkpoint.offset)

    async def _load_checkpoint(self, partition: int) -> Any:
        """The partition's checkpoint, waiting (at most RESTORE_WAIT_S) for a Postgres that is down: a
        worker given partitions during a database restart crashed in its recovery and started over."""
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + RESTORE_WAIT_S, 0.2
        while True:
            try:
                pool = await self._pool()
                async with pool.acquire() as conn:
                    return await load_partition(conn, self.checkpoint_key(partition), self.sealer)
            except DATABASE_DOWN as exc:
                if loop.time() + pause > deadline:
                    raise
                log.warning("model checkpoint of partition %d not read yet (%s); retrying", partition, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def resume_points(
        self, assigned: Sequence[TP], committed: Mapping[TP, int | None]
    ) -> dict[TP, ResumePoint]:
        """The resume hook: restore the models of newly assigned partitions from their checkpoints; each
        partition resumes right after the offset its models reflect."""
        gained = [tp.partition for tp in assigned if tp.partition not in self.applied]
        points = {tp: await self.restore_partition(tp.partition) for tp in assigned}
        self.merge.assign(gained, _now_ms())
        return points

    async def on_revoked(self, sender: Any, revoked: set[Any], **kwargs: Any) -> None:
        """Save the revoked features partitions' models, then forget them: their next owner restores them."""
        partitions = [
            tp.partition for tp in revoked if tp.topic == self.features_topic and tp.partition in self.applied
        ]
        if not partitions:
            return
        # Never wait for the agent here: a batch that is sending signals can be held up by the rebalance this
        # handler is part of, and waiting for it stalled whole workers (the crash test). The payloads are
        # taken before the first await, so a save is consistent; while a batch runs, the next owner restores
        # the last periodic checkpoint instead and replays from there.
        if self.step_lock.locked():
            log.info("model checkpoints on revocation skipped: a batch is being scored")
        else:
            await self.write_checkpoints(self.checkpoint_payloads(partitions))
        self.merge.revoke(partitions)
        for p in partitions:
            self.models.forget(self.partition_pairs.pop(p, set()))
            self.applied.pop(p, None)
            self.forwarded.pop(p, None)

    # -- operators' parameters -----------------------------------------------------------------------

    def apply_params_records(self, records: Iterable[StrategyParams]) -> int:
        """Apply operator parameters to this worker's book; how many changed it."""
        return sum(self.models.apply_params(r) for r in records)

    def apply_params_message(self, msg: Any) -> None:
        try:
            record = decode(StrategyParams, msg.value)
        except DecodeError as exc:
            log.warning(
                "bad strategy parameters skipped: %s", exc, extra={"topic": msg.topic, "offset": msg.offset}
            )
            return
        self.apply_params_records([record])

    async def load_params_from_db(self) -> int:
        """The operator parameters saved in Postgres (`strategy_params`): what a worker starts with."""
        database_url = self.ctx.settings.database_url
        if database_url is None:
            return 0
        try:
            conn = await asyncpg.connect(database_url)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("strategy parameters not loaded: %s", exc)
            return 0
        try:
            records = await read_strategy_params(conn)
        except asyncpg.UndefinedTableError:
            return 0
        finally:
            await conn.close()
        return self.apply_params_records(records)
