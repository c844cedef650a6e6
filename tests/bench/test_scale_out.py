"""The scale-out figure's bookkeeping: when a group has settled, what the workers received, the projection."""

from __future__ import annotations

from bench.scale_out import owned_raw_partitions, projection, received, scale_out_rows, settled


def _status(parts: list[int], got: int) -> dict[str, object]:
    return {"partitions": {"raw.swaps": parts, "features": parts}, "received_by_topic": {"raw.swaps": got}}


def test_settled_means_every_partition_owned_once_by_every_worker_that_can_have_one() -> None:
    assert settled([[0, 1, 2, 3]], 4)
    assert settled([[0, 2], [1, 3]], 4)
    assert settled([[0], [1], [2], [3]], 4)
    assert not settled([[0, 1, 2, 3], []], 4)  # the second worker has not joined yet
    assert not settled([[0, 1], [1, 2, 3]], 4)  # a rebalance passing through: 1 owned twice
    assert not settled([[0, 1], [2]], 4)  # partition 3 owned by no one
    assert settled([[0], [1], [2], [3], []], 4)  # a fifth worker has nothing to own


def test_owned_and_received_sum_over_workers_and_tolerate_a_silent_one() -> None:
    statuses = [_status([0, 1], 10), {}, _status([2, 3], 5)]
    assert owned_raw_partitions(statuses) == [[0, 1], [], [2, 3]]
    assert received(statuses) == 15


def test_projection_is_bounded_by_the_hottest_partition_and_by_the_cores() -> None:
    # 200 us per event: 5,000 events/s per core.
    assert projection(200.0, 0.25, 4, 6) == 20_000  # even spread: four partitions, four cores
    assert projection(200.0, 0.5, 4, 6) == 10_000  # one partition carries half: it saturates first
    assert projection(200.0, 0.1, 12, 6) == 30_000  # more partitions than cores: the cores bound it


def test_rows_name_every_worker_count() -> None:
    row = {
        "workers": 2,
        "events_per_s": 3000,
        "p99_ms": 90.0,
        "orders": 12,
        "cpu_us_per_event": 300.0,
        "load_average_1m": [1.0],
    }
    s = {
        "partitions": 4,
        "rate_eps": 1000.0,
        "rows": [row],
        "hottest_partition_share": 0.5,
        "projected_3_nodes_events_per_s": 6666,
    }
    rows = dict(scale_out_rows(s))
    assert "3,000 raw events/s" in rows["2 worker(s) on 4 partitions"]
    assert "6,666" in rows["3 nodes on paper (docs/performance.md)"]
    assert scale_out_rows(None) == []
