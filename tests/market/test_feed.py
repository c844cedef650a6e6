"""The feed against a hand-written fake producer: topics, keys, encoding, pacing and clean stops."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from market import feed
from market.simulator import MarketSimulator
from streams.codec import decode
from streams.records import PROGRESS_KEY, Launch, Progress, Swap


class FakeProducer:
    instances: list[FakeProducer] = []

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.progress: list[tuple[int, int | None, Progress]] = []  # (events before it, partition, record)
        self.started = self.stopped = self.flushed = False
        FakeProducer.instances.append(self)

    async def start(self) -> None:
        self.started = True

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2, 3}

    async def send(
        self, topic: str, *, value: bytes, key: bytes, partition: int | None = None
    ) -> asyncio.Future[None]:
        if key == PROGRESS_KEY:
            self.progress.append((len(self.sent), partition, decode(Progress, value)))
            done0: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done0.set_result(None)
            return done0
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def flush(self) -> None:
        self.flushed = True

    async def stop(self) -> None:
        self.stopped = True


@pytest.fixture(autouse=True)
def fake_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeProducer.instances.clear()
    monkeypatch.setattr(feed, "AIOKafkaProducer", FakeProducer)


async def test_an_idempotent_feed_asks_for_every_replica_and_a_producer_id() -> None:
    """Retried across a broker restart without duplicates (aiokafka never expires an idempotent batch)."""
    await feed.run_feed("broker:9092", MarketSimulator(seed=4, start_ms=0), duration_s=1.0, idempotent=True)
    (producer,) = FakeProducer.instances
    assert producer.config["enable_idempotence"] is True and producer.config["acks"] == "all"
    assert producer.config["request_timeout_ms"] == 600_000  # a send waits out a restart for room


async def test_sends_every_event_to_its_topic_as_fast_as_possible() -> None:
    sim = MarketSimulator(seed=4, start_ms=0)
    progress: list[int] = []
    sent = await feed.run_feed(
        "broker:9092", sim, duration_s=120.0, realtime=False, on_progress=progress.append
    )
    (producer,) = FakeProducer.instances
    assert producer.config["acks"] == 1 and producer.config["linger_ms"] == 5
    assert producer.config["enable_idempotence"] is False  # Tansu grants no producer ids
    assert sent == len(producer.sent) == progress[-1] > 30_000
    topics = {t for t, _, _ in producer.sent}
    assert topics == {"raw.swaps", "raw.launches"}
    for topic, key, value in producer.sent[:2_000] + [m for m in producer.sent if m[0] == "raw.launches"]:
        if topic == "raw.launches":
            launch = decode(Launch, value)
            assert key == launch.mint.encode()
        else:
            swap = decode(Swap, value)
            assert key == swap.pair.encode() and swap.received_ms > swap.ts_ms
    assert producer.stopped


async def test_progress_records_promise_what_they_say() -> None:
    """On every raw.swaps partition, after each batch: no swap sent after a progress record is older than
    it, and the last one (the end of the run) releases everything."""
    sim = MarketSimulator(seed=4, start_ms=0)
    await feed.run_feed("broker:9092", sim, duration_s=30.0, realtime=False)
    (producer,) = FakeProducer.instances
    swaps_ts = [decode(Swap, v).ts_ms for t, _, v in producer.sent if t == "raw.swaps"]
    ts_after = [0] * (len(producer.sent) + 1)  # the oldest swap sent from index i on
    oldest = 2**62
    for i in range(len(producer.sent) - 1, -1, -1):
        topic, _, value = producer.sent[i]
        if topic == "raw.swaps":
            oldest = min(oldest, decode(Swap, value).ts_ms)
        ts_after[i] = oldest
    ts_after[len(producer.sent)] = 2**62
    assert producer.progress and {p for _, p, _ in producer.progress} == {0, 1, 2, 3}
    for sent_before, partition, record in producer.progress:
        assert record.source_partition == partition and record.ts_ms <= ts_after[sent_before]
    rounds = sorted({r.ts_ms for _, _, r in producer.progress})
    assert len(rounds) >= 4 and rounds[-1] >= max(swaps_ts)  # one round per batch of 2,000 events here


async def test_realtime_paces_event_time_to_the_wall_clock() -> None:
    start = int(time.time() * 1000)
    sim = MarketSimulator(seed=4, start_ms=start, rate_eps=2_000)
    began = time.monotonic()
    sent = await feed.run_feed("broker:9092", sim, duration_s=0.5)
    assert 0.45 < time.monotonic() - began < 1.5
    assert 700 < sent < 1_300  # ~1,000 events in 0.5 s at 2,000 events/s
    (producer,) = FakeProducer.instances
    for _, _, value in producer.sent:
        swap = decode(Swap, value)
        assert swap.received_ms >= swap.ts_ms - 1


async def test_cancellation_flushes_and_stops_the_producer() -> None:
    sim = MarketSimulator(seed=4, start_ms=int(time.time() * 1000))
    task = asyncio.create_task(feed.run_feed("broker:9092", sim, duration_s=None))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (producer,) = FakeProducer.instances
    assert producer.flushed and producer.stopped and producer.sent
