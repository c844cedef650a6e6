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
