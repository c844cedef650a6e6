"""The feature folding over in-memory Faust-shaped tables (`backtest.memory_tables`), no broker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backtest.memory_tables import MemoryTable, feature_tables
from features.folding import FeatureFolder
from features.pair_state import PairFeatureState
from market.simulator import MarketSimulator
from streams.records import Swap


def tables() -> dict[str, MemoryTable]:
    return feature_tables(keep_changelog=True)


def swaps(n: int) -> list[Swap]:
    sim = MarketSimulator(
        seed=5, pairs=("SOL/USDC",), rate_eps=200.0, start_ms=1_700_000_000_000, launches=False
    )
    out = []
    for event in sim.events():
        if isinstance(event, Swap):
            out.append(event)
            if len(out) == n:
                return out
    return out


def run(
    batches: list[list[Swap]], t: dict[str, MemoryTable], interval_ms: int = 1000, start: int = 0
) -> list[Any]:
    snaps, offset = [], start
    for batch in batches:
        folder = FeatureFolder(snapshot_interval_ms=interval_ms, **t)
        for swap in batch:
            snap = folder.fold(swap, partition=0, offset=offset, origin_ms=0)
            offset += 1
            if snap is not None:
                snaps.append(snap)
        folder.flush()
    return snaps


def test_snapshots_equal_the_in_process_state_whatever_the_batching() -> None:
    events = swaps(8000)
    one_batch = run([events], tables())
    small_batches = run([events[i : i + 37] for i in range(0, len(events), 37)], tables())
    assert [s.id for s in one_batch] == [s.id for s in small_batches]
    assert [s.features for s in one_batch] == [s.features for s in small_batches]

    state = PairFeatureState("SOL/USDC")
    expected = {}
    bucket = -1
    for swap in events:
        state.learn_one(swap)
        if swap.ts_ms // 1000 > bucket:
            bucket = swap.ts_ms // 1000
            expected[swap.ts_ms] = state.snapshot(swap.ts_ms)
    assert len(one_batch) == len(expected) > 30  # 8,000 swaps at 200/s: ~40 s
    for snap in one_batch:
        assert snap.features == expected[snap.ts_ms]


def test_redelivered_swaps_are_not_applied_twice() -> None:
    events = swaps(500)
    t = tables()
    first = run([events], t)
    folder = FeatureFolder(snapshot_interval_ms=1000, **t)
    again = [folder.fold(s, partition=0, offset=i, origin_ms=0) for i, s in enumerate(events)]
    assert first and all(s is None for s in again)


def test_a_bar_that_reached_the_changelog_without_its_pair_state_counts_its_swaps_once() -> None:
    """A crash between the two changelog writes of a batch: the bars landed, the pair's state did not."""
    events = swaps(600)
    whole = tables()
    expected = run([events], whole)
    t = tables()
    run([events[:300]], t)
    lost_state = dict(t["state_table"].data)
    run([events[300:450]], t, start=300)
    t["state_table"].data.clear()
    t["state_table"].data.update(lost_state)  # the state as of offset 299, the bars as of 449
    again = run([events[300:]], t, start=300)  # raw re-delivered from the committed offset
    trades = {k: v.trades if hasattr(v, "trades") else v["trades"] for k, v in t["bars_1s"].data.items()}
    whole_trades = {
        k: v.trades if hasattr(v, "trades") else v["trades"] for k, v in whole["bars_1s"].data.items()
    }
    assert trades == whole_trades
    assert [s.features for s in again if s.ts_ms > events[449].ts_ms] == [
        s.features for s in expected if s.ts_ms > events[449].ts_ms
    ]


def test_each_key_is_written_once_per_batch_to_its_partition() -> None:
    events = swaps(400)
    t = tables()
    folder = FeatureFolder(snapshot_interval_ms=1000, **t)
    for i, swap in enumerate(events):
        folder.fold(swap, partition=3, offset=i, origin_ms=0)
    folder.flush()
    for table in t.values():
        keys = [k for _, k in table.changelog]
        assert len(keys) == len(set(keys))
        assert {p for p, _ in table.changelog} <= {3}  # the 60 s table has no closed step yet
    assert {p for p, _ in t["bars_1s"].changelog} == {3}
    assert t["state_table"].changelog == [(3, "SOL/USDC")]


def test_hopping_tables_hold_every_closed_step_once() -> None:
    """A window's table bar is the merge of its closed steps' one-second bars: counts match exactly."""
    events = swaps(6000)
    t = tables()
    run([events[i : i + 50] for i in range(0, len(events), 50)], t)
    bars_1s = t["bars_1s"].data
    last_s = max(s.ts_ms for s in events) // 1000 * 1000
    checked = 0
    for name, (size, step) in (("bars_10s", (10_000, 2_000)), ("bars_60s", (60_000, 10_000))):
        table = t[name]
        assert table is not None
        for (pair, (start, _)), value in table.data.items():
            if start * 1000 + size > last_s - last_s % step:
                continue  # its last step is still open
            window_1s = t["bars_1s"].window
            first = int(start)
            span = range(first, first + size // 1000)
            keys = [tuple(map(float, window_1s.ranges(float(s))[0])) for s in span]
            seconds = [bars_1s.get((pair, key)) for key in keys]
            trades = sum(int(b["trades"]) for b in seconds if b is not None)
            assert value["trades"] == trades, (name, start)
            checked += 1
    assert checked > 10


def test_a_sources_last_progress_is_passed_on_however_small_the_step() -> None:
    """The end of a stream: a source's final progress record, 5 ms past the last announcement, must reach
    the model's merge, or the snapshots of those 5 ms wait for its idle timeout."""
    from features.folding import ProgressMarks

    marks = ProgressMarks(step_ms=20)
    marks.saw(0, 100)
    assert [p.ts_ms for p in marks.due()] == [100]
    marks.saw(0, 110)  # a swap: 10 ms is less than a step
    assert marks.due() == []
    marks.saw(0, 115, from_source=True)
    assert [(p.ts_ms, p.steady) for p in marks.due()] == [(115, True)]
    assert marks.due() == []


def test_a_batch_folds_swaps_passes_progress_on_and_reports_what_does_not_decode() -> None:
    from features.folding import ProgressMarks, fold_batch
    from streams.codec import encode
    from streams.records import PROGRESS_KEY, Progress

    @dataclass
    class Message:
        partition: int
        offset: int
        key: bytes | None
        value: bytes | None
        timestamp: float = 1.0

    events = swaps(300)
    good = [Message(0, i, b"SOL/USDC", encode(s)) for i, s in enumerate(events)]
    bad_swap = Message(0, 300, b"SOL/USDC", b"{not json")
    source_progress = Message(
        0, 301, PROGRESS_KEY, encode(Progress(source_partition=0, ts_ms=events[-1].ts_ms + 5))
    )
    bad_progress = Message(0, 302, PROGRESS_KEY, b"[]")
    marks = ProgressMarks(step_ms=20)
    batch = fold_batch(
        FeatureFolder(snapshot_interval_ms=1000, **tables()),
        marks,
        [*good, bad_swap, source_progress, bad_progress],
    )
    assert [s.id for s in batch.snapshots] == [s.id for s in run([events], tables())]
    assert [i for i, _ in batch.dead] == [300, 302]
    assert [(p.source_partition, p.ts_ms, p.steady) for p in batch.progress] == [
        (0, events[-1].ts_ms + 5, True)
    ]


def test_the_tables_windows_are_the_ones_the_features_read() -> None:
    from features.maths import BAR_MS, HOP_10S_MS, HOP_60S_MS
    from tables.windows import BARS_1S_WINDOW, BARS_10S_WINDOW, BARS_60S_WINDOW

    assert (BARS_1S_WINDOW.size_s * 1000, BARS_1S_WINDOW.step_s * 1000) == (BAR_MS, BAR_MS)
    assert (BARS_10S_WINDOW.size_s * 1000, BARS_10S_WINDOW.step_s * 1000) == HOP_10S_MS
    assert (BARS_60S_WINDOW.size_s * 1000, BARS_60S_WINDOW.step_s * 1000) == HOP_60S_MS
