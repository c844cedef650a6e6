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


def generation(app: Any) -> int | None:
    """The app's consumer generation: Faust stamps each record it fetches with it (None: not known)."""
    return cast(int | None, getattr(app, "consumer_generation_id", None))


def stale_generation(message: Any, current: int | None) -> bool:
    """Whether `message` was fetched before the rebalance that started generation `current`."""
    stamped = getattr(message, "generation_id", None)
    return stamped is not None and current is not None and stamped != current
