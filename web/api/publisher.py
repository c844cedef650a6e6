"""The web API's one Kafka producer, for control records (manual requests, strategy parameters).

Created by the lifespan when a broker is configured (routes answer 503 otherwise) and started on first
use, so the API serves reads while the broker is down. Sends wait for the broker's acknowledgement, so a
202 means the request is on the topic.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from core.errors import ServiceError
from streams.broker import bootstrap_of
from streams.broker_auth import NO_AUTH, BrokerAuth

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, broker_url: str, *, send_timeout_s: float = 10.0, auth: BrokerAuth = NO_AUTH) -> None:
        self._bootstrap = bootstrap_of(broker_url)
        self._auth = auth
        self._timeout_s = send_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _start(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=False, **self._auth
        )
        try:
            await asyncio.wait_for(producer.start(), self._timeout_s)
        except (KafkaError, OSError, TimeoutError) as exc:
            await producer.stop()
            raise ServiceError(f"cannot reach the broker: {type(exc).__name__}") from exc
        return producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(self, topic: str, key: str, value: bytes) -> None:
        """Publish and wait for the acknowledgement; `ServiceError` if the broker does not take it."""
        async with self._lock:
            if self._producer is None:
                self._producer = await self._start()
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(topic, key=key.encode(), value=value), self._timeout_s
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("publish to %s failed: %s", topic, type(exc).__name__)
            raise ServiceError(f"the broker did not accept the record ({type(exc).__name__})") from exc
