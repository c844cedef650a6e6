"""Read-only views of the broker for operators: topics with their true ends, records, consumer lag.

Every end offset here comes from `true_end_offsets` (a fetch's high watermark), never from ListOffsets
alone: on Tansu ListOffsets(latest) returns the base offset of the last record batch + 1, so a topic
written in one batch would look almost empty and every lag figure would be short.

Tansu answers OffsetFetch only when the partitions are named: the "all partitions of the group" form
(null topics, KIP-88) gets a malformed response and the connection is dropped. So `group_lag` asks for
every partition of every topic explicitly, which every broker supports.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streams.broker import true_end_offsets
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.topics import ALL_TOPICS

# Tansu stalls partitions below ~5 ms and answers a waiting fetch only when the wait expires.
FETCH_WAIT_MS = 20
# Records may be up to 15 MB on the pipeline's topics; a smaller limit would stall on one of them.
MAX_PARTITION_FETCH_BYTES = 16 * 1024 * 1024
DEFAULT_TAIL = 10

_CATALOGUE = [spec.name for spec in ALL_TOPICS]


class UnknownTopicError(LookupError):
    """The topic does not exist on the broker (we never create it by asking)."""


class UnsupportedByBrokerError(RuntimeError):
    """The broker does not answer a request this view needs; the message says which."""


@dataclass(frozen=True)
class TopicInfo:
    topic: str
    kind: str  # "catalogue" | "changelog" | "other"
    start_offsets: list[int]  # by partition
    end_offsets: list[int]  # true ends, by partition

    @property
    def partitions(self) -> int:
        return len(self.end_offsets)

    @property
    def messages(self) -> int:
        return sum(end - start for start, end in zip(self.start_offsets, self.end_offsets, strict=True))

    def as_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "kind": self.kind,
            "partitions": self.partitions,
            "start_offsets": self.start_offsets,
            "end_offsets": self.end_offsets,
            "messages": self.messages,
        }


@dataclass(frozen=True)
class LagRow:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "topic": self.topic,
            "partition": self.partition,
            "committed": self.committed,
            "end": self.end,
            "lag": self.lag,
        }


@dataclass
class GroupLag:
    group: str
    rows: list[LagRow] = field(default_factory=list)
    error: str | None = None  # why this group's offsets could not be read


def kind_of(topic: str) -> str:
    if topic in _CATALOGUE:
        return "catalogue"
    if topic.endswith("-changelog"):
        return "changelog"
    return "other"


def topic_order(topics: Iterable[str]) -> list[str]:
    """Catalogued topics in catalogue order, then Faust changelogs, then anything else, by name."""
    names = set(topics)
    catalogued = [t for t in _CATALOGUE if t in names]
    changelogs = sorted(t for t in names if kind_of(t) == "changelog")
    others = sorted(t for t in names if kind_of(t) == "other")
    return catalogued + changelogs + others


def _consumer(bootstrap: str, auth: BrokerAuth) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_WAIT_MS,
        max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
        **auth,
    )


async def broker_partitions(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of `topics` that exists, from a metadata request for all topics.

    Not `consumer.partitions_for_topic`: a fresh consumer's metadata holds only topics it subscribed to
    or was assigned on Kafka and Redpanda (Tansu answers every topic to any metadata request, so reading
    it there worked by accident)."""
    cluster = await consumer._client.fetch_all_metadata()
    tps: list[TopicPartition] = []
    for topic in topics:
        for partition in sorted(cluster.partitions_for_topic(topic) or ()):
            tps.append(TopicPartition(topic, partition))
    return tps


async def _bounds(
    consumer: AIOKafkaConsumer, bootstrap: str, tps: list[TopicPartition], auth: BrokerAuth
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(start, true end) of each partition."""
    if not tps:
        return {}, {}
    starts = await consumer.beginning_offsets(tps)
    listed = await consumer.end_offsets(tps)
    ends = await true_end_offsets(bootstrap, tps, listed, auth)
    return {tp: int(starts[tp]) for tp in tps}, {tp: int(ends[tp]) for tp in tps}


async def list_topics(bootstrap: str, auth: BrokerAuth = NO_AUTH) -> list[TopicInfo]:
    """Every topic on the broker with its partitions' start and true end offsets."""
    consumer = _consumer(bootstrap, auth)
    await consumer.start()
    try:
        names = topic_order(await consumer.topics())
        tps = await broker_partitions(consumer, names)
        starts, ends = await _bounds(consumer, bootstrap, tps, auth)
    finally:
        await consumer.stop()
    infos = []
    for name in names:
        mine = [tp for tp in tps if tp.topic == name]
        infos.append(
            TopicInfo(
                topic=name,
                kind=kind_of(name),
                start_offsets=[starts[tp] for tp in mine],
                end_offsets=[ends[tp] for tp in mine],
            )
        )
    return infos


def decode_record(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    """One record as JSON: key as text (or `{"_raw_b64"}`), value as parsed JSON (or `{"_raw_b64"}`)."""
    key: Any = None
    if record.key is not None:
        try:
            key = record.key.decode("utf-8")
        except UnicodeDecodeError:
            key = {"_raw_b64": base64.b64encode(record.key).decode("ascii")}
    value: Any = None
    if record.value is not None:
        try:
            value = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            value = {"_raw_b64": base64.b64encode(record.value).decode("ascii")}
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp,
        "key": key,
        "value": value,
    }


def _order(record: ConsumerRecord[bytes, bytes]) -> tuple[int, int, int]:
    return (record.timestamp, record.partition, record.offset)


async def _read_ranges(
    consumer: AIOKafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]], cap: int | None
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Records of each partition in [start, end), at most `cap` per partition, as they arrive."""
    pending = {tp: bounds for tp, bounds in ranges.items() if bounds[0] < bounds[1]}
    if not pending:
        return
    consumer.assign(list(pending))
    for tp, (start, _) in pending.items():
        consumer.seek(tp, start)
    taken = dict.fromkeys(pending, 0)
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=200)
        for tp, records in batches.items():
            if tp not in pending:
                continue
            end = pending[tp][1]
            for record in records:
                if record.offset >= end or (cap is not None and taken[tp] >= cap):
                    break
                taken[tp] += 1
                yield record
        for tp in list(pending):
            if (cap is not None and taken[tp] >= cap) or await consumer.position(tp) >= pending[tp][1]:
                del pending[tp]


async def tail(
    bootstrap: str,
    topic: str,
    *,
    from_beginning: bool = False,
    limit: int | None = None,
    follow: bool = False,
    partition: int | None = None,
    auth: BrokerAuth = NO_AUTH,
) -> AsyncGenerator[dict[str, Any], None]:
    """Decoded records of `topic`, oldest first.

    Without `from_beginning`: the last `limit` (default 10) records of the topic, by broker timestamp,
    counted back from the true ends. With it: from the start, the first `limit` records, or everything
    up to the end as it was when we started. With `follow`, then every new record until cancelled.
    """
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    consumer = _consumer(bootstrap, auth)
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            raise UnknownTopicError(topic)
        tps = await broker_partitions(consumer, [topic])
        if partition is not None:
            tps = [tp for tp in tps if tp.partition == partition]
            if not tps:
                raise UnknownTopicError(f"{topic} has no partition {partition}")
        starts, ends = await _bounds(consumer, bootstrap, tps, auth)
        if from_beginning and limit is None:
            # Everything there is: stream it instead of holding it.
            ranges = {tp: (starts[tp], ends[tp]) for tp in tps}
            async for record in _read_ranges(consumer, ranges, cap=None):
                yield decode_record(record)
        else:
            n = DEFAULT_TAIL if limit is None else limit
            if from_beginning:
                ranges = {tp: (starts[tp], ends[tp]) for tp in tps}
            else:
                ranges = {tp: (max(starts[tp], ends[tp] - n), ends[tp]) for tp in tps}
            # At most n from each partition, then the first or last n of the topic by timestamp.
            got = sorted([r async for r in _read_ranges(consumer, ranges, cap=n)], key=_order)
            if n == 0:
                chosen = []
            elif from_beginning:
                chosen = got[:n]
            else:
                chosen = got[-n:]
            for record in chosen:
                yield decode_record(record)
        if not follow:
            return
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    yield decode_record(record)
    finally:
        await consumer.stop()


async def list_groups(bootstrap: str, auth: BrokerAuth = NO_AUTH) -> list[str]:
    """Consumer group ids (ListGroups)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
    await admin.start()
    try:
        try:
            groups = await admin.list_consumer_groups()
        except KafkaError as exc:
            raise UnsupportedByBrokerError(f"ListGroups failed on this broker: {exc!r}") from exc
    finally:
        await admin.close()
    return sorted({str(group[0]) for group in groups})


async def group_lag(
    bootstrap: str, groups: Iterable[str] | None = None, auth: BrokerAuth = NO_AUTH
) -> list[GroupLag]:
    """Per group and partition: committed offset, true end and lag; `groups=None` means all of them.

    Only partitions where a group has committed an offset are shown: a group's topics cannot be
    learnt otherwise on Tansu (its DescribeGroups reports members without assignments).
    """
    wanted = sorted(set(groups)) if groups is not None else await list_groups(bootstrap, auth)
    if not wanted:
        return []
    consumer = _consumer(bootstrap, auth)
    await consumer.start()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **auth)
    await admin.start()
    try:
        tps = await broker_partitions(consumer, topic_order(await consumer.topics()))
        result: list[GroupLag] = []
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group in wanted:
            entry = GroupLag(group)
            result.append(entry)
            if not tps:
                continue
            try:
                offsets = await admin.list_consumer_group_offsets(group, partitions=tps)
            except (TimeoutError, KafkaError, OSError) as exc:
                entry.error = f"OffsetFetch failed on this broker: {exc!r}"
                continue
            committed[group] = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
        used = sorted({tp for offsets in committed.values() for tp in offsets})
        _, ends = await _bounds(consumer, bootstrap, used, auth)
        for entry in result:
            for tp, offset in sorted(committed.get(entry.group, {}).items()):
                entry.rows.append(LagRow(entry.group, tp.topic, tp.partition, offset, ends[tp]))
        return result
    finally:
        await admin.close()
        await consumer.stop()
