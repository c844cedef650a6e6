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
SETTLE_S = 20.0  # how long an active changelog's open transaction is waited for before recovery ends


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
        active = set(consumer.app.tables.recovery.active_tps)  # private: the partitions this worker now owns
        return await after_last_committed(
            thread._ensure_consumer()._client, stable, settle=[tp for tp in stable if tp in active]
        )

    async def never_at_the_end(tp: Any) -> int:
        return -1  # Faust asks only in `detect_aborted_tx`, the guess switched off here

    thread._highwaters = listed_ends
    consumer.highwaters = committed_ends
    consumer.position = never_at_the_end


def _reader(client: Any, isolation_level: str) -> AIOKafkaConsumer:
    """A short-lived consumer with the connection settings of `client`."""
    return AIOKafkaConsumer(
        bootstrap_servers=client._bootstrap_servers,
        security_protocol=client._security_protocol,
        ssl_context=client._ssl_context,
        sasl_mechanism=client._sasl_mechanism,
        sasl_plain_username=client._sasl_plain_username,
        sasl_plain_password=client._sasl_plain_password,
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )


async def settled_ends(client: Any, tps: list[Any], wait_s: float = SETTLE_S) -> dict[Any, int]:
    """The last stable offsets of `tps` once no transaction is open on them (at most `wait_s`).

    A transaction the previous owner committed just before it died can still be writing its markers
    (after a broker restart, for seconds): its records are committed but not yet readable, and a
    recovery that ended at the stable offset then missed them. `make chaos`: a restarted worker's bars
    came back without the previous owner's last transaction while its raw offsets and feature state,
    written after the markers, did not, and 42 trades of one second were never counted."""
    committed, uncommitted = _reader(client, "read_committed"), _reader(client, "read_uncommitted")
    await committed.start()
    await uncommitted.start()
    try:
        committed.assign(tps)  # (one never assigned a partition hangs in its stop)
        uncommitted.assign(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            stable = await committed.end_offsets(tps)
            ends = await uncommitted.end_offsets(tps)
            still_open = [tp for tp in tps if stable[tp] < ends[tp]]
            if not still_open:
                return dict(stable)
            if loop.time() > deadline:
                log.warning(
                    "recovery of %s: a transaction still open after %.0f s; recovering what is committed",
                    still_open,
                    wait_s,
                )
                return dict(stable)
            await asyncio.sleep(0.1)
    finally:
        await committed.stop()
        await uncommitted.stop()


async def after_last_committed(
    client: Any, stable: Mapping[Any, int], settle: list[Any] | None = None
) -> dict[Any, int]:
    """Per partition, the offset after its last committed record (its log's start: none), below its last
    stable offset `stable[tp]`, read back from the tail with a consumer of the connection settings of
    `client`. The partitions in `settle` (the active ones) first wait for their open transactions to end
    (`settled_ends`): a standby's are always open while its active owner writes."""
    if settle:
        stable = {**stable, **await settled_ends(client, settle)}
    ends = {tp: 0 for tp in stable}
    written = [tp for tp, end in stable.items() if end]
    if not written:  # (a consumer never assigned a partition hangs in its stop: none is started then)
        return ends
    reader = _reader(client, "read_committed")
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
