"""Publish the simulated market to the raw topics, as the chain collectors would.

Swaps go to raw.swaps keyed by pair and launches to raw.launches keyed by mint (with market data, quotes
and perp books to raw.quotes and raw.perps keyed by pair: `market.market_data.destination`), encoded with
`streams.codec.encode`; after each batch, progress records (`streams.progress`) tell every raw.swaps
partition how far event time has got. `received_ms` is stamped with the wall clock at send, so
downstream latency measurements start where a real collector's would.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaProducer

from market.market_data import MarketEvent, destination, with_market_data
from market.simulator import MarketSimulator
from streams.codec import encode
from streams.progress import ProgressBeacon
from streams.topics import RAW_SWAPS

log = logging.getLogger(__name__)

MAX_BATCH = 2_000  # events sent between two waits for delivery
IDLE_SLEEP_S = 0.05  # longest nap while waiting for event time to catch up with the wall clock


def _wall_ms() -> int:
    return int(time.time() * 1000)


IDEMPOTENT_TIMEOUT_MS = 600_000


async def run_feed(
    bootstrap_servers: str,
    sim: MarketSimulator,
    *,
    duration_s: float | None,
    realtime: bool = True,
    on_progress: Callable[[int], None] | None = None,
    auth: Mapping[str, str] | None = None,
    idempotent: bool = False,
    market_data_ms: int = 0,
) -> int:
    """Send the simulator's events until `duration_s` of event time has passed (None: until cancelled).

    `idempotent` (a broker with idempotent producers: Kafka, Redpanda): sends are retried across a broker
    restart, however long, without duplicates; otherwise a send still unanswered after the request timeout
    fails the feed.

    In realtime mode an event is sent once the wall clock reaches its `ts_ms` (the caller starts the
    simulator at the wall clock), in batches of everything that is due; otherwise as fast as possible.
    Returns the number of events sent; on cancellation the producer is flushed and stopped first.
    With `market_data_ms` the simulator's quotes and perp book go out too (`market.market_data`).
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        linger_ms=5,
        enable_idempotence=idempotent,
        acks="all" if idempotent else 1,
        # also how long a send waits for room in the buffer: a restart takes a minute on a busy machine
        request_timeout_ms=IDEMPOTENT_TIMEOUT_MS if idempotent else 40_000,
        **(auth or {}),
    )
    await producer.start()
    beacon = ProgressBeacon(producer, RAW_SWAPS.name)
    await beacon.start()
    end_ms = None if duration_s is None else sim.start_ms + int(duration_s * 1000)
    sent = 0
    events = with_market_data(sim, market_data_ms) if market_data_ms else sim.events()
    pending: MarketEvent | None = next(events)
    try:
        while pending is not None:
            if end_ms is not None and pending.ts_ms >= end_ms:
                break
            now = _wall_ms()
            if realtime and pending.ts_ms > now:
                await asyncio.sleep(min(IDLE_SLEEP_S, (pending.ts_ms - now) / 1000))
                continue
            due = now if realtime else None
            deliveries: list[asyncio.Future[Any]] = []
            while len(deliveries) < MAX_BATCH:
                if end_ms is not None and pending.ts_ms >= end_ms:
                    break
                if due is not None and pending.ts_ms > due:
                    break
                deliveries.append(await _send(producer, pending))
                pending = next(events)
            sent += len(deliveries)
            deliveries += await beacon.advance(pending.ts_ms)  # nothing before the next event is coming
            await asyncio.gather(*deliveries)
            if on_progress is not None:
                on_progress(sent)
        if end_ms is not None:  # the end: whatever the consumers hold back may go
            await asyncio.gather(*await beacon.advance(end_ms, force=True))
    finally:
        # runs on cancellation too: stop() flushes what is buffered before closing
        try:
            await producer.flush()
        finally:
            await producer.stop()
        log.info("feed stopped after %d events", sent)
    return sent


async def _send(producer: AIOKafkaProducer, record: MarketEvent) -> asyncio.Future[Any]:
    record.received_ms = _wall_ms()
    topic, key = destination(record)
    future: asyncio.Future[Any] = await producer.send(topic, value=encode(record), key=key.encode())
    return future
