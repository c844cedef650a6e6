"""Read-through, write-back views of Faust tables for one batch of events.

Faust writes a changelog record per `table[key] = value` and takes its partition from the *current*
event, which is wrong when a batch from `take_events` spans partitions. These views collect a batch's
updates and write each key once, to the partition it belongs to (the source event's partition), which
is both the fast path (one changelog record per key per batch) and the correct one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class BatchView(Generic[V]):
    """A batch-local view of a Faust table: values decoded once, written back once on flush()."""

    def __init__(self, table: Any, *, load: Callable[[Any], V], dump: Callable[[V], Any]) -> None:
        self._table = table
        if getattr(table, "holds_values", False):  # an in-process table stores the values themselves
            load, dump = _same, _same
        self._load = load
        self._dump = dump
        self._values: dict[Hashable, V] = {}
        self._dirty: dict[Hashable, int] = {}

    def get(self, key: Hashable) -> V | None:
        value = self._values.get(key)  # one lookup on the hot path: values put here are never None
        if value is not None:
            return value
        raw = self._table.data.get(key)
        if raw is None:
            return None
        value = self._load(raw)
        self._values[key] = value
        return value

    def put(self, key: Hashable, value: V, partition: int) -> None:
        self._values[key] = value
        self._dirty[key] = partition

    def flush(self) -> list[Any]:
        """Write every updated key once; returns the changelog sends (awaitable: acked by the broker)."""
        table = self._table
        windowed = table._should_expire_keys()
        sends = []
        for key, partition in self._dirty.items():
            raw = self._dump(self._values[key])
            table.data[key] = raw
            sends.append(table.send_changelog(partition, key, raw))
            if windowed:
                table._maybe_set_key_ttl(key, partition)
        self._dirty.clear()
        self._values.clear()
        return sends


def _same(value: Any) -> Any:
    return value


def underlying(windowed_table: Any) -> Any:
    """The Faust Table behind a WindowWrapper (or the table itself)."""
    return getattr(windowed_table, "table", windowed_table)
