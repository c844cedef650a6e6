"""Progress records from a source: what lets the pipeline order events across partitions without waiting.

A consumer that merges several partitions by event time (the model agent, `streams.event_order`) can only
release an event once every partition has passed it; a partition carrying a quiet pair says nothing for
seconds. The source knows better: it writes in event-time order, so after each batch it can tell every
partition "nothing earlier than this is coming" (`streams.records.Progress`, key `PROGRESS_KEY`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from streams.codec import encode
from streams.records import PROGRESS_KEY, Progress

STEP_MS = 20  # event time between two rounds of progress records (the merge waits up to this long)


class ProgressBeacon:
    """Sends a `Progress` to every partition of `topic` once event time has moved `step_ms` on."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, step_ms: int = STEP_MS) -> None:
        self.producer = producer
        self.topic = topic
        self.step_ms = step_ms
        self.partitions: list[int] = []
        self.last_ms = -(2**62)
        self.sent = 0

    async def start(self) -> None:
        self.partitions = sorted(await self.producer.partitions_for(self.topic))

    async def advance(self, ts_ms: int, *, force: bool = False) -> list[asyncio.Future[Any]]:
        """Every record this source writes from now on has `ts_ms` or later; returns the deliveries."""
        if ts_ms <= self.last_ms or (ts_ms - self.last_ms < self.step_ms and not force):
            return []
        self.last_ms = ts_ms
        out = []
        for p in self.partitions:
            value = encode(Progress(source_partition=p, ts_ms=ts_ms))
            out.append(await self.producer.send(self.topic, value=value, key=PROGRESS_KEY, partition=p))
        self.sent += len(out)
        return out
