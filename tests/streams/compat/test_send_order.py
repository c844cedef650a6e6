"""streams.compat.send_order: records of one partition reach the log in send order across producers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from streams.compat.send_order import SendOrder


class FakeBroker:
    """Producers whose acknowledgments the test releases; the log is what was appended, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.unacked: dict[str, asyncio.Future[Any]] = {}

    def sender(self, record: str) -> Callable[[], Awaitable[Awaitable[Any]]]:
        async def send() -> Awaitable[Any]:
            delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self.unacked[record] = delivery
            return delivery

        return send

    def ack(self, record: str) -> None:
        self.log.append(record)
        self.unacked.pop(record).set_result(record)


async def _sends_queued(order: SendOrder, broker: FakeBroker, n: int) -> None:
    for _ in range(20):
        if len(broker.unacked) >= n:
            return
        await asyncio.sleep(0)


async def test_a_record_on_another_producer_waits_for_the_previous_one_to_be_appended() -> None:
    order, broker = SendOrder(), FakeBroker()
    first = await order.send(("signals", 0), "task-3", broker.sender("a"))
    second = asyncio.ensure_future(order.send(("signals", 0), "task-2", broker.sender("b")))
    await _sends_queued(order, broker, 2)
    assert list(broker.unacked) == ["a"], "b was handed to its producer before a was appended"
    broker.ack("a")
    assert await first == "a"
    delivery = await second
    broker.ack("b")
    assert await delivery == "b"
    assert broker.log == ["a", "b"]
    assert order.waits == 1


async def test_one_producer_and_other_partitions_do_not_wait() -> None:
    order, broker = SendOrder(), FakeBroker()
    await order.send(("signals", 0), "task-3", broker.sender("a"))
    await order.send(("signals", 0), "task-3", broker.sender("b"))  # the producer keeps its own order
    await order.send(("signals", 1), "task-2", broker.sender("c"))  # another partition
    await order.send(("features", 0), None, broker.sender("d"))  # another topic, outside transactions
    assert sorted(broker.unacked) == ["a", "b", "c", "d"]
    assert order.waits == 0


async def test_a_failed_delivery_releases_the_next_send() -> None:
    order, broker = SendOrder(), FakeBroker()
    await order.send(("signals", 0), "task-3", broker.sender("a"))
    second = asyncio.ensure_future(order.send(("signals", 0), None, broker.sender("b")))
    await _sends_queued(order, broker, 2)
    broker.unacked.pop("a").set_exception(RuntimeError("request timed out"))
    await asyncio.wait_for(second, 1.0)
    assert "b" in broker.unacked


async def test_a_stopped_producer_releases_what_waits_for_it() -> None:
    order, broker = SendOrder(), FakeBroker()
    await order.send(("signals", 0), "task-3", broker.sender("a"))  # never delivered: its producer stops
    second = asyncio.ensure_future(order.send(("signals", 0), "task-2", broker.sender("b")))
    await _sends_queued(order, broker, 2)
    assert not second.done()
    order.forget("task-3")
    await asyncio.wait_for(second, 1.0)
    assert "b" in broker.unacked
