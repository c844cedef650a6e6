"""What the worker's views and agents read of Faust's consumer: its assignment, read and committed offsets,
high watermarks and generation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from faust.transport.consumer import Consumer as FaustConsumer


def read_offsets(consumer: Any) -> Mapping[Any, int | None]:
    """Faust's read offset per partition: the last record its fetch loop handed over (private API)."""
    return cast(FaustConsumer, consumer)._read_offset


def assignment(consumer: Any) -> set[Any]:
    """The consumer's partitions; empty before it started."""
    try:
        return set(consumer.assignment())
    except Exception:  # consumer not started yet: nothing is owned
        return set()


def settled(app: Any) -> bool:
    """Whether the app's last rebalance is over, its tables recovered: until then a table holds whatever a
    standby copy or the previous assignment left, which no timer may read as the current state."""
    return not getattr(app, "rebalancing", False)


def highwater(consumer: Any, tp: Any) -> int | None:
    try:
        return cast(int | None, consumer.highwater(tp))
    except Exception:  # no fetch answered for it yet
        return None


def committed_offset(consumer: Any, tp: Any) -> int | None:
    """The group's committed offset of `tp` as Faust last read or wrote it (None: nothing committed)."""
    return cast(int | None, getattr(consumer, "_committed_offset", {}).get(tp))


def stale_generation(app: Any, message: Any) -> bool:
    """Whether `message` was fetched before the app's latest rebalance (Faust stamps each record)."""
    generation = getattr(message, "generation_id", None)
    return generation is not None and generation != getattr(app, "consumer_generation_id", generation)
