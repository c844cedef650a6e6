"""The feed against a hand-written fake producer: topics, keys, encoding, pacing and clean stops."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from market import feed
from market.simulator import MarketSimulator
from streams.codec import decode
from streams.records import Launch, Swap


class FakeProducer:
    instances: list[FakeProducer] = []

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.started = self.stopped = self.flushed = False
        FakeProducer.instances.append(self)

    async def start(self) -> None:
        self.started = True

    async def send(self, topic: str, *, value: bytes, key: bytes) -> asyncio.Future[None]:
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


async def test_sends_every_event_to_its_topic_as_fast_as_possible() -> None:
    sim = MarketSimulator(seed=4, start_ms=0)
    progress: list[int] = []
    sent = await feed.run_feed(
        "broker:9092", sim, duration_s=120.0, realtime=False, on_progress=progress.append
    )
    (producer,) = FakeProducer.instances
    assert producer.config["acks"] == 1 and producer.config["linger_ms"] == 5
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
