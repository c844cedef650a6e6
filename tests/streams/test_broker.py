"""The Tansu workarounds, checked against a real Tansu broker (the embedded default is Kafka when Java is
here; docs/broker.md says which workarounds Kafka does not need)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.types import TP

from streams.broker import bootstrap_of, create_topics, supports_transactions, true_end_offsets
from streams.topics import ALL_TOPICS

pytestmark = pytest.mark.integration


def test_bootstrap_of_accepts_faust_urls() -> None:
    assert bootstrap_of("kafka://a:1;b:2") == "a:1,b:2"
    assert bootstrap_of("kafka://127.0.0.1:9092/") == "127.0.0.1:9092"


async def test_true_end_offsets_fixes_what_list_offsets_gets_wrong(tansu_broker_url: str) -> None:
    bootstrap = bootstrap_of(tansu_broker_url)
    topic = f"compat-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        for i in range(300):  # sent together: one record batch
            await producer.send(topic, value=b"%d" % i, partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        listed = await consumer.end_offsets([tp])
    finally:
        await consumer.stop()
    assert listed[tp] < 300  # Tansu's ListOffsets: base offset of the last batch + 1
    faust_tp = TP(topic, 0)  # Faust's recovery passes its own tuples
    exact = await true_end_offsets(bootstrap, [faust_tp], {faust_tp: listed[tp]})
    assert exact == {faust_tp: 300}


async def test_tansu_has_no_transactions(tansu_broker_url: str) -> None:
    assert await supports_transactions(bootstrap_of(tansu_broker_url), timeout_s=5) is False


async def test_create_topics_is_idempotent(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    await create_topics(bootstrap, 4)
    assert await create_topics(bootstrap, 4) == []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        topics = await consumer.topics()
    finally:
        await consumer.stop()
    assert {t.name for t in ALL_TOPICS} <= topics


async def test_the_features_inputs_are_grown_to_the_swaps_partitions(stack: object) -> None:
    """raw.perps was made with one partition by older versions; the features agent reads it with raw.swaps,
    so `create_topics` grows it (on Kafka) to raw.swaps' count: a pair's perp book meets its swaps."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from streams.broker import copartition

    bootstrap = bootstrap_of(stack.broker_url)  # type: ignore[attr-defined]
    base, other = f"swaps-{uuid.uuid4().hex[:8]}", f"perps-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(base, 4, 1), NewTopic(other, 1, 1)])
        for _ in range(100):  # the metadata has new topics a moment after CreateTopics is answered
            described = await admin.describe_topics([base, other])
            if all(t.get("partitions") for t in described):
                break
            await asyncio.sleep(0.1)
        assert await copartition(admin, base, [other]) == {other: 4}
        # the broker applies new partitions to its metadata a moment after it answers CreatePartitions
        for _ in range(100):
            described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics([other])}
            if described == {other: 4}:
                break
            await asyncio.sleep(0.1)
        assert described == {other: 4}
        assert await copartition(admin, base, [other]) == {}  # already co-partitioned: nothing to do
    finally:
        await admin.close()


async def test_an_existing_changelog_is_kept_longer_with_its_cleanup_policy(stack: object) -> None:
    """A windowed changelog made by an older version has Faust's 90 s retention: a partition whose owner
    was down that long lost every bar. `keep_longer` raises it and keeps the topic's other settings."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from streams.broker import keep_longer

    bootstrap = bootstrap_of(stack.broker_url)  # type: ignore[attr-defined]
    name = f"changelog-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name, 1, 1, topic_configs={"cleanup.policy": "compact,delete", "retention.ms": "90000"}
                )
            ]
        )
        # The create answers once the controller has the topic; the broker's metadata may list it a moment
        # later (it did not on a busy box), and keep_longer only raises topics it can list.
        for _ in range(200):  # up to 20 s
            if name in set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
        assert await keep_longer(bootstrap, {name: 3_690_000, "no-such-topic": 1}) == [name]
        assert await keep_longer(bootstrap, {name: 3_690_000}) == []  # already long enough
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        values = {e[0]: e[1] for e in response.resources[0][4]}
        assert values["retention.ms"] == "3690000" and values["cleanup.policy"] == "compact,delete"
    finally:
        await admin.close()
