"""Sending what an agent cannot use to its hop's dead-letter topic, with the reason and the bytes."""

from __future__ import annotations

import logging
import time
from typing import Any

from streams.codec import dead_letter, dead_letter_bytes, encode
from web.metrics import DEAD_LETTERS

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
    await dlq_topic.send(key=msg.topic.encode(), value=encode(record))


async def send_dead_letters(dlq_topic: Any, letters: list[tuple[Any, str]], agent: str) -> None:
    """A batch's dead letters (event, reason): one send each, no record each, and one log line per batch.

    A flood of bad input (issue 9: 100,000 malformed records) must not starve the valid events in the
    same batches, so the per-letter cost is kept to a dict, base64 and a send.
    """
    if not letters:
        return
    now_ms = int(time.time() * 1000)
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
        await dlq_topic.send(key=msg.topic.encode(), value=value)
    DEAD_LETTERS.labels(agent).inc(len(letters))
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
