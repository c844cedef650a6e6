"""Faust's tables seen as `tables.batch_view.ChangelogTable`s: the private table calls, in one place.

A batch view writes each key once per batch to the partition it belongs to. Faust's public `table[key] =
value` would log it to the *current event's* partition (wrong for a batch spanning partitions), so the
adapter writes the table's store and its changelog itself, and keeps a windowed key's expiry as Faust's
own `__setitem__` would (`send_changelog`, `_should_expire_keys`, `_maybe_set_key_ttl`: private API of
faust-streaming 0.15).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Mapping
from heapq import heappop
from typing import Any

from faust.types import TP

from streams.compat.transactions import outputs_of

log = logging.getLogger(__name__)


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
        key_partition = getattr(table.data, "_key_partition", None)  # the memory store's (recovery fills it)
        if key_partition is not None:
            key_partition[key] = partition
        with outputs_of(TP(self.source_topic, partition)):
            sent = table.send_changelog(partition, key, raw)
        if self._windowed:
            table._maybe_set_key_ttl(key, partition)
        return sent


def forget_partitions(app: Any, changelog_tps: Iterable[TP]) -> int:
    """Drop what the app's tables hold for these changelog partitions, and where their recovery stopped, so
    the next recovery rebuilds them from the changelog's start: only committed records (read_committed).

    Called for the partitions of a fenced task before the group gives out partitions again: Faust recovers
    a partition it still counts as read from where its last recovery stopped, on top of the memory, which
    would keep what the aborted transaction wrote (the risk state's applied offsets, so the resume hook
    skipped the aborted signals). Keys are found by the partition Faust's memory store records for them
    (recovered keys; `FaustTable.write` records the ones written here). Returns how many keys were dropped.
    """
    tps = set(changelog_tps)
    dropped = 0
    for table in app.tables.values():
        name = table.changelog_topic.get_topic_name()
        partitions = {tp.partition for tp in tps if tp.topic == name}
        if not partitions:
            continue
        store = table.data
        key_partition = getattr(store, "_key_partition", None)
        if key_partition is None:
            continue  # not a memory store: nothing held in this process
        for key in [k for k, p in key_partition.items() if p in partitions]:
            store.data.pop(key, None)
            key_partition.pop(key, None)
            dropped += 1
        for partition in partitions:
            app.tables.recovery.revoke(TP(name, partition))  # private: recovery's per-partition offsets
        log.info("table %s: partitions %s forgotten", table.name, sorted(partitions))
    return dropped


CHANGELOG_KEEP_S = 3600.0  # how long the broker keeps a window's changelog record after the window expires


def changelog_retention_s(expires_s: float) -> float:
    """The retention of a windowed table's changelog (see `expire_by_event_time`)."""
    return expires_s + CHANGELOG_KEEP_S


def expire_by_event_time(table: Any) -> Any:
    """Make a windowed table drop its windows by the event time its partitions have reached, not by the
    wall clock: Faust's `_del_old_keys` compares a window's end with `time.time()`, so a worker behind the
    market (restarted, or back from an outage: three minutes in `make chaos`) lost the one-second bars its
    next snapshots read (10 s trade counts of 275 against 723) and computed other features than a worker
    that never fell behind. A window goes once its partition's newest window ends `expires` after it,
    whether this process wrote it or recovered it. Faust's `on_window_close` is not called (no table here
    has one).

    The changelog is kept `CHANGELOG_KEEP_S` longer than Faust's `expires`: the broker deletes records by
    their wall-clock timestamps, and a partition whose owner was down longer than `expires` (90 s for the
    one-second bars) had its whole changelog deleted, so the next owner recovered no bars at all (`make
    chaos`: snapshots with 25 trades in 60 s against 4,331). Returns `table`."""
    inner = underlying(table)
    window = inner.window
    inner.changelog_topic = inner._new_changelog_topic(retention=changelog_retention_s(window.expires))

    async def del_old_keys() -> None:
        latest = inner._partition_latest_timestamp
        for partition, ends in inner._partition_timestamps.items():
            while ends and window.stale(ends[0], latest[partition]):
                end = heappop(ends)
                for key in inner._partition_timestamp_keys.pop((partition, end), ()):
                    inner.data.pop(key, None)
        _drop_stale_recovered(inner, window, latest)

    inner._del_old_keys = del_old_keys  # private: the table's cleanup timer calls it
    return table


def _drop_stale_recovered(inner: Any, window: Any, latest: Mapping[int, float]) -> None:
    """Windows recovered from the changelog have no expiry entry (Faust keeps them only for keys it
    writes): drop those stale by the event time their partition has reached since."""
    store = inner.data
    key_partition = getattr(store, "_key_partition", None)
    if key_partition is None:
        return
    stale = [
        key
        for key, partition in key_partition.items()
        if latest.get(partition) and window.stale(key[1][1], latest[partition])
    ]
    for key in stale:
        store.data.pop(key, None)
        key_partition.pop(key, None)
