"""Faust's committed-offset map holds only what the broker accepted.

After a commit, Faust writes the offsets it tried into its map of the group's committed offsets whether
the broker accepted them or not (faust-streaming 0.15.3, `faust/transport/consumer.py`,
`Consumer._commit_offsets`: `self._committed_offset.update(committable_offsets)` after `did_commit` is
known). A worker paused past its session shows what that does. On resuming, its commit fails (the group
no longer knows the member), and the offsets it had reached go into the map just after the rebalance
emptied it (`on_partitions_revoked`). When the group gives it the partition back, the fetch resumes at
the offset the other worker committed, further on, and the map is read again only when the recovery's
seek runs. Until then it names an older offset than the one the fetch resumed at: the features agent's
hole check read it and reported 226 swaps, then 1,471, that another worker had applied
(`make test-slow`, the paused-worker test). Faust's own head-of-queue check (`_new_offset`) compares
acks with the same map.

`install_commit_truth(consumer)` keeps the map as it was when the driver answered: a commit the broker
refused changes nothing in it. Under exactly-once the commit goes through the transaction manager, not
the driver, and the map is left to Faust.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

# The map's entries for a commit's partitions when the driver answered (None: no driver call yet).
_before_answer: ContextVar[dict[Any, int | None] | None] = ContextVar("_before_answer", default=None)


def install_commit_truth(consumer: Any) -> None:
    """Wrap `consumer`'s (this instance only) driver commit and offset commit as described above."""
    send, commit_offsets = consumer._commit, consumer._commit_offsets
    committed: dict[Any, int | None] = consumer._committed_offset

    async def answered(offsets: Mapping[Any, int]) -> bool:
        accepted = bool(await send(offsets))
        # nothing awaits between this return and Faust's write into the map: these are its entries then
        _before_answer.set(None if accepted else {tp: committed.get(tp) for tp in offsets})
        return accepted

    async def truthful(offsets: Mapping[Any, int], start_new_transaction: bool = True) -> bool:
        token = _before_answer.set(None)
        try:
            did_commit = bool(await commit_offsets(offsets, start_new_transaction=start_new_transaction))
            refused = _before_answer.get()
            if refused:
                for tp, offset in refused.items():
                    if offset is None:
                        committed.pop(tp, None)
                    else:
                        committed[tp] = offset
                log.debug("commit refused: committed offsets of %d partitions kept", len(refused))
            return did_commit
        finally:
            _before_answer.reset(token)

    consumer._commit = answered
    consumer._commit_offsets = truthful
