"""Seeks that stick: resume hooks run once per assignment, and a guard that makes every seek exact.

Faust's fetch loop (`Consumer._drain_messages`) drops any record below its read offset, and a seek only
resets that offset. Its `getmany` keeps yielding the records of a batch fetched before a seek after the
seek happened; each moves the read offset past the seek's target, so the records the seek brings back
are then dropped as "already read" (the crash test saw a restarted worker decide nothing). aiokafka
itself discards what it fetched for an old position (`Fetcher.seek_to`, `FetchResult.check_assignment`);
Faust's layer above it does not. `SeekGuard` adds that to one consumer:

- every seek of a partition (Faust's `seek`, and its own `perform_seek`) starts a new *generation* of it,
  once the fetcher has moved; Faust's `seek` moves aiokafka's fetcher from the app's thread while the
  consumer thread may be inside `fetched_records` (a KeyError there stopped a worker's fetcher for good
  in `make chaos`), so the guard makes that move in the consumer thread;
- records of a `_getmany` call during which a partition was sought may be from either side of the seek:
  they are dropped and the partition is sought again to the same target (nothing is lost: the fetch
  restarts there);
- records of an older generation than their partition's current one are not yielded;
- the first record yielded after a seek resets Faust's read offset to its own offset, so a read offset
  that a record in flight moved past the target cannot drop what the seek brought back;
- a partition of a topic with a resume hook is *held* from its assignment until its hook has said where
  it resumes: nothing of it reaches an agent before, so no agent sees records from the group's committed
  position ahead of its own state (which records are then seen again in order);
- on a *contiguous* topic (written outside transactions, never compacted: the raw market topics) every
  offset holds a record, so a record past the next expected one means the fetcher moved past records no
  agent was handed. Faust would count the gap as read (`Consumer._add_gap`) and commit past it: `make
  chaos` (runs 16, 17) saw a features partition skip 30 s of swaps right as a worker's assignment
  settled, and the next owner's state then said they were applied. The guard seeks back to the expected
  offset once; if the gap is still there, the records are gone (retention) and it says so;
- a partition with nothing committed is sought to its start after Faust's seek to the committed offsets,
  which does not move it (aiokafka's `seek_to_committed` seeks only to an offset above 0);
- a record the fetch loop took before a seek and still holds after it (it awaits between taking a record
  and handing it over: its gap check, a commit, the delivery) is *overtaken*: Faust would compare it with
  the read offset the seek just reset, count every offset between the target and it as read
  (`_add_gap`, committed past records no agent applied) and hand it to the agent ahead of the records the
  seek brings back (an agent that skips offsets at or below its last applied one then skipped all of
  those). The guard neither adds that gap nor delivers that record; the seek fetches it again in order.
  The paused-worker test lost raw.swaps/2 offsets 210..1165 this way (a gap of 180..1267 added right as
  the rebalance's seek to 179 landed).

With the guard, a resume needs no slack: to continue after the last applied offset A, a hook returns
`ResumeAfter(A)`: the partition is sought to A itself (a data record, never a transaction marker) and the
first record the agent sees of it is A, which it skips as applied. A log that no longer holds A (retention)
resumes at its start: the guard logs it.

A *rewind* (`SeekGuard.rewind`) is the same seek in the middle of an assignment: an agent whose batch
failed at a side-effect boundary puts its partitions back where its stored state says (the hooks' points),
seeking back as well as forward. Records already handed to Faust before the seek are then *stale*: the
agent drops them (`stale`) until the first record fetched after the seek arrives (a topic's channel keeps
the fetch order, so every record before that one was fetched before the seek).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faust.types import TP

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResumeAfter:
    """Resume after `offset`, the last record applied: the partition is sought to it, the agent skips it."""

    offset: int


@dataclass(frozen=True, slots=True)
class ResumeAt:
    """Resume at `offset`: nothing from there on was applied."""

    offset: int


ResumePoint = ResumeAfter | ResumeAt
# Given the assigned partitions of its topics and Faust's read offsets after its seek to the group's
# committed offsets (None: no committed offset), where each resumes (one left out: at the committed offset).
# Called on every assignment, in registration order.
ResumeHook = Callable[[Sequence[TP], Mapping[TP, int | None]], Awaitable[Mapping[TP, ResumePoint]]]


class ResumeHooks:
    """The registry: agents say where their partitions resume; hooks run in registration order."""

    def __init__(self) -> None:
        self._hooks: list[tuple[str, frozenset[str], ResumeHook]] = []

    def register(self, name: str, topics: Iterable[str], hook: ResumeHook) -> None:
        self._hooks.append((name, frozenset(topics), hook))

    @property
    def topics(self) -> frozenset[str]:
        return frozenset().union(*(topics for _, topics, _ in self._hooks))

    async def resume_points(
        self, assigned: Iterable[TP], committed: Mapping[TP, int | None]
    ) -> dict[TP, ResumePoint]:
        """Every hook's points for its assigned partitions; a later hook overrides an earlier one."""
        assigned = list(assigned)
        points: dict[TP, ResumePoint] = {}
        for name, topics, hook in self._hooks:
            mine = [tp for tp in assigned if tp.topic in topics]
            if mine:
                got = await hook(mine, {tp: committed.get(tp) for tp in mine})
                log.debug("resume hook %s: %s", name, got)
                points.update(got)
        return points


class SeekGuard:
    """Per-partition seek generations and held partitions for one Faust consumer (see the module doc).

    `attach(consumer)` wraps the consumer instance's `seek`, `_getmany`, `getmany`, `perform_seek` and
    partition callbacks; nothing is patched on a class, so another app in the process is untouched.
    """

    def __init__(self, hooks: ResumeHooks, contiguous: Iterable[str] = ()) -> None:
        self.hooks = hooks
        self.contiguous = frozenset(contiguous)  # topics whose every offset holds a record
        self._next: dict[Any, int] = {}  # contiguous partitions: the offset the next record should have
        self._gap_sought: dict[Any, int] = {}  # the expected offset a partition was last sought back to
        self.gap_reseeks = 0  # partitions sought back because records were skipped
        self._generation: defaultdict[Any, int] = defaultdict(int)
        self._target: dict[Any, int | None] = {}  # the offset of the partition's latest seek (None: unmoved)
        self._stamp: dict[Any, int] = {}  # the generation each partition of the latest fetch was fetched in
        self._fresh: set[Any] = set()  # sought partitions whose next record is the first since the seek
        self._expect: dict[Any, ResumePoint] = {}  # sought by a hook: where its first record should be
        self._held: set[Any] = set()  # assigned partitions of hooked topics not sought by their hook yet
        self._seek_lock = asyncio.Lock()
        # Rewound partitions: the first record fetched after the rewind's seek (None: none yet), and where
        # the rewind put them (what a stale record's offset is compared with: applied, or not).
        self._first_after: dict[Any, Any] = {}
        self.rewound_to: dict[Any, ResumePoint] = {}
        self.dropped = 0  # records not handed to Faust's fetch loop (held, or fetched before a seek)
        self.reseeks = 0  # partitions sought again because a seek raced a fetch
        self._refetched: dict[Any, int] = {}  # the fetch stamp a partition was last sought again for
        # The record the fetch loop holds (it takes one at a time): partition, offset, generation then.
        self._in_flight: tuple[Any, int, int] | None = None
        self.overtaken = 0  # records the fetch loop held across a seek: not handed over, no gap added

    # -- the consumer's view ------------------------------------------------------------------------

    def attach(self, consumer: Any) -> None:
        seek, fetch, stream, perform_seek = (
            consumer.seek,
            consumer._getmany,
            consumer.getmany,
            consumer.perform_seek,
        )
        assigned, revoked = consumer.on_partitions_assigned, consumer.on_partitions_revoked

        async def guarded_seek(partition: TP, offset: int) -> None:
            await seek(partition, offset)
            self.sought(partition, offset)  # after the fetcher moved: a fetch from before it is older

        async def guarded_fetch(active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109 - Faust's
            before = dict(self._generation)
            records = await fetch(active_partitions, timeout)
            for tp, target in self.screen(records, before):
                await consumer.seek(tp, target)
            return records

        async def guarded_stream(timeout: float) -> AsyncIterator[tuple[TP, Any]]:  # noqa: ASYNC109 - Faust's
            read_offsets = consumer._read_offset
            async for tp, message in stream(timeout):
                if not self.admit(tp, message.offset):
                    target = self.refetch(tp)
                    if target is not None:
                        await consumer.seek(tp, target)
                    continue
                back = self.skipped(tp, message.offset)
                if back is not None:
                    await consumer.seek(tp, back)
                    continue
                if tp in self._fresh:
                    self._fresh.discard(tp)
                    read_offsets[tp] = message.offset  # a record in flight may have moved it past
                    self._arrived(tp, message.offset)
                    if tp in self._first_after:
                        self._first_after[tp] = message
                self._in_flight = (tp, message.offset, self._generation[tp])
                yield tp, message

        async def guarded_perform_seek() -> None:
            async with self._seek_lock:
                await self._perform_seek(consumer, perform_seek)

        async def on_assigned(partitions: set[TP], generation_id: int = 0) -> None:
            self.hold(partitions)
            await assigned(partitions, generation_id)

        async def on_revoked(partitions: set[TP]) -> None:
            self.forget(partitions)
            await revoked(partitions)

        thread = getattr(consumer, "_thread", None)
        if thread is not None:  # Faust's own `_seek` moves aiokafka's fetcher from this thread, mid-fetch

            async def seek_in_consumer_thread(partition: TP, offset: int) -> None:
                await thread.call_thread(thread.seek, partition, offset)

            consumer._seek = seek_in_consumer_thread
        self._guard_delivery(consumer)
        consumer.seek = guarded_seek
        consumer._getmany = guarded_fetch
        consumer.getmany = guarded_stream
        consumer.perform_seek = guarded_perform_seek
        consumer.on_partitions_assigned = on_assigned
        consumer.on_partitions_revoked = on_revoked

    def _guard_delivery(self, consumer: Any) -> None:
        """Faust's fetch loop hands an overtaken record neither to the agents nor to its gap count."""
        callback, add_gap = getattr(consumer, "callback", None), getattr(consumer, "_add_gap", None)

        async def guarded_callback(message: Any) -> Any:
            if self.is_overtaken(message.tp, message.offset):
                self.overtaken += 1
                return None
            assert callback is not None
            return await callback(message)

        async def guarded_add_gap(tp: TP, offset_from: int, offset_to: int) -> None:
            if self.is_overtaken(tp, offset_to):
                return  # the seek reset the read offset under a record taken before it: no gap there
            assert add_gap is not None
            await add_gap(tp, offset_from, offset_to)

        if callback is not None:  # read by each start of Faust's fetch loop
            consumer.callback = guarded_callback
        if add_gap is not None:
            consumer._add_gap = guarded_add_gap

    async def _perform_seek(self, consumer: Any, perform_seek: Callable[[], Awaitable[None]]) -> None:
        """Faust's seek to the committed offsets, then every hooked partition to where its hook says."""
        streams = [tp for tp in consumer.assignment() if not consumer._is_changelog_tp(tp)]
        for tp in streams:  # a fetch running across Faust's seek: it is checked again after it (below)
            self.sought(tp, None)
        await perform_seek()
        # Faust's seek leaves the committed offsets in its read offsets, which its fetch loop moves on as
        # soon as this awaits (seeking the partitions below): read them once, now.
        read = consumer._read_offset
        committed: dict[TP, int | None] = {tp: read.get(tp) for tp in streams}
        for tp in streams:
            offset = committed.get(tp)
            if not offset and tp.topic not in self.hooks.topics:
                # Nothing (or 0) committed: aiokafka's seek to the committed offsets leaves such a partition
                # where its fetcher was, past any record dropped since (a worker took raw.swaps/3 from 0,
                # then went on at 3016); the group's reset policy says the log's start.
                await consumer.seek(tp, 0)
            else:
                self.sought(tp, offset)
        hooked = [tp for tp in streams if tp.topic in self.hooks.topics]
        points = await self.hooks.resume_points(hooked, committed)
        for tp in hooked:
            point = points.get(tp) or ResumeAt(committed.get(tp) or 0)
            if isinstance(point, ResumeAfter) and point.offset < 0:
                point = ResumeAt(0)  # after nothing: a checkpoint taken before its first record was applied
            await consumer.seek(tp, point.offset)
            self._expect[tp] = point
            self._held.discard(tp)
            log.info(
                "partition resumes %s %d",
                "after" if isinstance(point, ResumeAfter) else "at",
                point.offset,
                extra={"topic": tp.topic, "partition": tp.partition, "offset": point.offset},
            )

    async def rewind(
        self, consumer: Any, tps: Iterable[TP], points: Mapping[TP, ResumePoint] | None = None
    ) -> dict[TP, ResumePoint]:
        """Seek each of `tps` still assigned back (or forward) to `points`, or else to where its hook says
        it resumes, as at an assignment; a partition no hook answers for goes back to the group's committed
        offset. Returns the points; the hooks' errors (a database down) propagate, with nothing sought."""
        async with self._seek_lock:
            assigned = set(consumer.assignment())
            tps = [tp for tp in tps if tp in assigned]
            committed: dict[TP, int | None] = {tp: consumer._committed_offset.get(tp) for tp in tps}
            if points is None:
                points = await self.hooks.resume_points(tps, committed)
            done: dict[TP, ResumePoint] = {}
            for tp in tps:
                point = points.get(tp) or ResumeAt(committed.get(tp) or 0)
                if isinstance(point, ResumeAfter) and point.offset < 0:
                    point = ResumeAt(0)  # after nothing (see `_perform_seek`)
                self._first_after[tp] = None
                self.rewound_to[tp] = point
                await consumer.seek(tp, point.offset)
                self._expect[tp] = point
                done[tp] = point
                log.warning(
                    "partition rewound: resumes %s %d",
                    "after" if isinstance(point, ResumeAfter) else "at",
                    point.offset,
                    extra={"topic": tp.topic, "partition": tp.partition, "offset": point.offset},
                )
            return done

    def stale(self, message: Any) -> bool:
        """Whether a record reaching an agent was fetched before its partition's latest rewind."""
        if not self._first_after:
            return False
        tp = TP(message.topic, message.partition)
        if tp not in self._first_after:
            return False
        first = self._first_after[tp]
        if first is None:
            return True
        if first is message:
            del self._first_after[tp]
            return False
        return True

    # -- the guard's rules, without a consumer (unit-tested) ------------------------------------------

    def hold(self, partitions: Iterable[TP]) -> None:
        """Newly assigned partitions of hooked topics: nothing of them goes on until they are sought."""
        topics = self.hooks.topics
        for tp in partitions:
            if tp.topic in topics:
                self._held.add(tp)
                self._generation[tp] += 1

    def forget(self, partitions: Iterable[TP]) -> None:
        for tp in partitions:
            self._held.discard(tp)
            self._fresh.discard(tp)
            self._expect.pop(tp, None)
            self._target.pop(tp, None)
            self._first_after.pop(tp, None)
            self.rewound_to.pop(tp, None)
            self._refetched.pop(tp, None)
            self._next.pop(tp, None)
            self._gap_sought.pop(tp, None)

    def sought(self, tp: TP, offset: int | None) -> None:
        """A seek of `tp` to `offset` (None: the seek left it where it was) starts a new generation."""
        self._generation[tp] += 1
        self._target[tp] = offset
        if offset is not None:
            self._fresh.add(tp)
            self._next[tp] = offset
        else:
            self._next.pop(tp, None)

    def screen(self, records: dict[Any, list[Any]], before: Mapping[Any, int]) -> list[tuple[Any, int]]:
        """Drop, in place, the records of a fetch that a seek may have overtaken; stamp the rest.

        Returns the partitions to seek again, with their targets: a fetch during which a partition was
        sought may hold records from before the seek, and the fetcher has moved past them.
        """
        again: list[tuple[Any, int]] = []
        generation = self._generation
        self._stamp = {}
        for tp in list(records):
            now = generation[tp]
            if tp in self._held:
                self.dropped += len(records.pop(tp))
            elif before.get(tp, 0) != now and self._target.get(tp) is not None:
                self.dropped += len(records.pop(tp))
                target = self._target[tp]
                assert target is not None
                again.append((tp, target))
                self.reseeks += 1
            else:
                self._stamp[tp] = now
        return again

    def is_overtaken(self, tp: TP, offset: int) -> bool:
        """Whether `offset` is the record of `tp` the fetch loop took before the partition's latest seek."""
        held = self._in_flight
        return held is not None and held[1] == offset and held[0] == tp and held[2] != self._generation[tp]

    def admit(self, tp: TP, offset: int) -> bool:
        """Whether a record of the latest fetch may go on to Faust's fetch loop (not sought since)."""
        if tp in self._held or self._stamp.get(tp, -1) != self._generation[tp]:
            self.dropped += 1
            return False
        return True

    def refetch(self, tp: TP) -> int | None:
        """Where to seek `tp` again after `admit` dropped a record of it as fetched before a seek, once per
        fetched batch (None: held, unmoved, or sought again already).

        The batch may be from after the seek all the same: Faust's seek to the committed offsets moves the
        fetcher before `_perform_seek` records it, and a fetch that completes in between is stamped with
        the generation before. The fetcher has moved past that batch, so dropping it without a seek loses
        it (a restarted worker skipped one fetch, about 2,000 swaps, in `make chaos`)."""
        stamp = self._stamp.get(tp, -1)
        target = self._target.get(tp)
        if tp in self._held or target is None or self._refetched.get(tp) == stamp:
            return None
        self._refetched[tp] = stamp
        self.reseeks += 1
        return target

    def skipped(self, tp: TP, offset: int) -> int | None:
        """Where to seek `tp` back to when `offset` comes after records of a contiguous topic that nobody
        was handed (None: nothing skipped, not contiguous, or the gap was sought back once already)."""
        if tp.topic not in self.contiguous:
            return None
        expected = self._next.get(tp)
        if expected is not None and offset > expected:
            extra = {"topic": tp.topic, "partition": tp.partition, "offset": expected}
            if self._gap_sought.get(tp) != expected:
                self._gap_sought[tp] = expected
                self.gap_reseeks += 1
                log.warning(
                    "partition skipped records %d..%d before they were handed over: sought back to %d",
                    expected,
                    offset - 1,
                    expected,
                    extra=extra,
                )
                return expected
            log.warning(
                "partition resumed at %d: records %d..%d are gone (retention)",
                offset,
                expected,
                offset - 1,
                extra=extra,
            )
        self._next[tp] = offset + 1
        return None

    def _arrived(self, tp: TP, offset: int) -> None:
        """The first record since a hook's seek: where the hook said, or the log's start if it moved on."""
        point = self._expect.pop(tp, None)
        if not isinstance(point, ResumeAfter) or offset == point.offset:
            return
        extra = {"topic": tp.topic, "partition": tp.partition, "offset": offset}
        if offset == point.offset + 1:
            # the last applied offset was a transaction marker (a consumer never sees one): nothing skipped
            log.debug(
                "partition resumed at %d: %d is a transaction marker", offset, point.offset, extra=extra
            )
            return
        log.warning(
            "partition resumed at %d, not after %d: the records between were aborted or are gone (retention)",
            offset,
            point.offset,
            extra=extra,
        )
