"""What Faust must do differently on the embedded Tansu broker (see ../shared/STACK.md); nothing elsewhere.

- Faust hard-codes the worker consumer's fetch wait at 1,500 ms, and Tansu answers a waiting fetch only
  when that wait expires, so every hop would cost 1.5 s: its consumer gets `fetch_max_wait_ms` (>= 5 ms).
  Kafka and Redpanda answer a waiting fetch as soon as data arrives: Faust's wait costs them nothing.
- Tansu's ListOffsets(latest) returns the base offset of the last record batch + 1, so Faust's table
  recovery would stop short of a changelog's end and silently lose the newest updates: recovery takes the
  end from the high watermark a fetch response carries (`streams.broker.true_end_offsets`), which is right.

Both apply to one consumer thread's instance (`install_tansu_workarounds`), never to a class.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from streams.broker import true_end_offsets

log = logging.getLogger(__name__)


def install_tansu_workarounds(consumer_thread: Any, *, bootstrap: str, fetch_max_wait_ms: int) -> None:
    """Give one Faust consumer thread (`consumer._thread`) our fetch wait and exact recovery end offsets."""
    create, highwaters = consumer_thread._create_worker_consumer, consumer_thread._highwaters

    def create_worker_consumer(transport: Any) -> AIOKafkaConsumer:
        consumer = create(transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read by the fetcher created at start()
        return consumer

    async def exact_highwaters(partitions: list[Any]) -> Mapping[Any, int]:
        listed = await highwaters(partitions)
        if consumer_thread.consumer.in_transaction:
            return listed
        try:
            return await true_end_offsets(bootstrap, partitions, listed)
        except (KafkaError, OSError, AssertionError) as exc:
            log.warning("recovery end offsets from ListOffsets (may stop short on Tansu): %r", exc)
            return listed

    consumer_thread._create_worker_consumer = create_worker_consumer
    consumer_thread._highwaters = exact_highwaters
