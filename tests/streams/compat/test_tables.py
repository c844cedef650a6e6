"""`streams.compat.tables`: a fenced task's table partitions are forgotten, so recovery rebuilds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faust.types import TP

from core.settings import load_settings
from streams.app import build_app
from streams.compat.tables import FaustTable, forget_partitions


def app_with_table(tmp_path: Path) -> tuple[Any, Any]:
    app = build_app(load_settings(broker_url="kafka://127.0.0.1:1", data_dir=tmp_path))
    table = app.Table("risk-like", default=None, partitions=2)
    return app, table


def test_written_keys_of_a_forgotten_partition_are_dropped_and_recovery_starts_over(tmp_path: Path) -> None:
    app, table = app_with_table(tmp_path)
    adapter = FaustTable(table, "signals")
    adapter.write("a", {"offsets": {"signals:0": 9}}, 0)
    adapter.write("b", {"offsets": {"signals:1": 4}}, 1)
    changelog = table.changelog_topic.get_topic_name()
    recovery = app.tables.recovery
    recovery.active_offsets[TP(changelog, 0)] = 41  # where the last recovery stopped
    recovery.active_offsets[TP(changelog, 1)] = 17

    dropped = forget_partitions(app, {TP(changelog, 0), TP("signals", 0)})

    assert dropped == 1
    assert dict(table.data) == {"b": {"offsets": {"signals:1": 4}}}
    assert TP(changelog, 0) not in recovery.active_offsets  # read again from the changelog's start
    assert recovery.active_offsets[TP(changelog, 1)] == 17


def test_partitions_of_other_topics_leave_the_tables_alone(tmp_path: Path) -> None:
    app, table = app_with_table(tmp_path)
    FaustTable(table, "signals").write("a", 1, 0)
    assert forget_partitions(app, {TP("signals", 0), TP("orders", 0)}) == 0
    assert dict(table.data) == {"a": 1}


async def test_windows_expire_by_the_event_time_reached_not_by_the_wall_clock(tmp_path: Path) -> None:
    """A worker three minutes behind the market kept none of the bars it was about to read: Faust dropped
    them by the wall clock."""
    from datetime import timedelta

    from streams.compat.tables import expire_by_event_time, underlying

    app = build_app(load_settings(broker_url="kafka://127.0.0.1:1", data_dir=tmp_path))
    bars = expire_by_event_time(
        app.Table("bars", default=None, partitions=1).tumbling(1.0, expires=timedelta(seconds=90))
    )
    adapter = FaustTable(bars, "raw.swaps")
    t0 = 1_000.0  # event time (s), long before the wall clock's now
    for second in range(60):
        adapter.write(("SOL/USDC", (t0 + second, t0 + second + 1 - 0.001)), {"n": second}, 0)
    inner = underlying(bars)
    await inner._del_old_keys()
    assert len(inner.data) == 60  # all within 90 s of the newest window: kept
    faust_own = app.Table("bars-faust", default=None, partitions=1).tumbling(
        1.0, expires=timedelta(seconds=90)
    )
    for second in range(60):
        FaustTable(faust_own, "raw.swaps").write(("SOL/USDC", (t0 + second, t0 + second + 0.999)), {}, 0)
    await underlying(faust_own)._del_old_keys()
    assert len(underlying(faust_own).data) == 0  # what Faust does: all gone, by the wall clock
    adapter.write(("SOL/USDC", (t0 + 100.5, t0 + 101.5 - 0.001)), {"n": 100}, 0)
    await inner._del_old_keys()  # the partition reached t0 + 101.5: windows ending 90 s before that go
    assert sorted(v["n"] for v in inner.data.values()) == [*range(11, 60), 100]


async def test_recovered_windows_expire_too_and_the_changelog_outlives_an_outage(tmp_path: Path) -> None:
    """`make chaos`: a partition whose owner was down longer than the one-second bars' 90 s had its
    changelog deleted by the broker (retention by wall-clock timestamps), and the next owner recovered no
    bars; and recovered windows were never expired (Faust keeps expiry entries only for keys it writes)."""
    from datetime import timedelta

    from streams.compat.tables import CHANGELOG_KEEP_S, expire_by_event_time, underlying

    app = build_app(load_settings(broker_url="kafka://127.0.0.1:1", data_dir=tmp_path))
    bars = expire_by_event_time(
        app.Table("bars", default=None, partitions=1).tumbling(1.0, expires=timedelta(seconds=90))
    )
    inner = underlying(bars)
    assert inner.changelog_topic.retention == 90.0 + CHANGELOG_KEEP_S
    assert inner.changelog_topic.compacting and inner.changelog_topic.deleting
    t0 = 1_000.0
    store = inner.data
    for second in range(3):  # as recovery applies changelog records: stored, with their partition
        key = ("SOL/USDC", (t0 + second, t0 + second + 0.999))
        store.data[key] = {"n": second}
        store._key_partition[key] = 0
    await inner._del_old_keys()
    assert len(store.data) == 3  # the partition has reached no event time yet: nothing is stale
    FaustTable(bars, "raw.swaps").write(("SOL/USDC", (t0 + 91.0, t0 + 91.999)), {"n": 91}, 0)
    await inner._del_old_keys()  # the partition reached t0 + 92: windows ending 90 s before go
    assert sorted(v["n"] for v in store.data.values()) == [1, 2, 91]
