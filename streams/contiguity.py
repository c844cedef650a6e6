"""Holes in what an agent is handed of a contiguous topic: records it never saw, which the group then counts
as read.

Every offset of a raw market topic holds a record (`streams.topics.CONTIGUOUS_TOPICS`), so the records an
agent is handed of one partition must follow each other: the first after an assignment at the group's
committed offset, each next one right after the last. A record past the one expected means the records
between were lost between the fetch and the agent, and the group commits past them, so no worker ever
applies them (docs/faults.md, "Swaps skipped at a rebalance"). The seek guard closes the holes known at the
fetch (`streams.compat.seeks`); this is the agent's own end-to-end view, which says when one gets through
anyway, and how many records it held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hole:
    """Offsets `first..last` of a partition that its agent was never handed."""

    topic: str
    partition: int
    first: int
    last: int

    @property
    def records(self) -> int:
        return self.last - self.first + 1


class Contiguity:
    """The offset each contiguous partition's next record should have, from its first record since an
    assignment on. Partitions change hands at every rebalance: `forget` them when they are revoked or
    assigned, and the next record is compared with the committed offset instead."""

    def __init__(self, topics: Iterable[str]) -> None:
        self.topics = frozenset(topics)
        self._next: dict[tuple[str, int], int] = {}

    def forget(self, partitions: Iterable[Any]) -> None:
        """Partitions (Faust TPs) that were revoked or newly assigned."""
        for tp in partitions:
            self._next.pop((tp.topic, tp.partition), None)

    def expect(self, topic: str, partition: int, offset: int) -> None:
        """The partition's next record should be `offset` (it was sought back there)."""
        self._next[(topic, partition)] = offset

    def hole(
        self, topic: str, partition: int, offset: int, committed: Callable[[str, int], int | None]
    ) -> Hole | None:
        """The hole before a record handed over now, if any. `committed(topic, partition)` is the group's
        committed offset (None: nothing committed), asked only for the first record since an assignment."""
        if topic not in self.topics:
            return None
        key = (topic, partition)
        expected = self._next.get(key)
        if expected is None:
            expected = committed(topic, partition)
        if expected is None or offset <= expected:
            # the first record of a partition with nothing committed, the expected one, or one read again
            self._next[key] = offset + 1 if expected is None else max(expected, offset + 1)
            return None
        self._next[key] = offset + 1
        return Hole(topic, partition, expected, offset - 1)
