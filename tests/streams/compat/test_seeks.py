"""The seek guard and the resume hooks, on a consumer that behaves as Faust's does around a seek.

`FakeConsumer` keeps what matters of Faust 0.15 and aiokafka: a fetch position per partition that a fetch
advances and a seek resets; Faust's `getmany`, which yields every record of the batch `_getmany` returned,
seek or no seek; Faust's read offset, which its fetch loop (`drain`, a copy of `_drain_messages`' rule)
compares with each record, and which a seek resets; `perform_seek`, the seek to the committed offsets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faust.types import TP

from streams.compat.seeks import ResumeAfter, ResumeAt, ResumeHooks, ResumePoint, SeekGuard

SIGNALS = TP("signals", 0)
SWAPS = TP("raw.swaps", 0)
POOLS = TP("raw.pools", 0)


@dataclass
class Msg:
    topic: str
    partition: int
    offset: int

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


class FakeConsumer:
    def __init__(self, ends: Mapping[TP, int], committed: Mapping[TP, int], batch: int = 5) -> None:
        self.ends = dict(ends)  # offsets 0..end-1 exist
        self.committed = dict(committed)
        self.position: dict[TP, int] = {}
        self._read_offset: defaultdict[TP, int | None] = defaultdict(lambda: None)
        self.assigned: set[TP] = set()
        self.batch = batch
        self.during_fetch: Callable[[], Awaitable[None]] | None = None  # runs after the records are taken

    async def seek(self, tp: TP, offset: int) -> None:
        if offset < 0:
            raise ValueError("Offset must be a positive integer")  # aiokafka's
        self.position[tp] = offset
        self._read_offset[tp] = offset if offset else None

    async def _getmany(self, active: Any, timeout: float) -> dict[TP, list[Msg]]:  # noqa: ASYNC109 - Faust's signature
        out: dict[TP, list[Msg]] = {}
        for tp in sorted(self.assigned):
            at = self.position.get(tp, 0)
            upto = min(at + self.batch, self.ends[tp])
            if upto > at:
                out[tp] = [Msg(tp.topic, tp.partition, o) for o in range(at, upto)]
                self.position[tp] = upto
        hook, self.during_fetch = self.during_fetch, None
        if hook is not None:
            await hook()
        return out

    async def getmany(self, timeout: float) -> Any:  # noqa: ASYNC109 - Faust's signature
        records = await self._getmany(None, timeout)
        for tp, msgs in records.items():
            for msg in msgs:
                yield tp, msg

    async def perform_seek(self) -> None:
        for tp in self.assigned:
            offset = self.committed.get(tp)
            if offset:
                self.position[tp] = offset
            self._read_offset[tp] = offset if offset else None

    def assignment(self) -> set[TP]:
        return set(self.assigned)

    def _is_changelog_tp(self, tp: TP) -> bool:
        return False

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        self.assigned = set(assigned)
        for tp in assigned:  # aiokafka starts a new assignment at the committed offset
            self.position.setdefault(tp, self.committed.get(tp, 0))

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self.assigned -= revoked


async def drain(
    consumer: Any, rounds: int, on_record: Callable[[Msg], Awaitable[None]] | None = None
) -> list[tuple[str, int]]:
    """Faust's fetch loop: hand over each record at or past the read offset, then move the offset to it."""
    delivered: list[tuple[str, int]] = []
    for _ in range(rounds):
        async for tp, msg in consumer.getmany(timeout=1.0):
            read = consumer._read_offset[tp]
            if read is None or msg.offset >= read:
                delivered.append((msg.topic, msg.offset))
                if on_record is not None:
                    await on_record(msg)
                consumer._read_offset[tp] = msg.offset
    return delivered


def guarded(consumer: FakeConsumer, hooks: ResumeHooks | None = None) -> SeekGuard:
    guard = SeekGuard(hooks or ResumeHooks())
    guard.attach(consumer)
    return guard


def hook_returning(points: dict[TP, ResumePoint]) -> Any:
    async def hook(assigned: Sequence[TP], committed: Mapping[TP, int | None]) -> dict[TP, ResumePoint]:
        return {tp: p for tp, p in points.items() if tp in assigned}

    return hook


async def test_a_resumed_partition_starts_at_the_last_applied_record_not_at_the_committed_one() -> None:
    """The group committed 12, the risk state applied up to 4: the agent sees 4, 5, 6 ... in order."""
    consumer = FakeConsumer({SIGNALS: 20}, {SIGNALS: 12})
    hooks = ResumeHooks()
    hooks.register("risk", ["signals"], hook_returning({SIGNALS: ResumeAfter(4)}))
    guarded(consumer, hooks)
    await consumer.on_partitions_assigned({SIGNALS})
    assert await drain(consumer, 2) == []  # held: fetched from the committed offset, never handed over
    await consumer.perform_seek()
    delivered = await drain(consumer, 4)
    assert [o for _, o in delivered] == list(range(4, 20))


async def test_records_of_a_batch_fetched_before_a_seek_are_not_handed_over_after_it() -> None:
    """A seek while the fetch loop is inside a batch: the rest of that batch is stale, and the read offset
    the record in flight set past the target does not drop what the seek brings back."""
    consumer = FakeConsumer({SIGNALS: 30}, {})
    guarded(consumer)
    await consumer.on_partitions_assigned({SIGNALS})
    sought = False

    async def seek_back_at_7(msg: Msg) -> None:
        nonlocal sought
        if msg.offset == 7 and not sought:
            sought = True
            await consumer.seek(SIGNALS, 2)

    delivered = await drain(consumer, 5, seek_back_at_7)
    offsets = [o for _, o in delivered]
    assert offsets[: offsets.index(7) + 1] == list(range(0, 8))
    assert offsets[offsets.index(7) + 1 :] == list(range(2, 2 + len(offsets) - 8))  # 8, 9 never came


async def test_without_the_guard_the_same_seek_loses_records() -> None:
    """What the guard is for (the crash test's 'restarted worker decided nothing')."""
    consumer = FakeConsumer({SIGNALS: 30}, {})
    await consumer.on_partitions_assigned({SIGNALS})
    sought = False

    async def seek_back_at_7(msg: Msg) -> None:
        nonlocal sought
        if msg.offset == 7 and not sought:
            sought = True
            await consumer.seek(SIGNALS, 2)

    offsets = [o for _, o in await drain(consumer, 5, seek_back_at_7)]
    assert 2 not in offsets[8:]  # 8 and 9 moved the read offset past 2: the seek's records are dropped


async def test_a_seek_racing_a_fetch_drops_its_records_and_seeks_again() -> None:
    consumer = FakeConsumer({SIGNALS: 30}, {})
    guard = guarded(consumer)
    await consumer.on_partitions_assigned({SIGNALS})
    assert [o for _, o in await drain(consumer, 1)] == [0, 1, 2, 3, 4]

    async def seek_during_fetch() -> None:
        await consumer.seek(SIGNALS, 1)

    consumer.during_fetch = seek_during_fetch  # the fetch took 5..9, then the seek to 1 landed
    assert await drain(consumer, 1) == []
    assert guard.reseeks == 1 and consumer.position[SIGNALS] == 1
    assert [o for _, o in await drain(consumer, 2)] == list(range(1, 11))


async def resumed_after_4() -> FakeConsumer:
    """Signals 0..19, assigned and sought to resume after 4 (the risk hook's point)."""
    consumer = FakeConsumer({SIGNALS: 20}, {})
    hooks = ResumeHooks()
    hooks.register("risk", ["signals"], hook_returning({SIGNALS: ResumeAfter(4)}))
    guarded(consumer, hooks)
    await consumer.on_partitions_assigned({SIGNALS})
    await consumer.perform_seek()
    return consumer


async def test_a_resume_after_an_offset_the_log_no_longer_holds_starts_where_the_log_does(
    caplog: Any,
) -> None:
    consumer = await resumed_after_4()
    consumer.position[SIGNALS] = 9  # the broker reset an out-of-range fetch to the log's start
    assert [o for _, o in await drain(consumer, 1)] == [9, 10, 11, 12, 13]
    assert "not after 4: the records between were aborted or are gone (retention)" in caplog.text


async def test_a_resume_after_nothing_starts_at_the_beginning_instead_of_crashing_the_worker() -> None:
    """`make chaos`: a model checkpoint taken while its partition's first snapshot was still held named
    offset -1; every worker given the partition crashed in its recovery seeking there."""
    consumer = FakeConsumer({SIGNALS: 8}, {})
    hooks = ResumeHooks()
    hooks.register("model", ["signals"], hook_returning({SIGNALS: ResumeAfter(-1)}))
    guarded(consumer, hooks)
    await consumer.on_partitions_assigned({SIGNALS})
    await consumer.perform_seek()
    assert [o for _, o in await drain(consumer, 3)] == list(range(8))


async def test_partitions_without_a_point_resume_at_the_committed_offset_and_others_are_untouched() -> None:
    consumer = FakeConsumer({SIGNALS: 20, SWAPS: 20}, {SIGNALS: 6, SWAPS: 3})
    hooks = ResumeHooks()
    hooks.register("risk", ["signals"], hook_returning({}))
    guard = guarded(consumer, hooks)
    await consumer.on_partitions_assigned({SIGNALS, SWAPS})
    await consumer.perform_seek()
    delivered = await drain(consumer, 4)
    assert [o for t, o in delivered if t == "signals"] == list(range(6, 20))
    assert [o for t, o in delivered if t == "raw.swaps"] == list(range(3, 20))
    assert guard.dropped == 0


async def test_hooks_run_in_registration_order_on_their_own_topics() -> None:
    calls: list[tuple[str, list[TP], dict[TP, int | None]]] = []

    def recording(name: str, point: ResumePoint) -> Any:
        async def hook(assigned: Sequence[TP], committed: Mapping[TP, int | None]) -> dict[TP, ResumePoint]:
            calls.append((name, list(assigned), dict(committed)))
            return {tp: point for tp in assigned}

        return hook

    hooks = ResumeHooks()
    hooks.register("model", ["features"], recording("model", ResumeAt(0)))
    hooks.register("risk", ["signals", "fills"], recording("risk", ResumeAfter(3)))
    features = TP("features", 1)
    points = await hooks.resume_points([SIGNALS, features, SWAPS], {SIGNALS: 9, features: None})
    assert [c[0] for c in calls] == ["model", "risk"]
    assert calls[0][1:] == ([features], {features: None}) and calls[1][1:] == ([SIGNALS], {SIGNALS: 9})
    assert points == {features: ResumeAt(0), SIGNALS: ResumeAfter(3)}
    assert hooks.topics == {"features", "signals", "fills"}


async def test_a_revoked_partition_is_forgotten() -> None:
    consumer = FakeConsumer({SIGNALS: 10}, {})
    hooks = ResumeHooks()
    hooks.register("risk", ["signals"], hook_returning({}))
    guard = guarded(consumer, hooks)
    await consumer.on_partitions_assigned({SIGNALS})
    await consumer.on_partitions_revoked({SIGNALS})
    assert not guard.admit(SIGNALS, 0)  # not from the latest fetch
    guard.hold([SIGNALS])
    guard.forget([SIGNALS])
    assert SIGNALS not in guard._held


class PrefetchingConsumer(FakeConsumer):
    """The consumer thread completes a fetch right after Faust's seek to the committed offsets moved the
    position, before the guard has recorded that seek; the fetch loop yields that batch afterwards."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefetched: dict[TP, list[Msg]] | None = None

    async def perform_seek(self) -> None:
        await super().perform_seek()
        self.prefetched = await self._getmany(None, 1.0)  # the guarded fetch, as the thread runs it

    async def getmany(self, timeout: float) -> Any:  # noqa: ASYNC109 - Faust's signature
        if self.prefetched is not None:
            records, self.prefetched = self.prefetched, None
            for tp, msgs in records.items():
                for msg in msgs:
                    yield tp, msg
            return
        async for item in super().getmany(timeout):
            yield item


async def test_a_batch_fetched_between_faust_s_seek_and_the_guard_s_record_of_it_is_fetched_again() -> None:
    """`make chaos`: a restarted worker's features agent began one fetch (about 2,000 swaps, 10 s of the
    market) past the group's committed offset: the batch fetched from the committed offset was dropped as
    older than the seek, and the fetcher had moved past it. The order of its orders left the calm run's."""
    consumer = PrefetchingConsumer({SWAPS: 30}, {SWAPS: 5})
    guard = guarded(consumer)
    await consumer.on_partitions_assigned({SWAPS})
    consumer.position[SWAPS] = 12  # fetched ahead in the assignment before (records Faust never handed on)
    await consumer.perform_seek()
    assert consumer.prefetched is not None and [m.offset for m in consumer.prefetched[SWAPS]] == [
        5,
        6,
        7,
        8,
        9,
    ]
    delivered = [o for _, o in await drain(consumer, 7)]
    assert delivered == list(range(5, 30)) and guard.reseeks == 1


async def test_a_resume_after_a_transaction_marker_is_no_warning(caplog: Any) -> None:
    """Risk resumes after the offset before its oldest held signal, often a commit marker: the next record
    is the one after it, and nothing was lost (make chaos logged this as retention)."""
    consumer = await resumed_after_4()
    consumer.position[SIGNALS] = 5  # offset 4 is a marker: the fetch starts at the next record
    assert [o for _, o in await drain(consumer, 1)] == [5, 6, 7, 8, 9]
    assert "resumed" not in caplog.text


async def swaps_from_5(consumer: FakeConsumer, contiguous: tuple[str, ...] = ("raw.swaps",)) -> SeekGuard:
    guard = SeekGuard(ResumeHooks(), contiguous=contiguous)
    guard.attach(consumer)
    await consumer.on_partitions_assigned({SWAPS})
    await consumer.perform_seek()
    return guard


async def test_a_contiguous_partition_whose_fetcher_moved_past_records_is_sought_back() -> None:
    """`make chaos` (runs 16, 17): a features partition went on 30 s of swaps further than what its agent
    had been handed; Faust counted the gap as read and committed past it."""
    consumer = FakeConsumer({SWAPS: 40}, {SWAPS: 5})
    guard = await swaps_from_5(consumer)
    delivered = [o for _, o in await drain(consumer, 1)]
    consumer.position[SWAPS] = 20  # 10..19 fetched, never handed over
    delivered += [o for _, o in await drain(consumer, 8)]
    assert delivered == list(range(5, 40)) and guard.gap_reseeks == 1


class FetchingWhileSought(FakeConsumer):
    """Faust's fetch loop runs while the guard awaits a seek of another partition (at start-up, those with
    nothing committed): it takes swaps 5..28 and moves the read offset on."""

    async def seek(self, tp: TP, offset: int) -> None:
        await super().seek(tp, offset)
        if tp != SWAPS and self._read_offset[SWAPS] == 5:
            self.position[SWAPS], self._read_offset[SWAPS] = 29, 28

    def assignment(self) -> list[TP]:  # type: ignore[override]  # an order that seeks POOLS first
        return sorted(self.assigned, key=lambda tp: tp != POOLS)


async def test_a_partition_resumes_at_its_committed_offset_when_the_fetch_moved_on_during_the_seek() -> None:
    """make test-slow under a CPU hog: the guard took raw.swaps/3's resume point from the read offsets after
    seeking other partitions, 1,006 where the group had committed 1, and the worker's features agent was
    then never handed swaps 152..2925. The point is the committed offset Faust's seek read; the records
    taken meanwhile are read again (the features fold skips offsets it applied)."""
    consumer = FetchingWhileSought({SWAPS: 40, POOLS: 3}, {SWAPS: 5})
    guard = SeekGuard(ResumeHooks(), contiguous=("raw.swaps",))
    guard.attach(consumer)
    await consumer.on_partitions_assigned({SWAPS, POOLS})
    await consumer.perform_seek()
    delivered = [o for t, o in await drain(consumer, 12) if t == "raw.swaps"]
    assert delivered == list(range(5, 40)) and guard.gap_reseeks == 1


async def test_without_contiguity_the_same_jump_loses_the_records() -> None:
    consumer = FakeConsumer({SWAPS: 40}, {SWAPS: 5})
    guard = await swaps_from_5(consumer, contiguous=())
    delivered = [o for _, o in await drain(consumer, 1)]
    consumer.position[SWAPS] = 20
    delivered += [o for _, o in await drain(consumer, 8)]
    assert delivered == [*range(5, 10), *range(20, 40)] and guard.gap_reseeks == 0


class TruncatedConsumer(FakeConsumer):
    """A log whose records before `start` were deleted (retention): a fetch below it starts at it."""

    def __init__(self, *args: Any, start: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start = start

    async def _getmany(self, active: Any, timeout: float) -> dict[TP, list[Msg]]:  # noqa: ASYNC109 - Faust's signature
        for tp in self.assigned:
            self.position[tp] = max(self.position.get(tp, 0), self.start)
        return await super()._getmany(active, timeout)


async def test_records_gone_for_good_are_sought_back_once_then_passed_over(caplog: Any) -> None:
    consumer = TruncatedConsumer({SWAPS: 40}, {SWAPS: 5}, start=20)
    guard = await swaps_from_5(consumer)
    delivered = [o for _, o in await drain(consumer, 6)]
    assert delivered == list(range(20, 40)) and guard.gap_reseeks == 1
    assert "records 5..19 are gone (retention)" in caplog.text


class FaustLoopConsumer(FakeConsumer):
    """Faust's fetch loop in more detail: between taking a record and moving the read offset to it, it
    awaits (its gap check, a commit, the delivery), and a record past the read offset by more than one makes
    it count the offsets between as read (`_add_gap`, committed with the acked ones)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered: list[int] = []
        self.gaps: list[tuple[int, int]] = []

    async def callback(self, msg: Msg) -> None:
        self.delivered.append(msg.offset)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        self.gaps.append((offset_from, offset_to))

    async def drain(self, rounds: int, taken: Callable[[Msg], Awaitable[None]] | None = None) -> None:
        for _ in range(rounds):
            async for tp, msg in self.getmany(timeout=1.0):
                if taken is not None:
                    await taken(msg)  # the loop's awaits before the gap check: a seek may land here
                read = self._read_offset[tp]
                if read is None or msg.offset >= read:
                    if read and msg.offset - read > 1:
                        await self._add_gap(tp, read + 1, msg.offset)
                    await self.callback(msg)
                    self._read_offset[tp] = msg.offset


def seek_to_5_once_12_is_taken(consumer: FakeConsumer, tp: TP) -> Callable[[Msg], Awaitable[None]]:
    sought = False

    async def taken(msg: Msg) -> None:
        nonlocal sought
        if msg.offset == 12 and not sought:
            sought = True
            await consumer.seek(tp, 5)  # a rebalance's seek to the committed offset, from another task

    return taken


async def test_a_record_taken_before_a_seek_is_neither_handed_over_nor_a_gap() -> None:
    """The paused-worker test: the rebalance's seek to 179 landed while Faust's loop held 1267; it added
    180..1267 as read and the next owner began past 1,000 swaps nobody had applied."""
    consumer = FaustLoopConsumer({SWAPS: 30}, {})
    guard = guarded(consumer)
    await consumer.on_partitions_assigned({SWAPS})
    await consumer.drain(8, seek_to_5_once_12_is_taken(consumer, SWAPS))
    assert consumer.delivered == [*range(0, 12), *range(5, 30)]
    assert consumer.gaps == [] and guard.overtaken == 1


async def test_without_the_guard_the_held_record_jumps_the_queue_and_leaves_a_gap() -> None:
    consumer = FaustLoopConsumer({SWAPS: 30}, {})
    await consumer.on_partitions_assigned({SWAPS})
    await consumer.drain(8, seek_to_5_once_12_is_taken(consumer, SWAPS))
    assert consumer.delivered[:13] == [*range(0, 12), 12] and consumer.gaps == [(6, 12)]


async def test_a_partition_with_nothing_committed_starts_at_its_beginning_after_the_seek() -> None:
    """aiokafka seeks only to a committed offset above 0: a worker took raw.swaps/3 from 0 up to 60, its
    fetcher had moved on, and after the assignment's seek it went on at 3016."""
    consumer = FakeConsumer({SWAPS: 30}, {})
    guarded(consumer)
    await consumer.on_partitions_assigned({SWAPS})
    delivered = [o for _, o in await drain(consumer, 1)]
    consumer.position[SWAPS] = 20  # fetched on to 20; what Faust had not handed over was cleared
    await consumer.perform_seek()
    delivered += [o for _, o in await drain(consumer, 8)]
    assert delivered == [*range(0, 5), *range(0, 30)]
