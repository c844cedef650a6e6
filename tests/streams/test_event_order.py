"""The event-time merge: the same output order whatever the partitions' interleaving."""

from __future__ import annotations

import random

from streams.event_order import MAX_FREEZE_MS, EventTimeMerge


def _logs() -> dict[int, list[tuple[int, str]]]:
    """Three partitions, each in event-time order, with ties across partitions."""
    rng = random.Random(7)
    logs: dict[int, list[tuple[int, str]]] = {}
    for p, pairs in enumerate((["A", "D"], ["B"], ["C", "E"])):
        ts = 0
        out = []
        for _ in range(40):
            ts += rng.choice((0, 250, 500))
            out.append((ts, rng.choice(pairs)))
        logs[p] = out
    return logs


def _run(logs: dict[int, list[tuple[int, str]]], seed: int) -> list[tuple[int, str, int, int]]:
    """Feed the partitions in a random interleaving, in random-sized chunks; collect the release order."""
    rng = random.Random(seed)
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=1e9)
    merge.assign(list(logs), 0.0)
    cursors = dict.fromkeys(logs, 0)
    out = []
    while any(cursors[p] < len(logs[p]) for p in logs):
        p = rng.choice([p for p in logs if cursors[p] < len(logs[p])])
        for _ in range(rng.randint(1, 5)):
            if cursors[p] < len(logs[p]):
                ts, pair = logs[p][cursors[p]]
                merge.push(p, cursors[p], ts, pair, f"{pair}@{ts}", pair, 0.0)
                cursors[p] += 1
        out += [(h.ts_ms, h.pair, h.partition, h.offset) for h in merge.pop_ready(0.0)]
    merge.revoke([])  # nothing changes
    # the partitions are all exhausted: every one counts as idle from now on
    out += [(h.ts_ms, h.pair, h.partition, h.offset) for h in merge.pop_ready(2e9)]
    assert merge.held == 0 and merge.late == 0
    return out


def test_release_order_does_not_depend_on_interleaving() -> None:
    logs = _logs()
    first = _run(logs, 0)
    assert len(first) == sum(len(v) for v in logs.values())
    assert first == sorted(first)  # event time, then pair: the merge of the logs
    for seed in range(1, 20):
        assert _run(logs, seed) == first


def test_a_partition_holds_the_others_until_it_delivers_or_goes_idle() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=500)
    merge.assign([0, 1], now_ms=0.0)
    merge.push(0, 0, 1_000, "A", "A@1000", "a", now_ms=10.0)
    assert merge.pop_ready(20.0) == []  # partition 1 has said nothing yet
    merge.push(1, 0, 900, "B", "B@900", "b", now_ms=30.0)
    assert merge.pop_ready(30.0) == []  # watermark 900: partition 1 may send more at 900
    merge.push(1, 1, 950, "B", "B@950", "b2", now_ms=40.0)
    assert [h.item for h in merge.pop_ready(40.0)] == ["b"]
    assert merge.resume_offset(0) == -1 and merge.resume_offset(1) == 0
    assert merge.pop_ready(400.0) == []  # partition 1 is quiet, not yet idle
    assert [h.item for h in merge.pop_ready(600.0)] == ["b2", "a"]  # now it is: everything goes
    assert merge.resume_offset(0) == 0
    merge.push(1, 2, 960, "B", "B@960", "late", now_ms=700.0)  # older than what was released
    assert [h.item for h in merge.pop_ready(1300.0)] == ["late"] and merge.late == 1


def test_revoking_a_partition_drops_what_it_held() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=500)
    merge.assign([0, 1], now_ms=0.0)
    merge.push(0, 5, 1_000, "A", "A@1000", "a", now_ms=1.0)
    merge.revoke([0])
    assert merge.held == 0 and merge.resume_offset(0) is None
    merge.seen(1, 3, now_ms=2.0)  # a dead letter: alive, and a checkpoint may stand past it
    assert merge.resume_offset(1) == 3


def test_partitions_wait_for_the_market_to_start_before_counting_idle() -> None:
    """Assigned long before the first record: the silent ones still hold the first records back."""
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=500)
    merge.assign([0, 1], now_ms=0.0)
    merge.push(0, 0, 1_000, "A", "A@1000", "a", now_ms=60_000.0)
    merge.seen(0, 1, now_ms=60_001.0, ts_ms=1_100)  # a progress record
    assert merge.pop_ready(60_100.0) == []  # partition 1 has had no chance to speak yet
    merge.seen(1, 0, now_ms=60_200.0, ts_ms=1_050)
    assert [h.item for h in merge.pop_ready(60_200.0)] == ["a"]


def test_a_partition_with_progress_records_is_waited_for_longer() -> None:
    """Silence from a source that sends progress means a stall or a catch-up, not a quiet pair."""
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=500, progress_idle_ms=10_000)
    merge.assign([0, 1], now_ms=0.0)
    merge.seen(1, 0, now_ms=1.0, ts_ms=900, steady=True)
    merge.push(0, 0, 1_000, "A", "A@1000", "a", now_ms=2.0)
    merge.seen(0, 1, now_ms=3.0, ts_ms=1_200, steady=True)
    assert merge.pop_ready(5_000.0) == []  # partition 1 stalled at 900 for 5 s: still waited for
    assert [h.item for h in merge.pop_ready(10_500.0)] == ["a"]  # 10 s: given up on


def test_progress_the_features_agent_made_up_from_swaps_does_not_make_a_partition_wait_longer() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=500, progress_idle_ms=10_000)
    merge.assign([0, 1], now_ms=0.0)
    merge.seen(1, 0, now_ms=1.0, ts_ms=900)  # not steady: a quiet pair's partition
    merge.push(0, 0, 1_000, "A", "A@1000", "a", now_ms=2.0)
    merge.seen(0, 1, now_ms=3.0, ts_ms=1_200)
    assert merge.pop_ready(400.0) == []
    assert [h.item for h in merge.pop_ready(600.0)] == ["a"]


def test_what_a_partition_has_passed_is_what_its_readers_may_be_promised() -> None:
    """The model agent forwards `passed` to risk as each features partition's progress: nothing of the
    partition still to come out of the merge is older, save what the merge itself counts late."""
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=100)
    merge.assign([0, 1], 0.0)
    assert merge.passed(0, 0.0) is None  # nothing heard: nothing to promise
    merge.push(0, 0, 1_000, "A", "a1", "a1", 0.0)
    merge.push(1, 0, 1_500, "B", "b1", "b1", 0.0)
    assert merge.pop_ready(0.0) == []
    assert merge.passed(0, 0.0) == 1_000 and merge.passed(1, 0.0) == 1_000  # B's record is still held
    merge.seen(0, 1, 50.0, 2_000)
    assert [h.item for h in merge.pop_ready(50.0)] == ["a1"]
    assert merge.passed(1, 50.0) == 1_500  # b1 waits at 1,500 for partition 0 to pass it
    # partition 1 goes quiet: it no longer holds partition 0 back, and is promised as far as the merge went
    merge.seen(0, 2, 300.0, 3_000)
    assert [h.item for h in merge.pop_ready(300.0)] == ["b1"]
    assert merge.passed(1, 300.0) == 3_000 and merge.passed(0, 300.0) == 3_000


def _stall_of_every_partition(stall_ms: float | None) -> tuple[list[str], int]:
    """Two progress-sending partitions; both fall silent for 80 s (every worker down), then partition 0
    comes back first, partition 1 fifteen seconds later with older records."""
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=60_000, stall_ms=stall_ms)
    merge.assign([0, 1], now_ms=0.0)
    merge.seen(1, 0, now_ms=1.0, ts_ms=900, steady=True)
    merge.push(0, 0, 1_000, "A", "A@1000", "a", now_ms=2.0)
    merge.seen(0, 1, now_ms=3.0, ts_ms=1_000, steady=True)
    out = [h.item for h in merge.pop_ready(80_000.0)]
    merge.push(0, 2, 1_100, "A", "A@1100", "a2", now_ms=85_000.0)  # the first worker back
    merge.seen(0, 3, now_ms=85_001.0, ts_ms=1_200, steady=True)
    out += [h.item for h in merge.pop_ready(86_000.0)]
    merge.push(1, 1, 950, "B", "B@950", "b", now_ms=100_000.0)  # the second: older than partition 0's
    merge.seen(1, 2, now_ms=100_001.0, ts_ms=1_300, steady=True)
    out += [h.item for h in merge.pop_ready(100_001.0)]
    return out, merge.late


def test_a_stall_of_every_partition_is_nobodys_idleness() -> None:
    """`make chaos` on a busy box: every features partition's signals stopped for three minutes. Counted on
    the wall clock, each partition went idle, and the first one back was decided before the others' older
    signals; with the stall clock the merge waits and releases the merge order."""
    assert _stall_of_every_partition(stall_ms=1_000) == (["b", "a", "a2"], 0)
    released, late = _stall_of_every_partition(stall_ms=None)
    assert released[:2] == ["a", "a2"] and late == 1  # what the wall clock did


def test_a_partition_silent_while_the_others_deliver_still_goes_idle_with_the_stall_clock() -> None:
    """The stall clock stops only while every partition is silent: a dead source is still given up on."""
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=5_000, stall_ms=1_000)
    merge.assign([0, 1], now_ms=0.0)
    merge.seen(1, 0, now_ms=1.0, ts_ms=900, steady=True)
    merge.push(0, 0, 1_000, "A", "A@1000", "a", now_ms=2.0)
    merge.seen(0, 1, now_ms=3.0, ts_ms=1_000, steady=True)
    assert merge.pop_ready(60_000.0) == []  # both silent a minute: a stall, counted 1 s
    for i, now in enumerate(range(61_000, 65_000, 500)):  # partition 0 speaks again, twice a second
        merge.seen(0, 2 + i, now_ms=float(now), ts_ms=1_100 + i, steady=True)
    assert merge.pop_ready(64_500.0) == []  # partition 1: 1 s of the stall + 3.5 s since, under 5 s
    merge.seen(0, 20, now_ms=65_000.0, ts_ms=1_200, steady=True)
    assert [h.item for h in merge.pop_ready(65_100.0)] == ["a"]  # 5.1 s: given up on


def test_a_stall_is_waited_out_for_a_minute_at_most() -> None:
    """A source that ended without a last progress record (a cancelled run) must not hold its last records
    for good: past `MAX_FREEZE_MS` of silence of every partition the idle clocks run again."""
    merge: EventTimeMerge[str] = EventTimeMerge(idle_ms=5_000, stall_ms=1_000)
    merge.assign([0, 1], now_ms=0.0)
    merge.seen(1, 0, now_ms=1.0, ts_ms=900, steady=True)
    merge.push(0, 0, 1_000, "A", "A@1000", "a", now_ms=2.0)
    merge.seen(0, 1, now_ms=3.0, ts_ms=1_000, steady=True)
    assert merge.pop_ready(3.0 + MAX_FREEZE_MS + 4_900.0) == []  # 4.9 s of the silence counted: waited for
    assert [h.item for h in merge.pop_ready(3.0 + MAX_FREEZE_MS + 5_100.0)] == ["a"]
