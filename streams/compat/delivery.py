"""Handing each fetched record to the streams without four tasks per record.

Faust's fetch loop (faust-streaming 0.15.3, `faust/transport/consumer.py`, `Consumer._drain_messages`)
delivers every record with `await self.wait_first(callback(message), self.suspend_flow.wait())`, and
`wait_first` (mode-streaming 0.7.1, `mode/services.py`) wraps both coroutines and the consumer's stopped
and crashed events in four tasks, waits for the first, then cancels three. The callback almost never
waits (it decodes the record and puts it on a stream's queue that has room), so that machinery was most
of the fetch loop's cost: with the lean path below one worker's pipeline throughput rose from
2,387-2,528 to 3,404-5,091 raw events/s (`python -m bench.run --only throughput`, alternating runs on
one machine; docs/performance.md).

The lean path runs the callback's first step inline. If it finishes there, that is the answer and the
suspension's coroutine is closed unstarted. If it has to wait (a full queue, a held lock), the rest of it
becomes one task, raced against the flow's suspension and the consumer's stop and crash by mode's own
`wait_first`, exactly as Faust's call races them: a suspension cancels it. Whenever the flow is already
suspended, the consumer stopping or crashed, or the call is not the fetch loop's shape, mode's
`wait_first` runs unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from mode.services import WaitResults


async def resume(coro: Coroutine[Any, Any, Any], blocked_on: Any) -> Any:
    """Drive `coro`, which already ran to its first wait on `blocked_on`, to the end, as a task would: a
    cancel cancels what it waits on and reaches it there."""
    while True:
        error: BaseException | None = None
        if blocked_on is None:  # a bare yield (asyncio.sleep(0)): give the loop one turn
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError as exc:
                error = exc
        elif asyncio.isfuture(blocked_on):
            blocked_on._asyncio_future_blocking = False
            try:
                await asyncio.wait([blocked_on])
            except asyncio.CancelledError:
                blocked_on.cancel()  # as Task.cancel does: the awaited future ends cancelled
        else:
            error = RuntimeError(f"a coroutine yielded {blocked_on!r}, not a future")
        try:
            blocked_on = coro.send(None) if error is None else coro.throw(error)
        except StopIteration as done:
            return done.value


def install_lean_delivery(consumer: Any) -> None:
    """Give `consumer` (a Faust consumer, this instance only) the lean `wait_first` described above."""
    original = consumer.wait_first
    suspended_flow = consumer.suspend_flow
    stopped, crashed = consumer._stopped, consumer._crashed

    async def wait_first(*coros: Any, timeout: Any = None) -> WaitResults:  # noqa: ASYNC109 (mode's signature)
        if (
            len(coros) != 2
            or timeout is not None
            or not asyncio.iscoroutine(coros[0])
            or not asyncio.iscoroutine(coros[1])
            or suspended_flow.is_set()
            or stopped.is_set()
            or crashed.is_set()
        ):
            return await original(*coros, timeout=timeout)
        deliver, suspension = coros
        try:
            blocked_on = deliver.send(None)
        except StopIteration as done:
            suspension.close()
            return WaitResults([deliver], [done.value], False)
        except BaseException:
            suspension.close()
            raise
        return await original(asyncio.ensure_future(resume(deliver, blocked_on)), suspension)

    consumer.wait_first = wait_first
