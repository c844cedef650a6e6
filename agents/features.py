"""The features agent: raw swaps in batches -> windowed bars -> feature snapshots (and progress records).

The fold is `features.folding` (no I/O); this runner feeds it Faust's tables, publishes what it returns
and sends what it could not decode to the raw hop's dead-letter topic. Records of a raw partition it was
never handed (`streams.contiguity`) are read again: the partition is sought back to the first of them, and
its records after them are neither applied nor acknowledged until they come again in order. A hole still
there after one try (the log no longer holds it) is logged as an error and counted.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.types import TP

from agents.context import WorkerContext
from core import metrics
from features.folding import FeatureFolder, ProgressMarks, fold_batch
from store import latest_prices
from streams.codec import encode
from streams.compat.batches import BatchWindow, take_batches
from streams.compat.consumer import committed_offset, generation, stale_generation
from streams.compat.dead_letters import send_dead_letters
from streams.compat.seeks import ResumeAt
from streams.compat.tables import FaustTable
from streams.compat.transactions import outputs_of
from streams.contiguity import Contiguity, Hole
from streams.records import PROGRESS_KEY
from streams.topics import CONTIGUOUS_TOPICS
from streams.validate import PoolContinuity

log = logging.getLogger(__name__)


class FeaturesRunner:
    """The features agent of one worker: its progress marks and its tables' batch-view adapters."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.progress = ProgressMarks(ctx.settings.features_progress_ms)
        self.pools = PoolContinuity()  # each pool's previous reserves (this process's memory)
        tables = ctx.tables
        raw = self.raw_topic = ctx.topics.raw_swaps_topic.get_topic_name()
        self._bars_1s = FaustTable(tables.pair_to_bar_1s, raw)
        self._bars_10s = FaustTable(tables.pair_to_bar_10s, raw)
        self._bars_60s = FaustTable(tables.pair_to_bar_60s, raw)
        self._states = FaustTable(tables.pair_to_feature_state, raw)
        # Tansu numbers offsets its own way (streams.compat.tansu): the check is for Kafka-API brokers proper.
        contiguous = () if ctx.compat.broker_kind == "tansu" else (t.name for t in CONTIGUOUS_TOPICS)
        self.contiguity = Contiguity(contiguous)
        # Partitions after a hole: the offset awaited, and whether the partition was sought back to it.
        self.blocked: dict[TP, tuple[int, bool]] = {}
        self.window = BatchWindow(ctx.settings.batch_within_s, ctx.settings.batch_max_within_s)

    def register(self) -> None:
        app, settings = self.ctx.app, self.ctx.settings

        async def build_features(stream: Any) -> None:
            """raw.swaps (with its pairs' quotes, perp books and followed pools) -> features, in batches;
            one table write per key per batch."""
            async for events in take_batches(stream, settings.batch_max_events, self.window):
                await self.process(events)

        async def changed_hands(sender: Any, partitions: set[Any], **kwargs: Any) -> None:
            self.contiguity.forget(partitions)  # revoked or newly assigned: next, the committed offset
            for tp in partitions:
                self.blocked.pop(tp, None)

        inputs = self.ctx.topics.features_inputs_topic
        app.agent(inputs, name="agents.features.build_features")(build_features)
        app.on_partitions_revoked.connect(changed_hands)  # type: ignore[arg-type]  # Faust passes signal=
        app.on_partitions_assigned.connect(changed_hands)  # type: ignore[arg-type]

    async def process(self, events: list[Any]) -> None:
        metrics.EVENTS.labels("build_features").inc(len(events))
        if self.contiguity.topics:
            events = await self.in_order(events)
        folder = FeatureFolder(
            bars_1s=self._bars_1s,
            bars_10s=self._bars_10s,
            bars_60s=self._bars_60s,
            state_table=self._states,
            snapshot_interval_ms=self.ctx.settings.snapshot_interval_ms,
        )
        skew_ms = round(self.ctx.settings.max_event_skew_s * 1000)
        batch = fold_batch(
            folder, self.progress, [e.message for e in events], pools=self.pools, skew_ms=skew_ms
        )
        features_topic = self.ctx.topics.features_topic
        # Snapshots go to the producer before the state that says they were taken: a crash in between
        # then re-emits a snapshot (same id: the model agent scores it once) instead of losing it.
        for snap in batch.snapshots:
            with outputs_of(TP(self.raw_topic, snap.source_partition)):
                await features_topic.send(key=snap.pair.encode(), value=encode(snap))
            metrics.observe_hop("raw_to_features", snap.origin_ms)
            log.info(
                "snapshot",
                extra={
                    "correlation_id": snap.id,
                    "pair": snap.pair,
                    "topic": "raw.swaps",
                    "partition": snap.source_partition,
                    "offset": snap.source_offset,
                },
            )
            metrics.saw_event(snap.pair)
        for progress in batch.progress:  # after the snapshots: they are at or below it
            with outputs_of(TP(self.raw_topic, progress.source_partition)):
                await features_topic.send(
                    key=PROGRESS_KEY, value=encode(progress), partition=progress.source_partition
                )
        folder.flush()
        dead = [(events[i], reason) for i, reason in batch.dead]
        await send_dead_letters(self.ctx.topics.dlq_raw_topic, dead, "build_features")
        if batch.snapshots:
            await latest_prices.publish(batch.snapshots)

    async def in_order(self, events: list[Any]) -> list[Any]:
        """The events to apply: each raw partition's records in order, none missing. A record past the
        expected one opens a hole: the partition is sought back to the hole's first offset, and its records
        are held (neither applied nor acknowledged, so the commit stays below the hole) until that offset
        comes, or the partition changes hands. Records fetched before the seek back are dropped."""
        check, compat, blocked = self.contiguity, self.ctx.compat, self.blocked
        app = self.ctx.app
        consumer, current = app.consumer, generation(app)  # one rebalance's generation for the whole batch

        def committed(topic: str, partition: int) -> int | None:
            return committed_offset(consumer, TP(topic, partition))

        keep: list[Any] = []
        held: list[Any] = []
        holes: dict[TP, Hole] = {}
        for event in events:
            msg = event.message
            if compat.stale(msg):  # fetched before its partition was sought back
                held.append(event)
                continue
            if stale_generation(msg, current):
                keep.append(event)  # fetched before the rebalance: Faust's stream skips it
                continue
            tp = TP(msg.topic, msg.partition)
            waiting = blocked.get(tp)
            if waiting is not None:
                first, sought = waiting
                if sought and msg.offset > first:  # read again from `first`, and it is not there
                    del blocked[tp]
                    gone = check.hole(msg.topic, msg.partition, msg.offset, committed)
                    if gone is not None:
                        self.lost(gone)
                    keep.append(event)
                    continue
                if msg.offset != first:
                    held.append(event)
                    continue
                del blocked[tp]  # the hole's first record, read again: judged as any other
            hole = check.hole(msg.topic, msg.partition, msg.offset, committed)
            if hole is None:
                keep.append(event)
                continue
            check.expect(hole.topic, hole.partition, hole.first)
            blocked[tp] = (hole.first, False)
            holes[tp] = hole
            held.append(event)
        if holes:
            try:
                points = await compat.rewind(holes, {tp: ResumeAt(h.first) for tp, h in holes.items()})
            except Exception as exc:  # revoked between the guard's look at the assignment and its seek
                log.warning("seeking back to a hole failed (%s: %s)", type(exc).__name__, exc)
                points = {}
            for tp, hole in holes.items():
                if tp in blocked:
                    blocked[tp] = (hole.first, tp in points)
                log.warning(
                    "records %d..%d of %s/%d did not reach the features agent: %s",
                    *(hole.first, hole.last, hole.topic, hole.partition),
                    "read again" if tp in points else "left to the partition's next owner",
                    extra={"topic": hole.topic, "partition": hole.partition, "offset": hole.first},
                )
        if held and compat.guard is not None:
            compat.withhold_unapplied((e.message for e in held), compat.guard.rewound_to)
        return keep

    def lost(self, hole: Hole) -> None:
        """A hole read again and skipped again: the log no longer holds it."""
        metrics.INPUT_HOLES.labels(hole.topic).inc(hole.records)
        log.error(
            "records %d..%d of %s/%d never reached the features agent: the log no longer holds them",
            hole.first,
            hole.last,
            hole.topic,
            hole.partition,
            extra={"topic": hole.topic, "partition": hole.partition, "offset": hole.first},
        )
