"""Sending what an agent cannot use to its hop's dead-letter topic, with the reason and the bytes."""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from itertools import groupby
from typing import Any

from faust.types import TP

from core.metrics import DEAD_LETTERS
from streams.codec import dead_letter, dead_letter_bytes, encode
from streams.compat.transactions import TaskTransactions, in_any_order, outputs_of

log = logging.getLogger(__name__)


async def send_dead_letter(dlq_topic: Any, event: Any, reason: str, agent: str) -> None:
    msg = event.message
    record = dead_letter(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        value=msg.value,
        reason=reason,
        agent=agent,
    )
    log.warning("dead letter %s[%d]@%d from %s: %s", msg.topic, msg.partition, msg.offset, agent, reason)
    DEAD_LETTERS.labels(agent).inc()
    with outputs_of(TP(msg.topic, msg.partition)), in_any_order():  # exactly-once: its input task's
        await dlq_topic.send(key=msg.topic.encode(), value=encode(record))


DELIVERY_ATTEMPTS = 3  # a batch's letters the broker refused are sent again, with a short back-off


async def send_dead_letters(dlq_topic: Any, letters: list[tuple[Any, str]], agent: str) -> None:
    """A batch's dead letters (event, reason): straight to the app's producer, and one log line per batch.

    A flood of bad input (issue 9: 100,000 malformed records) must not starve the valid events in the
    same batches. `topic.send` wraps every record in Faust's future, pending message and sensor calls,
    which cost more than the rest of a bad record's handling together (profiled: ~2/3 of the worker's
    time in a flood); the app's producer (transactional under exactly-once) takes the bytes directly.
    At-least-once: returns once the broker has every letter: the batch's offsets are committed after it,
    so a letter it refused (a request timeout under load) is sent again instead of being lost with its
    record. Exactly-once: returns once every letter is in its input task's transaction, which commits them
    with the batch's offsets or not at all (a refused letter aborts it: `TaskTransactions`). Waiting for
    the broker's acks there (and at each change of producer, for an order nobody reads) took the
    features agent 54 s of a 110 s flood run.
    """
    if not letters:
        return
    now_ms = int(time.time() * 1000)
    app = dlq_topic.app
    # What `topic.send` itself uses: the transaction manager under exactly-once, else the producer.
    producer, sensors = await app.maybe_start_producer(), app.sensors
    name = dlq_topic.get_topic_name()
    pending: list[tuple[Any, bytes, bytes]] = []
    for event, reason in letters:
        msg = event.message
        value = dead_letter_bytes(
            topic=msg.topic,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
            reason=reason,
            agent=agent,
            ts_ms=now_ms,
        )
        pending.append((TP(msg.topic, msg.partition), msg.topic.encode(), value))
    # Grouped by input task: under exactly-once each task's letters leave through its own producer, in
    # its own transaction. A dead-letter topic's order across sources means nothing; within a source it is
    # kept (the sort is stable).
    pending.sort(key=lambda letter: (letter[0].topic, letter[0].partition))
    for attempt in range(DELIVERY_ATTEMPTS):
        sends: list[asyncio.Future[Any]] = []
        for (source, key), group in groupby(pending, key=lambda letter: (letter[0], letter[1])):
            values = [value for _, _, value in group]
            for value, sent in zip(values, await _enqueue(producer, name, key, values, source), strict=True):
                state = sensors.on_send_initiated(producer, name, None, len(key), len(value))  # /status
                sent.add_done_callback(partial(_delivered, sensors, producer, state))
                sends.append(sent)
        if app.in_transaction:
            DEAD_LETTERS.labels(agent).inc(len(letters))
            _log_batch(letters, agent)
            return
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        pending = [kv for kv, out in zip(pending, outcomes, strict=True) if isinstance(out, BaseException)]
        if not pending:
            break
        log.warning("%d dead letters refused by the broker (attempt %d)", len(pending), attempt + 1)
        await asyncio.sleep(0.1 * 2**attempt)
    if pending:
        log.error("%d dead letters from %s not delivered after %d attempts", len(pending), agent, attempt + 1)
    DEAD_LETTERS.labels(agent).inc(len(letters) - len(pending))
    _log_batch(letters, agent)


async def _enqueue(
    producer: Any, topic: str, key: bytes, values: list[bytes], source: TP
) -> list[asyncio.Future[Any]]:
    """Hand one source's letters to the producer: under exactly-once to its input task's transaction
    (`TaskTransactions.send_many`), else straight to the app's aiokafka producer; their deliveries."""
    if isinstance(producer, TaskTransactions):
        return await producer.send_many(topic, key, values, source)
    client = producer._ensure_producer()  # Faust's wrapper adds per record only what letters do not need
    return [await client.send(topic, value, key=key) for value in values]


def _log_batch(letters: list[tuple[Any, str]], agent: str) -> None:
    first, last = letters[0][0].message, letters[-1][0].message
    log.warning(
        "%d dead letters %s[%d]@%d .. %s[%d]@%d from %s; first: %s",
        len(letters),
        first.topic,
        first.partition,
        first.offset,
        last.topic,
        last.partition,
        last.offset,
        agent,
        letters[0][1],
    )


def _delivered(sensors: Any, producer: Any, state: Any, fut: asyncio.Future[Any]) -> None:
    """What `topic.send`'s callback does: the sensors hear the outcome (a refusal is handled above)."""
    if fut.cancelled():
        return
    exc = fut.exception()
    if exc is None:
        sensors.on_send_completed(producer, state, fut.result())
    else:
        sensors.on_send_error(producer, exc, state)
