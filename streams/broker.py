"""Plain Kafka clients the bot needs beside Faust: the bootstrap address, exact end offsets, the
transactions probe and topic creation.

Nothing here imports Faust, so the recorder, the inspector, the web API and the commands use it without
building an app. What changes Faust itself (its fetch wait, its recovery's end offsets, its seeks) is in
`streams.compat`, installed by a worker at start-up. Broker facts behind these (../shared/STACK.md):

- Tansu's ListOffsets(latest) returns the base offset of the last record batch + 1, so anything that must
  read to the true end takes it from the high watermark a fetch response carries (`true_end_offsets`).
- Tansu has no InitProducerId, so idempotent and transactional producers fail; `exactly_once` is only
  used where `probe_transactions` shows the broker has transactions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from core.errors import ServiceError
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.topics import ALL_TOPICS, FEATURE_INPUTS, RAW_SWAPS, partitions_of

log = logging.getLogger(__name__)


def bootstrap_of(broker_url: str) -> str:
    """`kafka://h1:p1;h2:p2` -> `h1:p1,h2:p2` for plain aiokafka clients."""
    rest = broker_url.split("://", 1)[-1]
    return ",".join(part.strip().rstrip("/") for part in rest.replace(";", ",").split(",") if part.strip())


async def true_end_offsets(
    bootstrap: str, partitions: Iterable[Any], listed: Mapping[Any, int], auth: BrokerAuth = NO_AUTH
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
        **auth,
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


async def probe_transactions(bootstrap: str, timeout_s: float = 5.0, auth: BrokerAuth = NO_AUTH) -> bool:
    """True when the broker grants a transactional producer id (Redpanda, Kafka), False when it refuses
    (Tansu); ServiceError when it does not answer in `timeout_s`: then nobody can tell which guarantee the
    other workers chose, and guessing could make a mixed-guarantee cluster."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id="solbot-probe", enable_idempotence=True, **auth
    )
    sender_log = logging.getLogger("aiokafka.producer.sender")
    level = sender_log.level
    sender_log.setLevel(logging.CRITICAL)  # the refusal is the answer we are asking for, not an error
    try:
        await asyncio.wait_for(producer.start(), timeout_s)
        return True
    except (TimeoutError, KafkaConnectionError, OSError) as exc:
        raise ServiceError(
            f"no answer to the transactions probe from {bootstrap} within {timeout_s:g} s ({exc!r})"
        ) from exc
    except KafkaError as exc:
        log.info("broker has no transactions (%s): exactly-once by idempotency only", type(exc).__name__)
        return False
    finally:
        sender_log.setLevel(level)
        try:
            await producer.stop()
        except Exception:  # a producer that never started may fail to stop; nothing to release
            pass


async def supports_transactions(bootstrap: str, timeout_s: float = 5.0, auth: BrokerAuth = NO_AUTH) -> bool:
    """`probe_transactions`, with no answer counted as no (benchmarks and tests that only report it)."""
    try:
        return await probe_transactions(bootstrap, timeout_s, auth)
    except ServiceError as exc:
        log.warning("%s", exc)
        return False


async def create_topics(bootstrap: str, default_partitions: int, auth: BrokerAuth = NO_AUTH) -> list[str]:
    """Create every catalogued topic that is missing; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
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
        await copartition(admin, RAW_SWAPS.name, [spec.name for spec in FEATURE_INPUTS if spec != RAW_SWAPS])
        return [t.name for t in wanted]
    finally:
        await admin.close()


TOPIC_CONFIG = 1  # DescribeConfigs' config_source of a value set on the topic itself


async def keep_longer(
    bootstrap: str, retention_ms: Mapping[str, int], auth: BrokerAuth = NO_AUTH
) -> list[str]:
    """Raise the `retention.ms` of existing topics to at least `retention_ms[name]`; returns those raised.

    Faust sets a changelog's retention only when it creates the topic, so a data directory made by an
    older version keeps the old one. AlterConfigs replaces a topic's whole configuration: its other
    topic-level values (the changelog's cleanup policy) are sent back with it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
    await admin.start()
    raised = []
    try:
        existing = set(await admin.list_topics())
        names = sorted(name for name in retention_ms if name in existing)
        if not names:
            return []
        described = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
        for response in described:
            for _error, _message, _kind, name, entries, *_ in response.resources:
                own = {e[0]: e[1] for e in entries if e[3] is TOPIC_CONFIG or e[3] is False}
                if int(own.get("retention.ms", "0") or 0) >= retention_ms[name]:
                    continue
                own["retention.ms"] = str(retention_ms[name])
                await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, own)])
                raised.append(name)
    finally:
        await admin.close()
    if raised:
        log.warning("kept the changelogs of %s longer (retention raised)", raised)
    return raised


async def copartition(admin: AIOKafkaAdminClient, base: str, others: Sequence[str]) -> dict[str, int]:
    """`others` as many partitions as `base`: the features agent's inputs must be co-partitioned (a pair's
    quotes and books land on its swaps' partition), and a topic made with fewer by an older version
    (raw.perps had one) is grown. Returns the topics grown, with their new count."""
    described = await admin.describe_topics([base, *others])
    counts = {t["topic"]: len(t["partitions"]) for t in described if t.get("partitions")}
    target = counts.get(base, 0)
    grow = {name: NewPartitions(total_count=target) for name in others if 0 < counts.get(name, 0) < target}
    if not grow:
        return {}
    try:
        await admin.create_partitions(grow)
    except KafkaError as exc:  # Tansu: the features agent dead-letters what lands on another partition
        log.warning("could not grow %s to %d partitions: %s", sorted(grow), target, exc)
        return {}
    log.warning("grew %s to %d partitions (co-partitioned with %s)", sorted(grow), target, base)
    return dict.fromkeys(grow, target)
