"""Topic inspection against the real embedded broker, where ListOffsets alone gives wrong ends."""

from __future__ import annotations

import asyncio
import base64
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.broker import bootstrap_of
from streams.inspect import (
    UnknownTopicError,
    decode_record,
    group_lag,
    kind_of,
    list_groups,
    list_topics,
    tail,
    topic_order,
)

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _create(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


async def _produce(
    bootstrap: str, topic: str, values: list[bytes], *, partition: int = 0, key: bytes | None = b"k"
) -> None:
    """Send all values at once, so they travel as one record batch."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value=value, key=key, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def _json_topic(bootstrap: str, n: int, partitions: int = 1) -> str:
    topic = _name("inspect")
    await _create(bootstrap, topic, partitions)
    await _produce(bootstrap, topic, [orjson.dumps({"i": i}) for i in range(n)])
    return topic


async def _collect(bootstrap: str, topic: str, **kwargs: object) -> list[dict[str, object]]:
    return [record async for record in tail(bootstrap, topic, **kwargs)]  # type: ignore[arg-type]


def test_topics_are_ordered_catalogue_first_then_changelogs() -> None:
    names = ["zz", "solbot-pair_to_bar_1s-changelog", "fills", "raw.swaps", "aa"]
    assert topic_order(names) == ["raw.swaps", "fills", "solbot-pair_to_bar_1s-changelog", "aa", "zz"]
    assert [kind_of(n) for n in ("orders", "x-changelog", "x")] == ["catalogue", "changelog", "other"]


async def test_list_shows_true_end_offsets_where_list_offsets_is_wrong(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    topic = await _json_topic(bootstrap, 300, partitions=2)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        listed = await consumer.end_offsets([TopicPartition(topic, 0)])
    finally:
        await consumer.stop()
    assert listed[TopicPartition(topic, 0)] <= 300  # Tansu: base offset of the last batch + 1; Kafka: 300
    infos = {info.topic: info for info in await list_topics(bootstrap)}
    info = infos[topic]
    assert (info.kind, info.partitions, info.end_offsets, info.messages) == ("other", 2, [300, 0], 300)
    assert info.as_json()["end_offsets"] == [300, 0]


async def test_tail_prints_the_last_n_and_from_beginning_the_first_n(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    topic = await _json_topic(bootstrap, 30)
    last5 = await _collect(bootstrap, topic, limit=5)
    assert [r["value"] for r in last5] == [{"i": i} for i in range(25, 30)]
    assert [r["offset"] for r in last5] == list(range(25, 30))
    assert last5[0]["topic"] == topic and last5[0]["partition"] == 0 and last5[0]["key"] == "k"
    assert isinstance(last5[0]["timestamp_ms"], int)
    assert [r["offset"] for r in await _collect(bootstrap, topic)] == list(range(20, 30))  # default 10
    first5 = await _collect(bootstrap, topic, from_beginning=True, limit=5)
    assert [r["value"] for r in first5] == [{"i": i} for i in range(5)]
    assert len(await _collect(bootstrap, topic, from_beginning=True)) == 30
    assert await _collect(bootstrap, topic, limit=0) == []


async def test_tail_across_partitions_goes_by_timestamp(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    topic = _name("inspect-multi")
    await _create(bootstrap, topic, 2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        base = 1_700_000_000_000
        for i in range(10):  # even timestamps on partition 0, odd on partition 1
            await producer.send(topic, value=orjson.dumps({"i": i}), partition=i % 2, timestamp_ms=base + i)
        await producer.flush()
    finally:
        await producer.stop()
    assert [r["value"] for r in await _collect(bootstrap, topic, limit=3)] == [{"i": 7}, {"i": 8}, {"i": 9}]
    first = await _collect(bootstrap, topic, from_beginning=True, limit=3)
    assert [r["value"] for r in first] == [{"i": 0}, {"i": 1}, {"i": 2}]
    only_p1 = await _collect(bootstrap, topic, limit=2, partition=1)
    assert [r["value"] for r in only_p1] == [{"i": 7}, {"i": 9}]


async def test_non_json_values_and_keys_come_out_as_base64(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    topic = _name("inspect-raw")
    await _create(bootstrap, topic, 1)
    await _produce(bootstrap, topic, [b"\xff\x00not json"], key=b"\xfe\xff")
    await _produce(bootstrap, topic, [b"[1, 2]"], key=None)
    raw, listed = await _collect(bootstrap, topic, from_beginning=True)
    assert raw["value"] == {"_raw_b64": base64.b64encode(b"\xff\x00not json").decode()}
    assert raw["key"] == {"_raw_b64": base64.b64encode(b"\xfe\xff").decode()}
    assert (listed["key"], listed["value"]) == (None, [1, 2])


async def test_follow_prints_new_records_until_cancelled(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    topic = await _json_topic(bootstrap, 3)
    records = tail(bootstrap, topic, limit=2, follow=True)
    try:
        history = [await asyncio.wait_for(anext(records), 10) for _ in range(2)]
        assert [r["value"] for r in history] == [{"i": 1}, {"i": 2}]
        await _produce(bootstrap, topic, [orjson.dumps({"i": 3}), orjson.dumps({"i": 4})])
        new = [await asyncio.wait_for(anext(records), 10) for _ in range(2)]
        assert [(r["offset"], r["value"]) for r in new] == [(3, {"i": 3}), (4, {"i": 4})]
    finally:
        await records.aclose()


async def test_unknown_topic_is_an_error_and_is_not_created(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    topic = _name("no-such-topic")
    with pytest.raises(UnknownTopicError):
        await _collect(bootstrap, topic)
    assert topic not in {info.topic for info in await list_topics(bootstrap)}


async def test_lag_after_a_group_commits(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    topic = await _json_topic(bootstrap, 20, partitions=2)
    group = _name("group")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])  # commits without a join (Tansu joins take 5 s)
        await consumer.commit({TopicPartition(topic, 0): 7})
    finally:
        await consumer.stop()
    assert group in await list_groups(bootstrap)
    (entry,) = await group_lag(bootstrap, [group])
    assert entry.error is None
    assert [r.as_json() for r in entry.rows] == [
        {"group": group, "topic": topic, "partition": 0, "committed": 7, "end": 20, "lag": 13}
    ]
    everyone = {e.group: e for e in await group_lag(bootstrap)}
    assert [r.lag for r in everyone[group].rows] == [13]
    (empty,) = await group_lag(bootstrap, [_name("never-committed")])
    assert empty.rows == [] and empty.error is None


def test_decode_record_of_a_tombstone() -> None:
    from aiokafka import ConsumerRecord

    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic="t",
        partition=0,
        offset=1,
        timestamp=5,
        timestamp_type=0,
        key=b"k",
        value=None,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=-1,
        headers=[],
    )
    assert decode_record(record) == {
        "topic": "t",
        "partition": 0,
        "offset": 1,
        "timestamp_ms": 5,
        "key": "k",
        "value": None,
    }
