"""The bridge's fan-out and its bounded per-client queue (drop oldest, then notify)."""

from __future__ import annotations

import asyncio

import pytest

from web.api import live
from web.api.app import stop_tasks
from web.api.live import decode_record
from web.bridge import Bridge, ClientQueue


def test_full_queue_drops_oldest_and_notifies_once() -> None:
    queue = ClientQueue(maxsize=3)
    for i in range(5):
        queue.put({"i": i})
    assert len(queue) == 3  # never more than maxsize
    assert queue.get_nowait() == {"type": "dropped", "count": 2}
    assert [queue.get_nowait() for _ in range(3)] == [{"i": 2}, {"i": 3}, {"i": 4}]
    assert queue.get_nowait() is None
    queue.put({"i": 5})
    assert queue.get_nowait() == {"i": 5}  # no stale notice after it was delivered
    assert queue.dropped_total == 2


def test_memory_stays_bounded_under_a_flood() -> None:
    queue = ClientQueue(maxsize=1000)
    for i in range(100_000):
        queue.put({"i": i})
    assert len(queue) == 1000
    assert queue.get_nowait() == {"type": "dropped", "count": 99_000}
    assert queue.get_nowait() == {"i": 99_000}


def test_publish_reaches_only_subscribers() -> None:
    bridge = Bridge(queue_size=10)
    prices, fills = bridge.connect(), bridge.connect()
    assert bridge.subscribe(prices, ["prices", "nonsense"]) == ["prices"]
    bridge.subscribe(fills, ["fills", "orders"])
    assert bridge.publish("prices", {"SOL/USDC": 150.0}) == 1
    assert bridge.publish("fills", {"id": "fill:1"}) == 1
    assert prices.get_nowait() == {"type": "prices", "data": {"SOL/USDC": 150.0}}
    assert prices.get_nowait() is None
    assert fills.get_nowait() == {"type": "fills", "data": {"id": "fill:1"}}
    bridge.disconnect(fills)
    assert bridge.publish("fills", {}) == 0 and bridge.clients == 1


async def test_get_waits_for_a_message() -> None:
    queue = ClientQueue(maxsize=2)
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiter.done()
    queue.put({"x": 1})
    assert await asyncio.wait_for(waiter, 1) == {"x": 1}


def test_rejects_a_zero_bound() -> None:
    with pytest.raises(ValueError):
        ClientQueue(maxsize=0)


def test_decode_record_strips_faust_metadata() -> None:
    assert decode_record(b'{"id": "sig:1", "__faust": {"ns": "x"}}') == {"id": "sig:1"}
    assert decode_record(b"not json") is None
    assert decode_record(b"[1]") is None
    assert decode_record(None) is None


async def test_a_feed_that_swallows_its_cancel_does_not_hold_the_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:  # what a client library's lost cancel looks like from outside
        while not release.is_set():
            try:
                await asyncio.wait_for(release.wait(), 10)
            except asyncio.CancelledError:
                continue

    async def polite() -> None:
        await asyncio.sleep(10)

    tasks = [asyncio.create_task(stubborn(), name="bridge-stubborn"), asyncio.create_task(polite())]
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await stop_tasks(tasks, timeout_s=0.3)
    assert loop.time() - started < 1.0
    assert tasks[1].cancelled()
    assert "bridge-stubborn feed did not stop" in caplog.text
    assert not tasks[0].done()
    release.set()
    await tasks[0]


async def test_the_topic_feed_ends_once_cancelled_even_if_a_read_swallowed_the_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starts = 0
    swallowed = False

    class Consumer:
        """A consumer whose read loses the cancel (asyncio.wait_for on 3.11 can) and just ends."""

        def __init__(self, *topics: str, **kwargs: object) -> None:
            pass

        async def start(self) -> None:
            nonlocal starts
            starts += 1

        async def stop(self) -> None:
            pass

        def __aiter__(self) -> Consumer:
            return self

        async def __anext__(self) -> object:
            nonlocal swallowed
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True  # once: a failing run still ends at the loop's teardown
            raise StopAsyncIteration

    monkeypatch.setattr(live, "AIOKafkaConsumer", Consumer)
    task = asyncio.create_task(live.pump_topics(Bridge(queue_size=10), "kafka://127.0.0.1:1"))
    await asyncio.sleep(0.05)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2.0)
    assert task in done, f"still reading after its cancel, on consumer {starts}"
    assert starts == 1
