"""The risk agent's event-time merge of the signals of every features partition.

Each worker's model agent merges the features partitions it reads (`streams.event_order`), but with
several workers their signals reach the single `signals` partition interleaved as their speed allows: a
busy or restarted worker's land late, and risk, whose decisions share one wallet and its limits, would
decide in another order than a calm run (`make chaos` printed `deterministic: false` on a busy machine).
So each signal names its features partition, each model agent puts a progress record per partition on
`signals` after that partition's signals (`agents.model.ModelRunner.forward_progress`), and risk holds
the signals until every partition has passed their event time, then decides them in (event time, pair)
order, a snapshot's signals in the order they were sent: the merge of the partition logs, the same
whichever worker sent what when.

Held signals are not applied, so the state records how far `signals` is applied as the offset before the
oldest one held (`applied_through`); after a crash the signals past it are read again, and those decided
already are known by their ids and marks (`risk.decide.already_decided`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from core.errors import DecodeError
from streams.codec import decode
from streams.event_order import EventTimeMerge
from streams.records import PROGRESS_KEY, Progress, Signal
from streams.topics import SIGNALS

log = logging.getLogger(__name__)

# A second in which no features partition's signals or progress reach risk is a stall of them all (every
# model worker killed, starting, or starved of CPU), not a partition's idleness: the idle clocks stop
# (`streams.event_order`), so the first partition back is not decided before the others' older signals.
STALL_MS = 1_000


class SignalMerge:
    """Holds `signals` events until every one of `sources` features partitions has passed their event
    time; a partition silent for `idle_ms` of wall time stops holding the others back (0: no merge)."""

    def __init__(self, sources: int, idle_ms: float) -> None:
        self.sources = sources
        self.idle_ms = idle_ms
        self.merge: EventTimeMerge[Any] = self._new_merge()
        self.started = False
        self.last_offset = -1  # the newest `signals` offset taken in (held, released or progress)
        self._decoded: dict[tuple[int, int], Signal] = {}  # placed signals, decoded once: `decoded`

    def _new_merge(self) -> EventTimeMerge[Any]:
        return EventTimeMerge(self.idle_ms, self.idle_ms, stall_ms=min(self.idle_ms, STALL_MS))

    def admit(self, events: list[Any], applied: int | None, now_ms: float) -> list[Any]:
        """The batch's other inputs as they came, then the signals the merge releases now (in merge order),
        then those it cannot place (no features partition named, not decodable: in log order, to be
        decided or dead-lettered as before). Signals at or before `applied` were applied already."""
        if not self.started:
            self.merge.assign(list(range(self.sources)), now_ms)
            self.started = True
        rest: list[Any] = []
        unplaced: list[Any] = []
        for event in events:
            msg = event.message
            if msg.topic != SIGNALS.name:
                rest.append(event)
                continue
            if applied is not None and msg.offset <= applied:
                continue  # read again after a resume: applied before the crash
            self.last_offset = max(self.last_offset, msg.offset)
            if msg.key == PROGRESS_KEY:
                self._progress(event, now_ms, unplaced)
                continue
            try:
                signal = decode(Signal, msg.value)
            except DecodeError:
                unplaced.append(event)
                continue
            source = signal.source_partition
            if self.idle_ms <= 0 or not 0 <= source < self.sources:
                unplaced.append(event)
                continue
            # No id in the key: a snapshot's signals (one pair, one partition) keep the order the model sent
            # them in, their offsets' order, as the backtest applies them.
            self.merge.push(source, msg.offset, signal.ts_ms, signal.pair, "", event, now_ms)
            self._decoded[(msg.partition, msg.offset)] = signal
        ready = [held.item for held in self.merge.pop_ready(now_ms)]
        return rest + ready + unplaced

    def _progress(self, event: Any, now_ms: float, unplaced: list[Any]) -> None:
        msg = event.message
        try:
            progress = decode(Progress, msg.value)
        except DecodeError:
            unplaced.append(event)  # decoded as a signal by risk, it goes to the dead letters with a reason
            return
        if 0 <= progress.source_partition < self.sources:
            self.merge.seen(progress.source_partition, msg.offset, now_ms, progress.ts_ms, steady=True)

    def decoded(self, event: Any) -> Signal | None:
        """The signal the merge decoded to place `event` (once: risk applies it then), else None."""
        msg = event.message
        return self._decoded.pop((msg.partition, msg.offset), None)

    def ready(self, now_ms: float) -> bool:
        """Whether a held signal would be released now (the risk agent's timer asks)."""
        return self.merge.ready(now_ms)

    def applied_through(self, also_held: Iterable[int]) -> int | None:
        """The `signals` offset through which everything is applied: before the oldest signal still held
        (here, or in `also_held`, the fill barrier's), else the newest taken in; None: nothing taken."""
        pending = [*self.merge.held_offsets(), *also_held]
        if pending:
            return min(pending) - 1
        return self.last_offset if self.last_offset >= 0 else None

    def forget(self) -> None:
        """The risk inputs went to another worker, or back to the state's offsets: read again from there."""
        self.merge = self._new_merge()
        self.started = False
        self.last_offset = -1
        self._decoded.clear()
