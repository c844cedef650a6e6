"""Table recovery under exactly-once: it ends at the last committed record, and only once it has read it.

Two faults of faust-streaming 0.15.3 (faust/tables/recovery.py, faust/transport/drivers/aiokafka.py):

- The end of a changelog (`AIOKafkaConsumerThread._highwaters`) is taken under exactly-once from
  `last_stable_offset(tp)`, the value the last *fetch response* carried. Changelog partitions are paused
  until recovery, so it is None and the end is taken as -1: recovery read nothing, every table came back
  empty after any rebalance or restart (a fenced worker forgot its positions).
- The end a read_committed ListOffsets answers (the last stable offset) counts the marker that ended the
  last transaction, which a reader never receives. Faust therefore ends a recovery early on a guess
  (`detect_aborted_tx`): after two idle polls of 5 s, a partition whose *fetch position* has passed the
  end counts as recovered. The idle polls are counted since the service started, so the first poll of a
  new recovery can decide; fetched records still on their way to the recovery are then dropped as
  already seen. The risk state came back without its last batches (the SIGKILL test: a worker recovered
  the state of 28 decisions as none and decided them again; docs/broker.md).

So the end given to Faust is the offset after the last *committed record* (read with a short-lived
read_committed consumer from the tail), which recovery does receive and finish on by itself, and the
guess is switched off: the position the guess asks for is reported as -1, never at the end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer

log = logging.getLogger(__name__)

TAIL_FIRST = 64  # records read back from the end first; 8x more each time none is committed there
END_READ_S = 20.0


def install_exact_recovery(consumer: Any) -> None:
    """Under exactly-once, recovery ends at each changelog's last committed record (see the module doc).
    The tail is read from the app's event loop: a consumer started and stopped inside Faust's consumer
    thread hung in its stop."""
    thread = consumer._thread
    highwaters = thread._highwaters
    stable_ends = consumer.highwaters

    async def listed_ends(partitions: list[Any]) -> Mapping[Any, int]:
        if not thread.consumer.in_transaction:
            return await highwaters(partitions)
        return dict(await thread._ensure_consumer().end_offsets(list(partitions)))

    async def committed_ends(*partitions: Any) -> Mapping[Any, int]:
        stable = await stable_ends(*partitions)
        if not consumer.in_transaction:
            return stable
        return await after_last_committed(thread._ensure_consumer()._client, stable)

    async def never_at_the_end(tp: Any) -> int:
        return -1  # Faust asks only in `detect_aborted_tx`, the guess switched off here

    thread._highwaters = listed_ends
    consumer.highwaters = committed_ends
    consumer.position = never_at_the_end


async def after_last_committed(client: Any, stable: Mapping[Any, int]) -> dict[Any, int]:
    """Per partition, the offset after its last committed record (its log's start: none), below its last
    stable offset `stable[tp]`, read back from the tail with a consumer of the connection settings of
    `client`."""
    ends = {tp: 0 for tp in stable}
    written = [tp for tp, end in stable.items() if end]
    if not written:  # (a consumer never assigned a partition hangs in its stop: none is started then)
        return ends
    reader = AIOKafkaConsumer(
        bootstrap_servers=client._bootstrap_servers,
        security_protocol=client._security_protocol,
        ssl_context=client._ssl_context,
        sasl_mechanism=client._sasl_mechanism,
        sasl_plain_username=client._sasl_plain_username,
        sasl_plain_password=client._sasl_plain_password,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await reader.start()
    try:
        reader.assign(written)
        # Retention moves a changelog's start (the windowed tables' are compact,delete): a read below it
        # is out of range, and Faust starts recovery at start - 1, which an end below it makes a
        # ConsistencyError that crashed every worker of `make chaos` after its broker kills.
        firsts = await reader.beginning_offsets(written)
        for tp in written:
            ends[tp] = await _after_last(reader, tp, firsts.get(tp, 0), stable[tp])
        return ends
    finally:
        await reader.stop()


async def _after_last(reader: AIOKafkaConsumer, tp: Any, first: int, end: int) -> int:
    """After the last committed record in [first, end); `first` when there is none (nothing to read)."""
    span = TAIL_FIRST
    while True:
        start = max(first, end - span)
        if start >= end:
            return end
        last = await _last_record(reader, tp, start, end)
        if last is not None:
            return last + 1
        if start == first:
            return first
        span *= 8


async def _last_record(reader: AIOKafkaConsumer, tp: Any, start: int, end: int) -> int | None:
    """The offset of the last committed record in [start, end), read until the position reaches `end` (a
    read_committed position stops at the last stable offset, past the markers)."""
    reader.seek(tp, start)
    last: int | None = None
    deadline = asyncio.get_running_loop().time() + END_READ_S
    while await reader.position(tp) < end:
        if asyncio.get_running_loop().time() > deadline:  # never seen; a guess, logged
            guess = last if last is not None else end - 1
            log.warning("recovery end of %s not read within %.0f s; taken as %d", tp, END_READ_S, guess)
            return guess
        batch = await reader.getmany(tp, timeout_ms=200)
        for record in batch.get(tp, ()):
            if record.offset < end:
                last = record.offset
    return last
