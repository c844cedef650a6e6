"""The fetch loop's lean delivery: inline when the record goes straight onto a stream's queue, and Faust's
race against the flow's suspension whenever the handing-over has to wait."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest
from mode import Service
from mode.utils.locks import Event

from streams.compat.delivery import install_lean_delivery, resume


class _Consumer(Service):
    """What the lean path reads of a Faust consumer: mode's own wait_first, its events, suspend_flow."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = Event()
        self.original_calls = 0
        original = self.wait_first

        async def counted(*coros: Any, timeout: Any = None) -> Any:  # noqa: ASYNC109 (mode's signature)
            self.original_calls += 1
            return await original(*coros, timeout=timeout)

        self.wait_first = counted  # type: ignore[method-assign]
        install_lean_delivery(self)


def _deliver(queue: asyncio.Queue[int], value: int) -> Any:
    async def deliver() -> str:  # Faust's callback: decode, then put on the stream's queue
        await queue.put(value)
        return "delivered"

    return deliver()


async def test_a_record_with_room_on_the_queue_is_delivered_inline() -> None:
    consumer, queue = _Consumer(), asyncio.Queue[int](maxsize=10)
    tasks_before = len(asyncio.all_tasks())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the suspension's coroutine is closed, never left un-awaited
        result = await consumer.wait_first(_deliver(queue, 1), consumer.suspend_flow.wait())
        gc.collect()
    assert result.results == ["delivered"] and not result.stopped
    assert queue.get_nowait() == 1
    assert consumer.original_calls == 0
    assert len(asyncio.all_tasks()) == tasks_before


async def test_a_full_queue_waits_until_the_stream_takes_a_record() -> None:
    consumer, queue = _Consumer(), asyncio.Queue[int](maxsize=1)
    queue.put_nowait(0)
    waiting = asyncio.create_task(consumer.wait_first(_deliver(queue, 1), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    assert queue.get_nowait() == 0  # the stream reads one: room for the waiting record
    result = await asyncio.wait_for(waiting, 1.0)
    assert not result.stopped
    assert queue.get_nowait() == 1
    assert consumer.original_calls == 1


async def test_a_suspended_flow_ends_the_wait_and_the_record_is_not_put() -> None:
    consumer, queue = _Consumer(), asyncio.Queue[int](maxsize=1)
    queue.put_nowait(0)
    waiting = asyncio.create_task(consumer.wait_first(_deliver(queue, 1), consumer.suspend_flow.wait()))
    await asyncio.sleep(0.05)
    consumer.suspend_flow.set()  # a rebalance starts while the record waits for room
    result = await asyncio.wait_for(waiting, 1.0)
    assert result.results == [True] and not result.stopped  # the suspension won the race
    assert queue.get_nowait() == 0
    await asyncio.sleep(0.01)
    assert queue.empty()  # the waiting put was cancelled: the record is fetched again after the rebalance


async def test_an_already_suspended_flow_takes_modes_own_path() -> None:
    consumer, queue = _Consumer(), asyncio.Queue[int](maxsize=1)
    consumer.suspend_flow.set()
    await consumer.wait_first(_deliver(queue, 1), consumer.suspend_flow.wait())
    assert consumer.original_calls == 1


@pytest.mark.parametrize("full", [False, True])
async def test_a_failing_callback_raises_in_the_fetch_loop(full: bool) -> None:
    consumer, queue = _Consumer(), asyncio.Queue[int](maxsize=1)
    if full:
        queue.put_nowait(0)

    async def deliver() -> None:
        if full:
            await queue.put(1)  # waits, then fails once it may go on
        raise ValueError("undecodable")

    waiting = asyncio.create_task(consumer.wait_first(deliver(), consumer.suspend_flow.wait()))
    if full:
        await asyncio.sleep(0.02)
        queue.get_nowait()
    with pytest.raises(ValueError, match="undecodable"):
        await asyncio.wait_for(waiting, 1.0)


async def test_resume_cancels_what_the_coroutine_waits_on() -> None:
    blocker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def body() -> None:
        try:
            await blocker
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    coro = body()
    first = coro.send(None)
    assert first is blocker
    task = asyncio.create_task(resume(coro, first))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert blocker.cancelled() and seen == ["cancelled"]


async def test_resume_gives_the_loop_a_turn_on_a_bare_yield() -> None:
    async def body() -> int:
        await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        return 7

    coro = body()
    first = coro.send(None)
    assert first is None
    assert await resume(coro, first) == 7
