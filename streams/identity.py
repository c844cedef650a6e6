"""Which broker this is, and which life of its data: the cluster id, and the epoch solbot writes into it once.

The database keeps offsets into the broker's topics (the execution sink's) and model checkpoints that name
offsets of `features`: they mean something only against the data they were written against. A cluster id
alone does not say the data are still there (Tansu answers the same id after a restart that lost every
topic; a Kafka whose log dir was wiped but whose `cluster-id` file was kept formats with the same id), so
the first record of the one-partition `broker.epoch` topic, written by the first run against the broker,
names its data: when the data go, the epoch goes with them and the next run writes a new one. Concurrent
first runs each write a candidate; the first record in the log wins, so every reader agrees.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from core.errors import ServiceError
from streams.broker import true_end_offsets
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.inspect import broker_partitions
from streams.topics import BROKER_EPOCH

log = logging.getLogger(__name__)

EPOCH_TP = TopicPartition(BROKER_EPOCH.name, 0)
READ_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class BrokerIdentity:
    cluster_id: str
    epoch: str

    def __str__(self) -> str:
        return f"cluster {self.cluster_id}, epoch {self.epoch}"


def epoch_topic_configs() -> dict[str, str]:
    """Never deleted by time or size: the epoch must outlive any retention the broker applies."""
    retention = str(BROKER_EPOCH.retention_ms if BROKER_EPOCH.retention_ms is not None else -1)
    return {"cleanup.policy": "delete", "retention.ms": retention, "retention.bytes": "-1"}


async def read_identity(
    bootstrap: str, *, write: bool = True, auth: BrokerAuth = NO_AUTH
) -> BrokerIdentity | None:
    """This broker's identity; without an epoch yet, writes one (`write`) or returns None."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        cluster_id = str(cluster.get("cluster_id") or "none")
        if BROKER_EPOCH.name not in set(await admin.list_topics()):
            if not write:
                return None
            topic = NewTopic(BROKER_EPOCH.name, 1, 1, topic_configs=epoch_topic_configs())
            try:
                await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()
    epoch = await first_epoch(bootstrap, auth)
    if epoch is None and write:
        candidate = uuid.uuid4().hex
        await _append_epoch(bootstrap, candidate, auth)
        epoch = await first_epoch(bootstrap, auth)
        if epoch is None:
            raise ServiceError(f"the broker at {bootstrap} did not return the epoch it was just sent")
        if epoch == candidate:
            log.info("broker %s: new epoch %s", cluster_id, epoch)
    return BrokerIdentity(cluster_id, epoch) if epoch is not None else None


async def first_epoch(bootstrap: str, auth: BrokerAuth = NO_AUTH) -> str | None:
    """The first record of `broker.epoch`, or None while the topic is empty."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **auth)
    await consumer.start()
    try:
        consumer.assign([EPOCH_TP])
        begin = (await consumer.beginning_offsets([EPOCH_TP]))[EPOCH_TP]
        end = (await consumer.end_offsets([EPOCH_TP]))[EPOCH_TP]
        if end <= begin:
            return None
        consumer.seek(EPOCH_TP, begin)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READ_TIMEOUT_S
        while loop.time() < deadline:
            batch = await consumer.getmany(EPOCH_TP, timeout_ms=200, max_records=1)
            for record in batch.get(EPOCH_TP, []):
                return bytes(record.value or b"").decode()
        raise ServiceError(f"the broker at {bootstrap} has an epoch record but did not return it")
    finally:
        await consumer.stop()


async def _append_epoch(bootstrap: str, epoch: str, auth: BrokerAuth = NO_AUTH) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **auth)
    await producer.start()
    try:
        await producer.send_and_wait(EPOCH_TP.topic, epoch.encode(), partition=EPOCH_TP.partition)
    finally:
        await producer.stop()


async def end_offsets(
    bootstrap: str, topics: list[str], auth: BrokerAuth = NO_AUTH
) -> dict[tuple[str, int], int]:
    """(topic, partition) -> true end offset of every partition of `topics` that exists."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **auth)
    await consumer.start()
    try:
        tps = await broker_partitions(consumer, topics)
        if not tps:
            return {}
        listed = await consumer.end_offsets(tps)
        ends = await true_end_offsets(bootstrap, tps, listed, auth)  # Tansu's ListOffsets(latest) is short
        return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}
    finally:
        await consumer.stop()
