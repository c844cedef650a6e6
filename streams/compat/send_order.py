"""A partition's log order is the order its records were sent, whichever producer carries them.

Under exactly_once every output goes through the transactional producer of its input task
(`streams.compat.transactions`), so the records of one destination partition may leave through several
producers: the model agent's signals, scored in event-time order across the features partitions, all go
to `signals/0`, each through the producer of its own features partition. Each producer batches and sends
on its own connection, so the broker appended them in another order than they were sent, and the risk
agent (which decides in log order) decided them in another order than the backtest. Here a record sent
through another producer than the previous record of its partition waits until that record is
acknowledged (appended) before it is sent. A read_committed reader reads a partition in offset order,
whichever transaction commits first, so it then sees the send order. Sends through one producer keep
their order by themselves (an idempotent producer never reorders a partition) and do not wait.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Destination = tuple[str, int | None]  # (topic, partition; None: not known yet, the whole topic)


@dataclass(slots=True)
class _Last:
    carrier: str | None  # the producer (transactional id; None: the app's idempotent producer)
    appended: asyncio.Future[None]  # done once the record is acknowledged, failed, or its producer is gone


class SendOrder:
    """Per destination partition: the last record's producer, and whether the broker has it yet."""

    def __init__(self) -> None:
        self._last: dict[Destination, _Last] = {}
        self._locks: defaultdict[Destination, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.waits = 0  # sends that waited for another producer's record (a metric for the curious)

    async def send(
        self,
        destination: Destination,
        carrier: str | None,
        send: Callable[[], Awaitable[Awaitable[Any]]],
    ) -> asyncio.Future[Any]:
        """Call `send` (which enqueues the record on `carrier` and returns its delivery) once the previous
        record of `destination`, if another producer carried it, is appended; the delivery is returned."""
        async with self._locks[destination]:
            last = self._last.get(destination)
            if last is not None and last.carrier != carrier and not last.appended.done():
                self.waits += 1
                await last.appended
            delivery = asyncio.ensure_future(await send())
            appended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            delivery.add_done_callback(lambda _: _resolve(appended))
            self._last[destination] = _Last(carrier, appended)
            return delivery

    def forget(self, carrier: str | None) -> None:
        """`carrier` is stopped (fenced or revoked): what it has not delivered never will, so nothing waits
        for it."""
        for last in self._last.values():
            if last.carrier == carrier:
                _resolve(last.appended)


def _resolve(appended: asyncio.Future[None]) -> None:
    if not appended.done():
        appended.set_result(None)
