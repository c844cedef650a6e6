"""Faust's tables seen as `tables.batch_view.ChangelogTable`s: the private table calls, in one place.

A batch view writes each key once per batch to the partition it belongs to. Faust's public `table[key] =
value` would log it to the *current event's* partition (wrong for a batch spanning partitions), so the
adapter writes the table's store and its changelog itself, and keeps a windowed key's expiry as Faust's
own `__setitem__` would (`send_changelog`, `_should_expire_keys`, `_maybe_set_key_ttl`: private API of
faust-streaming 0.15).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from faust.types import TP

from streams.compat.transactions import outputs_of


def underlying(table: Any) -> Any:
    """The Faust Table behind a WindowWrapper (or the table itself)."""
    return getattr(table, "table", table)


class FaustTable:
    """One Faust table (or window wrapper) as a `ChangelogTable`.

    `source_topic` is the topic whose partition P feeds the table's partition P: under exactly-once a
    changelog record joins the transaction of that input task (`streams.compat.transactions`).
    """

    holds_values = False  # a Faust table stores what its changelog carries: JSON-ready values

    def __init__(self, table: Any, source_topic: str) -> None:
        self._table = underlying(table)
        self._windowed = bool(self._table._should_expire_keys())
        self.source_topic = source_topic

    @property
    def data(self) -> Mapping[Hashable, Any]:
        return self._table.data

    def write(self, key: Hashable, raw: Any, partition: int) -> Any:
        table = self._table
        table.data[key] = raw
        with outputs_of(TP(self.source_topic, partition)):
            sent = table.send_changelog(partition, key, raw)
        if self._windowed:
            table._maybe_set_key_ttl(key, partition)
        return sent
