"""What the bot must do differently on the embedded Tansu broker, in one place (see ../shared/STACK.md).

- Faust hard-codes the worker consumer's fetch wait at 1,500 ms, and Tansu answers a waiting fetch only
  when that wait expires, so every hop would cost 1.5 s: we set it from `fetch_max_wait_ms` (>= 5 ms).
- Tansu's ListOffsets(latest) returns the base offset of the last record batch + 1, so Faust's table
  recovery stops short of the changelog's end and silently loses the newest updates. We take the end
  from the high watermark a fetch response carries, which is right.
- Tansu has no InitProducerId, so idempotent and transactional producers fail; `exactly_once` is only
  used where a probe shows the broker has transactions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.topics import ALL_TOPICS, partitions_of

log = logging.getLogger(__name__)

_patched: dict[str, Any] = {}


def bootstrap_of(broker_url: str) -> str:
    """`kafka://h1:p1;h2:p2` -> `h1:p1,h2:p2` for plain aiokafka clients."""
    rest = broker_url.split("://", 1)[-1]
    return ",".join(part.strip().rstrip("/") for part in rest.replace(";", ",").split(",") if part.strip())


def set_fetch_wait(fetch_max_wait_ms: int) -> None:
    """Make Faust's worker consumer use our fetch wait instead of its hard-coded 1,500 ms."""
    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    original = _patched.setdefault("create", thread_cls._create_worker_consumer)

    def create(self: Any, transport: Any) -> AIOKafkaConsumer:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read by the fetcher created at start()
        return consumer

    thread_cls._create_worker_consumer = create  # type: ignore[method-assign]


async def true_end_offsets(
    bootstrap: str, partitions: Iterable[Any], listed: Mapping[Any, int]
) -> dict[Any, int]:
    """End offsets from fetch high watermarks, starting from what ListOffsets claimed.

    Keys come back as given (Faust passes its own TP tuples; aiokafka wants TopicPartition).
    """
    given = list(partitions)
    as_kafka = {TopicPartition(tp.topic, tp.partition): tp for tp in given}
    result = {tp: int(listed.get(tp, 0)) for tp in given}
    tps = [ktp for ktp, tp in as_kafka.items() if result[tp] > 0]
    if not tps:
        return result
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_wait_ms=10,
        max_partition_fetch_bytes=1 << 20,
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        for ktp in tps:
            consumer.seek(ktp, max(0, result[as_kafka[ktp]] - 1))
        pending = set(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while pending and loop.time() < deadline:
            await consumer.getmany(*pending, timeout_ms=50, max_records=1)
            for ktp in list(pending):
                hw = consumer.highwater(ktp)
                if hw is not None:
                    result[as_kafka[ktp]] = max(result[as_kafka[ktp]], hw)
                    pending.discard(ktp)
        if pending:
            log.warning("no high watermark within 5 s for %s; using ListOffsets", sorted(map(str, pending)))
    finally:
        await consumer.stop()
    return result


def use_exact_recovery_offsets(bootstrap: str) -> None:
    """Make Faust's recovery read changelogs to their true end on Tansu."""
    thread_cls = faust_aiokafka.AIOKafkaConsumerThread
    original = _patched.setdefault("highwaters", thread_cls._highwaters)

    async def highwaters(self: Any, partitions: list[TopicPartition]) -> Mapping[TopicPartition, int]:
        listed = await original(self, partitions)
        if self.consumer.in_transaction:
            return listed
        try:
            return await true_end_offsets(bootstrap, partitions, listed)
        except (KafkaError, OSError, AssertionError) as exc:
            log.warning("recovery end offsets from ListOffsets (may stop short on Tansu): %r", exc)
            return listed

    thread_cls._highwaters = highwaters  # type: ignore[method-assign]


async def supports_transactions(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """True when the broker grants a transactional producer id (Redpanda, Kafka); False on Tansu."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id="solbot-probe", enable_idempotence=True
    )
    sender_log = logging.getLogger("aiokafka.producer.sender")
    level = sender_log.level
    sender_log.setLevel(logging.CRITICAL)  # the refusal is the answer we are asking for, not an error
    try:
        await asyncio.wait_for(producer.start(), timeout_s)
        return True
    except (KafkaError, TimeoutError, OSError) as exc:
        log.info("broker has no transactions (%s): exactly-once by idempotency only", type(exc).__name__)
        return False
    finally:
        sender_log.setLevel(level)
        try:
            await producer.stop()
        except Exception:  # a producer that never started may fail to stop; nothing to release
            pass


async def create_topics(bootstrap: str, default_partitions: int) -> list[str]:
    """Create every catalogued topic that is missing; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(spec.name, num_partitions=partitions_of(spec, default_partitions), replication_factor=1)
            for spec in ALL_TOPICS
            if spec.name not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
        return [t.name for t in wanted]
    finally:
        await admin.close()


def fetch_read_offsets(consumer: Any) -> Mapping[Any, int | None]:
    """Faust's read offset per partition: its fetch loop drops records below it as already read.

    A seek sets it; every record the loop hands over afterwards sets it to that record's offset, records
    fetched before the seek included. Agents that seek back compare it with where they resumed.
    """
    return cast(FaustConsumer, consumer)._read_offset
