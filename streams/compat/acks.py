"""Acks withheld: records an agent took but did not apply must never count as processed.

Faust's `Stream.take_events` acks every event of a batch when its generator moves on or is closed,
whatever the agent did with it (faust/streams.py, the `finally` after `yield list(events)`), and the
consumer commits acked offsets (`Consumer._new_offset`: acked offsets up to the first gap). A batch that
failed at a side-effect boundary would then be committed as if applied. `withhold` marks such records as
acknowledged without telling the consumer: `Message.ack` does nothing for a record already marked, so its
offset never joins the acked list (the commit stops below it until the record, read again after a rewind,
is applied and acked), and the consumer no longer waits for it at a rebalance (`_unacked_messages`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faust.types.tuples import ack_lock


def withhold(consumer: Any, messages: Iterable[Any]) -> int:
    """Mark `messages` acknowledged without committing them; how many were not acknowledged yet."""
    withheld = 0
    unacked = getattr(consumer, "_unacked_messages", None)
    with ack_lock:
        for message in messages:
            if not message.acked:
                message.acked = True
                withheld += 1
            if unacked is not None:
                unacked.discard(message)
    return withheld
