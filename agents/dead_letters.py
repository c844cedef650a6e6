"""Sending what an agent cannot use to its hop's dead-letter topic, with the reason and the bytes."""

from __future__ import annotations

import logging
from typing import Any

from streams.codec import dead_letter, encode
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
