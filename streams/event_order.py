"""Event-time order across partitions: what makes the model agent's output a function of its input alone.

Each features partition is in event-time order (its pairs come from one raw partition, in the order the
market wrote them), but a worker fetches the partitions in whatever interleaving the broker's answers
give. The model agent's cross-pair state (the bandit's cycles, the order of signals on the single
`signals` partition, which the risk agent decides in order) would follow that interleaving, so two runs
of the same input, or one run with a crash in it, would differ. `EventTimeMerge` holds each snapshot until
every assigned partition has passed its event time (the watermark), then releases them sorted by
(event time, pair, id): the merge of the partition logs, the same whatever the interleaving. Snapshots
are sparse (one per pair per interval), so the features agent also sends progress records
(`Progress`) that move a partition's mark between them, and the hold stays a few milliseconds.

A partition that has sent nothing for a while (wall time) stops holding the others back: `idle_ms` for a
partition whose source sends no progress records (a quiet pair must not stall every signal), the much
longer `progress_idle_ms` for one that does (its silence means a stalled writer or a worker catching up
after a restart, not a quiet market: waiting keeps the order exact) and for one not heard from yet since
its assignment. A snapshot older than what was already released (only possible after such an idle spell,
or from an out-of-order source) is released at once and counted as late.

With `stall_ms`, the patient partitions' silence is counted on a clock that stops while no partition at all
delivers for longer than `stall_ms`: a stall of every source (every worker killed, or starved of CPU) is
nobody's idleness. Without it, a three-minute stall of all four features partitions counted each one idle,
released what was held, and the first partition back was decided before the others' older records came
(`make chaos` on a busy box). The clock stops for at most `MAX_FREEZE_MS` per stall: a source that ended
without saying so (a progress record past its last event, as `market.feed` and the live collectors send)
must not hold its last records for good.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

NO_TIME = -(2**62)  # the mark of a partition that has delivered nothing yet
MAX_FREEZE_MS = 60_000.0  # the longest stall of every partition the idle clocks wait out


@dataclass(order=True, slots=True)
class Held(Generic[T]):
    """One held record; ordered by its merge key only."""

    ts_ms: int
    pair: str
    record_id: str
    partition: int
    offset: int
    item: T = field(compare=False)


class EventTimeMerge(Generic[T]):
    """Merges several event-time-ordered partitions into one event-time order (see the module docstring)."""

    def __init__(
        self, idle_ms: float, progress_idle_ms: float | None = None, stall_ms: float | None = None
    ) -> None:
        self.idle_ms = idle_ms
        self.progress_idle_ms = progress_idle_ms if progress_idle_ms is not None else idle_ms
        self.stall_ms = stall_ms  # None: the patient partitions' silence is counted in wall time
        self._stalled_ms = 0.0  # wall time past `stall_ms` of the silences of every partition so far
        self._last_any: float | None = None  # wall ms of the newest record of any partition
        self._last_clock: dict[int, float] = {}  # partition -> `_clock` at its last record (or assignment)
        self._patient: set[int] = set()  # partitions that wait `progress_idle_ms` before counting idle
        self._heap: list[Held[T]] = []
        self._marks: dict[int, int] = {}  # partition -> newest event time it delivered
        self._last_seen: dict[int, float] = {}  # partition -> wall ms of its last record (or its assignment)
        self._last_offset: dict[int, int] = {}  # partition -> newest offset pushed
        self._unheard: set[int] = set()  # assigned partitions whose idle clock waits for a first record
        self._progressing: set[int] = set()  # partitions whose source sends progress records (`steady`)
        self.released_ts_ms = NO_TIME  # the newest event time released
        self.late = 0

    def assign(self, partitions: list[int], now_ms: float) -> None:
        """Partitions this worker now reads: they hold the merge back until they deliver or go idle. Their
        idle clock starts with the next record from any partition (a worker waiting for a market that has
        not started yet must not count every partition idle the moment it starts)."""
        for p in partitions:
            self._marks.setdefault(p, NO_TIME)
            self._last_seen[p] = now_ms
            self._last_clock[p] = self._clock(now_ms)
            self._unheard.add(p)
            self._patient.add(p)

    def _frozen(self, now_ms: float) -> float:
        """How much of the current silence of every partition the idle clocks do not count."""
        if self.stall_ms is None or self._last_any is None:
            return 0.0
        return min(max(0.0, now_ms - self._last_any - self.stall_ms), MAX_FREEZE_MS)

    def _clock(self, now_ms: float) -> float:
        """Wall time less the stalls of every partition beyond `stall_ms` (see the module docstring)."""
        return now_ms - self._stalled_ms - self._frozen(now_ms)

    def _heard(self, partition: int, now_ms: float) -> None:
        self._stalled_ms += self._frozen(now_ms)
        self._last_any = now_ms if self._last_any is None else max(self._last_any, now_ms)
        clock = self._clock(now_ms)
        if self._unheard:
            for p in self._unheard:
                self._last_seen[p] = now_ms
                self._last_clock[p] = clock
            self._unheard.clear()
        self._last_seen[partition] = now_ms
        self._last_clock[partition] = clock
        if partition not in self._progressing:  # heard from, and no progress records (yet): a quiet pair
            self._patient.discard(partition)
        else:
            self._patient.add(partition)

    def revoke(self, partitions: list[int]) -> None:
        """Partitions taken away: forget their marks and drop what they had pending (their next owner
        reads those records again from its checkpoint)."""
        gone = set(partitions)
        for p in gone:
            self._marks.pop(p, None)
            self._last_seen.pop(p, None)
            self._last_clock.pop(p, None)
            self._last_offset.pop(p, None)
            self._progressing.discard(p)
            self._unheard.discard(p)
            self._patient.discard(p)
        if any(h.partition in gone for h in self._heap):
            self._heap = [h for h in self._heap if h.partition not in gone]
            heapq.heapify(self._heap)

    def seen(
        self, partition: int, offset: int, now_ms: float, ts_ms: int | None = None, *, steady: bool = False
    ) -> None:
        """A record of `partition` that carries no item (a progress record with its event time, or a dead
        letter): the partition is alive, and a checkpoint may stand past it."""
        if ts_ms is not None:
            if steady:
                self._progressing.add(partition)
            if ts_ms > self._marks.get(partition, NO_TIME):
                self._marks[partition] = ts_ms
        self._heard(partition, now_ms)
        self._last_offset[partition] = offset

    def push(
        self, partition: int, offset: int, ts_ms: int, pair: str, record_id: str, item: T, now_ms: float
    ) -> None:
        self._heard(partition, now_ms)
        self._last_offset[partition] = offset
        if ts_ms > self._marks.get(partition, NO_TIME):
            self._marks[partition] = ts_ms
        heapq.heappush(self._heap, Held(ts_ms, pair, record_id, partition, offset, item))

    def watermark(self, now_ms: float) -> int:
        """The least newest event time of the active partitions: every record below it has arrived (no active
        partition: everything)."""
        clock = self._clock(now_ms)
        active = [
            m
            for p, m in self._marks.items()
            if (
                clock - self._last_clock.get(p, clock) < self.progress_idle_ms
                if p in self._patient
                else now_ms - self._last_seen.get(p, now_ms) < self.idle_ms
            )
        ]
        return min(active) if active else 2**62

    def pop_ready(self, now_ms: float) -> list[Held[T]]:
        """The held records below the watermark, in merge order. Strictly below: a partition may still send
        another record at its newest event time (two pairs' swaps in one millisecond). A partition's records
        therefore leave as a prefix of its log."""
        mark = self.watermark(now_ms)
        out: list[Held[T]] = []
        heap = self._heap
        while heap and heap[0].ts_ms < mark:
            held = heapq.heappop(heap)
            if held.ts_ms < self.released_ts_ms:
                self.late += 1
            else:
                self.released_ts_ms = held.ts_ms
            out.append(held)
        return out

    def ready(self, now_ms: float) -> bool:
        """Whether `pop_ready` would release something now (no side effects)."""
        return bool(self._heap) and self._heap[0].ts_ms < self.watermark(now_ms)

    def passed(self, partition: int, now_ms: float) -> int | None:
        """How far `partition` has been released (call after `pop_ready` with the same `now_ms`): every
        record of it still to come out of this merge has its event time at or above this, save those it
        counts late (an idle partition's, which it no longer waits for either). What a writer of the merged
        records may promise its own readers as its progress; None: nothing to promise yet."""
        if partition not in self._marks:
            return None
        mark = self.watermark(now_ms)
        if mark >= 2**62:  # every partition idle: each has released everything it sent
            mark = self._marks[partition]
        return None if mark == NO_TIME else mark

    def held_offsets(self) -> list[int]:
        return [h.offset for h in self._heap]

    @property
    def held(self) -> int:
        return len(self._heap)

    def resume_offset(self, partition: int) -> int | None:
        """The last offset of `partition` whose record, and every one before it, has been released: where a
        checkpoint taken now stands (None: nothing pushed from it yet)."""
        pending = [h.offset for h in self._heap if h.partition == partition]
        if pending:
            return min(pending) - 1
        return self._last_offset.get(partition)
