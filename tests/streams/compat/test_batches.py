"""take_batches: Faust's take_events protocol with a window that follows the agent's work per batch.

The stream below plays Faust's part as faust-streaming 0.15.3 does for take_events: a passive drainer task
runs each arriving event through the stream's processors with `current_event` set, `wait` returns when an
event is set or the stream stops, and `ack` counts. The worker-level tests (the pipeline, the flood, the
chaos runs) run it against Faust itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.errors import ConfigError
from core.settings import load_settings
from streams.compat.batches import BatchWindow, take_batches


@dataclass
class Event:
    value: int


@dataclass
class Stream:
    """Faust's Stream as take_events uses it."""

    arrivals: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    enable_acks: bool = True
    current_event: Event | None = None
    _processors: list[Callable[[Any], Any]] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    drained: list[int] = field(default_factory=list)  # handed to the processors, in order
    should_stop: bool = False
    drainer: asyncio.Task[None] | None = None
    channel: Any = field(default_factory=lambda: _Channel())

    def add_processor(self, fn: Callable[[Any], Any]) -> None:
        self._processors.append(fn)

    def _enable_passive(self, channel: Any) -> None:
        if self.drainer is None:
            self.drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while True:
            value = await self.arrivals.get()
            self.current_event = Event(value)
            for fn in list(self._processors):
                await fn(value)
            self.drained.append(value)
            self.current_event = None

    async def close(self) -> None:
        """Ends the drainer, as the stream's stop does (no task left behind for the next test)."""
        if self.drainer is not None:
            self.drainer.cancel()
            await asyncio.gather(self.drainer, return_exceptions=True)

    async def wait(self, event: asyncio.Event) -> None:
        await event.wait()

    async def wait_for_stopped(self, event: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109 (mode's signature)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    async def ack(self, event: Event) -> bool:
        self.acked.append(event.value)
        return True


class _Channel:
    def __aiter__(self) -> _Channel:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


def test_the_window_stays_at_its_floor_while_batches_are_quick_and_grows_when_they_take_long() -> None:
    window = BatchWindow(0.01, 0.1)
    for _ in range(20):
        window.worked(0.002)
    assert window.seconds == 0.01
    for _ in range(20):
        window.worked(0.03)
    assert 0.05 < window.seconds <= 0.06  # twice the recent work
    for _ in range(20):
        window.worked(1.0)
    assert window.seconds == 0.1  # the ceiling
    for _ in range(40):
        window.worked(0.001)
    assert window.seconds == 0.01  # back at the floor once batches are quick again
    with pytest.raises(ValueError):
        BatchWindow(0.2, 0.1)


async def test_events_come_in_order_in_batches_of_at_most_max_and_are_acked_after_their_batch() -> None:
    stream = Stream()
    for i in range(25):
        stream.arrivals.put_nowait(i)
    batches: list[list[int]] = []
    acked_before_body_ended: list[list[int]] = []
    batches_of = take_batches(stream, 10, BatchWindow(0.01, 0.01))
    async for batch in batches_of:
        values = [e.value for e in batch]
        batches.append(values)
        await asyncio.sleep(0.005)  # the agent's work: nothing of this batch is acked meanwhile
        acked_before_body_ended.append([v for v in values if v in stream.acked])
        if sum(map(len, batches)) == 25:
            break
    assert [v for b in batches for v in b] == list(range(25))
    assert all(0 < len(b) <= 10 for b in batches)
    assert acked_before_body_ended == [[] for _ in batches]
    await batches_of.aclose()  # as a stopping agent's generator is: the last batch is acked then
    await stream.close()
    assert stream.acked == list(range(25))
    assert stream.enable_acks is True and stream._processors == []  # restored when the loop ends


async def test_the_drainer_waits_while_a_batch_is_worked_on_so_no_event_is_acked_unseen() -> None:
    stream = Stream()
    for i in range(3):
        stream.arrivals.put_nowait(i)
    seen: list[int] = []
    async for batch in take_batches(stream, 100, BatchWindow(0.01, 0.01)):
        seen += [e.value for e in batch]
        if len(seen) == 3:
            for i in range(3, 6):
                stream.arrivals.put_nowait(i)  # arrive during the body
            await asyncio.sleep(0.02)
            assert stream.drained == [0, 1, 2]  # the fourth waits for the batch to end: not in it, not lost
        if len(seen) == 6:
            break
    await stream.close()
    assert seen == list(range(6))


async def test_a_slow_agent_gets_longer_windows_and_so_fewer_larger_batches() -> None:
    async def run(work_s: float) -> tuple[int, float]:
        stream = Stream()
        window = BatchWindow(0.005, 0.2)
        feeder_done = asyncio.Event()

        async def feed() -> None:
            for i in range(300):
                stream.arrivals.put_nowait(i)
                await asyncio.sleep(0.001)
            feeder_done.set()

        feeder = asyncio.ensure_future(feed())
        batches = taken = 0
        async for batch in take_batches(stream, 10_000, window):
            batches += 1
            taken += len(batch)
            await asyncio.sleep(work_s)
            if taken == 300:
                break
        await feeder
        await stream.close()
        assert feeder_done.is_set()
        return batches, window.seconds

    quick_batches, quick_window = await run(0.0005)
    slow_batches, slow_window = await run(0.03)
    assert quick_window == 0.005
    assert slow_window > 0.04
    assert slow_batches < quick_batches


def test_settings_refuse_a_ceiling_below_the_floor_in_one_line() -> None:
    assert load_settings(batch_within_s=0.02, batch_max_within_s=0.02).batch_max_within_s == 0.02
    with pytest.raises(ConfigError, match="BATCH_WITHIN_S must be <= BATCH_MAX_WITHIN_S"):
        load_settings(batch_within_s=0.2)
