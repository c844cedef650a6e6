"""Read-through, write-back views of a table for one batch of events.

Faust writes a changelog record per `table[key] = value` and takes its partition from the *current*
event, which is wrong when a batch from `take_events` spans partitions. These views collect a batch's
updates and write each key once, to the partition it belongs to (the source event's partition), which
is both the fast path (one changelog record per key per batch) and the correct one.

A view knows a table only as a `ChangelogTable`: its values (`data`) and one `write`. Faust's tables get
one from `streams.compat.tables.FaustTable` (where its private calls live); the backtest's in-memory
tables are one themselves (`backtest.memory_tables.MemoryTable`). So this module imports no Faust.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, Protocol, TypeVar

V = TypeVar("V")


class ChangelogTable(Protocol):
    """What a batch view needs of a table: its stored values, and a write that also logs the change."""

    @property
    def data(self) -> Mapping[Hashable, Any]: ...

    @property
    def holds_values(self) -> bool:
        """True for an in-process table that stores a view's values as they are (no dump and load)."""
        ...

    def write(self, key: Hashable, raw: Any, partition: int) -> Any:
        """Store `raw` under `key` and log it to `partition`; returns the send (awaitable) or None."""
        ...


class BatchView(Generic[V]):
    """A batch-local view of a table: values decoded once, written back once on flush()."""

    def __init__(self, table: ChangelogTable, *, load: Callable[[Any], V], dump: Callable[[V], Any]) -> None:
        self._table = table
        self._data = table.data
        if table.holds_values:
            load, dump = _same, _same
        self._load = load
        self._dump = dump
        self._values: dict[Hashable, V] = {}
        self._dirty: dict[Hashable, int] = {}

    def get(self, key: Hashable) -> V | None:
        value = self._values.get(key)  # one lookup on the hot path: values put here are never None
        if value is not None:
            return value
        raw = self._data.get(key)
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
        write = self._table.write
        sends = [
            write(key, self._dump(self._values[key]), partition) for key, partition in self._dirty.items()
        ]
        self._dirty.clear()
        self._values.clear()
        return sends


def _same(value: Any) -> Any:
    return value
