"""Batches whose gathering window follows the agent's own work: short while it keeps up, longer when busy.

Faust's `Stream.take_events(max_, within)` (faust-streaming 0.15.3, faust/streams.py) reads `within` once
and then hands the agent whatever arrived every `within` seconds. Each batch costs an agent a fixed amount
on top of its events (table writes per key, progress records, the risk state), so on a machine whose CPU
other processes share, small batches every 10 ms spent the worker's share on that fixed part: beside a
two-process CPU hog at 1,000 raw events/s the features agent's input stood 1-3 s behind the fetch, though
the same worker ran 2,300 events/s in large batches (`bench.run --only contention`; docs/performance.md).

`take_batches` is the same protocol (a processor on the stream gathers the events its passive drainer
yields; the drainer waits while a batch is worked on or the buffer is full; every event of a batch is
acked once the agent's body for it is done, which is when it may be committed) with the window read
before each batch from a `BatchWindow`: `floor_s` while the agent keeps up, growing with the time its
last batches took (`factor` times an average of it, up to `ceiling_s`) when they take long. On a quiet
machine an agent's batch takes a few ms and the window stays at the floor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

# Weight of the newest batch in the average work time: a few batches to follow a change of load.
SMOOTHING = 0.25


class BatchWindow:
    """How long the next batch may gather: `floor_s`, or `factor` x the agent's recent work per batch,
    at most `ceiling_s`."""

    def __init__(self, floor_s: float, ceiling_s: float, factor: float = 2.0) -> None:
        if not 0.0 < floor_s <= ceiling_s:
            raise ValueError(f"need 0 < floor_s <= ceiling_s, got {floor_s} and {ceiling_s}")
        self.floor_s = floor_s
        self.ceiling_s = ceiling_s
        self.factor = factor
        self.work_s = 0.0  # smoothed work per batch
        self.seconds = floor_s

    def worked(self, seconds: float) -> None:
        """One batch took `seconds` of the agent's body (wall time, waits and CPU starvation included)."""
        self.work_s += SMOOTHING * (max(0.0, seconds) - self.work_s)
        self.seconds = min(self.ceiling_s, max(self.floor_s, self.factor * self.work_s))


async def take_batches(stream: Any, max_events: int, window: BatchWindow) -> AsyncGenerator[list[Any], None]:
    """The events of `stream` in batches of at most `max_events`, each gathered for `window.seconds`."""
    events: list[Any] = []
    full = asyncio.Event()  # the buffer holds max_events: hand it over now
    room = asyncio.Event()  # the drainer may add (cleared while a batch is worked on or full)
    room.set()

    async def gather(value: Any) -> Any:
        if not room.is_set():
            await stream.wait(room)
            if not room.is_set():  # the stream stopped: the event stays unacked, read again later
                return value
        event = stream.current_event
        if event is None:
            raise RuntimeError("a batch found no current event")
        events.append(event)
        if len(events) >= max_events:
            room.clear()
            full.set()
        return value

    acks_before = stream.enable_acks
    stream.enable_acks = False  # acked here, once the batch is done
    stream.add_processor(gather)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(full, timeout=window.seconds)
            if not events:
                continue
            room.clear()  # no await between the wait and here: the drainer added nothing meanwhile
            batch = list(events)
            started = time.monotonic()
            try:
                yield batch
            finally:
                window.worked(time.monotonic() - started)
                events.clear()
                for event in batch:
                    await stream.ack(event)
                full.clear()
                room.set()
    finally:
        stream.enable_acks = acks_before
        stream._processors.remove(gather)
