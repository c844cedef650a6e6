"""Where collectors put records: the broker (aiokafka), behind a one-method interface so the collectors'
logic is tested against an in-memory sink and the integration test against the real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from collectors.metrics import COLLECTOR_LAG
from streams.broker_auth import NO_AUTH, BrokerAuth


class RecordSink(Protocol):
    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        """Enqueue one message; the returned future resolves when the broker has it."""
        ...


class KafkaSink:
    """An aiokafka producer. `acks=1`, no idempotence: Tansu grants neither transactions nor idempotent
    producers, and downstream hops deduplicate by signature-derived ids anyway."""

    def __init__(
        self, bootstrap: str, *, linger_ms: int = 5, topics: tuple[str, ...] = (), auth: BrokerAuth = NO_AUTH
    ) -> None:
        self.bootstrap = bootstrap
        self.auth = auth
        self.linger_ms = linger_ms
        self.topics = topics
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            linger_ms=self.linger_ms,
            enable_idempotence=False,
            acks=1,
            **self.auth,
        )
        await self._producer.start()
        for topic in self.topics:
            # Fetch partition metadata now: otherwise the first record to each topic waits for it, and
            # every notification behind that record waits too.
            await self._producer.partitions_for(topic)

    async def stop(self) -> None:
        if self._producer is not None:
            try:
                await self._producer.flush()
            finally:
                await self._producer.stop()
                self._producer = None

    @property
    def producer(self) -> AIOKafkaProducer:
        """The started producer, for a writer that shares it (the live market's progress beacon)."""
        if self._producer is None:
            raise RuntimeError("KafkaSink.producer before start()")
        return self._producer

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        if self._producer is None:
            raise RuntimeError("KafkaSink.send before start()")
        fut: asyncio.Future[Any] = await self._producer.send(topic, value, key=key)
        return fut


def observe_produced(
    fut: asyncio.Future[Any],
    source: str,
    received_ns: int,
    on_delivered: Callable[[float], None] | None = None,
) -> None:
    """When `fut` resolves, record receipt -> acknowledged (seconds) under `<source>_produce`."""

    def done(f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return
        seconds = (time.monotonic_ns() - received_ns) / 1e9
        COLLECTOR_LAG.labels(f"{source}_produce").observe(seconds)
        if on_delivered is not None:
            on_delivered(seconds)

    fut.add_done_callback(done)
