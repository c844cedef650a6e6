"""The features agent: raw swaps in batches -> windowed bars -> feature snapshots (and progress records).

The fold is `features.folding` (no I/O); this runner feeds it Faust's tables, publishes what it returns
and sends what it could not decode to the raw hop's dead-letter topic. Records of a raw partition it was
never handed (`streams.contiguity`) are logged as an error and counted.
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
from streams.compat.consumer import committed_offset, generation, stale_generation
from streams.compat.dead_letters import send_dead_letters
from streams.compat.tables import FaustTable
from streams.compat.transactions import outputs_of
from streams.contiguity import Contiguity
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

    def register(self) -> None:
        app, settings = self.ctx.app, self.ctx.settings

        async def build_features(stream: Any) -> None:
            """raw.swaps (with its pairs' quotes, perp books and followed pools) -> features, in batches;
            one table write per key per batch."""
            async for events in stream.take_events(settings.batch_max_events, within=settings.batch_within_s):
                await self.process(events)

        async def changed_hands(sender: Any, partitions: set[Any], **kwargs: Any) -> None:
            self.contiguity.forget(partitions)  # revoked or newly assigned: next, the committed offset

        inputs = self.ctx.topics.features_inputs_topic
        app.agent(inputs, name="agents.features.build_features")(build_features)
        app.on_partitions_revoked.connect(changed_hands)  # type: ignore[arg-type]  # Faust passes signal=
        app.on_partitions_assigned.connect(changed_hands)  # type: ignore[arg-type]

    async def process(self, events: list[Any]) -> None:
        metrics.EVENTS.labels("build_features").inc(len(events))
        if self.contiguity.topics:
            self.note_holes(events)
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

    def note_holes(self, events: list[Any]) -> None:
        """Log and count the records of a raw partition this agent was never handed: the group commits past
        them, so no worker applies them (the records fetched before the latest rebalance are not judged)."""
        app, check = self.ctx.app, self.contiguity
        consumer, current = app.consumer, generation(app)  # one rebalance's generation for the whole batch

        def committed(topic: str, partition: int) -> int | None:
            return committed_offset(consumer, TP(topic, partition))

        for event in events:
            msg = event.message
            if stale_generation(msg, current):
                continue
            hole = check.hole(msg.topic, msg.partition, msg.offset, committed)
            if hole is None:
                continue
            metrics.INPUT_HOLES.labels(hole.topic).inc(hole.records)
            log.error(
                "records %d..%d of %s/%d never reached the features agent: the group counts them as read",
                hole.first,
                hole.last,
                hole.topic,
                hole.partition,
                extra={"topic": hole.topic, "partition": hole.partition, "offset": hole.first},
            )
