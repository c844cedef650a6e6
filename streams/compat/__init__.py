"""The one compatibility layer between the bot, Faust and the broker; installed by a worker at start-up.

Everything that reaches into Faust's private API, or works around a broker, is in this package:

- `seeks`: resume hooks (agents say where their partitions resume) and the seek guard that makes every
  seek exact (Faust's fetch loop otherwise hands over records fetched before a seek);
- `tansu`: the fetch-wait override and exact recovery end offsets, only when the broker is Tansu;
- `tables`: Faust tables as batch-view tables (`send_changelog`, key expiry, `data`), windows expired by
  event time (Faust's cleanup compares with the wall clock);
- `acks`: records taken but not applied are marked acknowledged without being committed;
- `commits`: Faust's map of committed offsets keeps only what the broker accepted;
- `delivery`: the fetch loop hands a record to the streams inline, without mode's four tasks per record,
  unless the handing-over has to wait;
- `consumer`: read offsets, assignment and high watermarks for the worker's views;
- `dead_letters`: dead-letter sends straight to the app's producer;
- `recovery`: under exactly-once, table recovery reads changelogs to their last committed record (Faust took
  -1 and recovered nothing), once an active changelog's open transaction has ended;
- `metadata`: topics the leader's metadata lacks (a changelog created a moment before) are refreshed
  until they appear, so the group rejoins and assigns them;
- `transactions`: under exactly-once, one transactional producer per input task (Faust's picks the
  destination's), commits of outputs without new inputs, fenced producers that do not crash the worker.

Plain Kafka clients that need no Faust (the bootstrap address, end offsets, the transactions probe,
topic creation) are in `streams.broker`. Nothing here acts at import: `install(app, ...)` wraps the one
consumer this app creates (its instance, never a class), so import order does not matter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from faust.types import TP

from streams.compat.acks import withhold
from streams.compat.commits import install_commit_truth
from streams.compat.delivery import install_lean_delivery
from streams.compat.metadata import install_metadata_refresh
from streams.compat.recovery import install_exact_recovery
from streams.compat.seeks import ResumeAfter, ResumeHooks, ResumePoint, SeekGuard
from streams.compat.tables import forget_partitions
from streams.compat.tansu import install_tansu_workarounds
from streams.compat.transactions import TaskTransactions, install_task_transactions
from streams.topics import CONTIGUOUS_TOPICS

log = logging.getLogger(__name__)

BrokerKind = Literal["kafka", "tansu"]


@dataclass
class Compat:
    """What `install` put on an app: its resume hooks, and the seek guard of its consumer once created."""

    broker_kind: BrokerKind
    app: Any = None
    hooks: ResumeHooks = field(default_factory=ResumeHooks)
    guard: SeekGuard | None = None
    transactions: TaskTransactions | None = None  # under exactly-once, once the consumer exists
    fenced_tps: set[TP] = field(default_factory=set)  # given up: tables forgotten at the next assignment

    async def outputs_settled(self, tps: Iterable[TP]) -> None:
        """Wait until what this worker sent for the input tasks of `tps` is durable for readers: committed
        under exactly-once (`TransactionLost` if it never will be), acknowledged under at-least-once."""
        if self.transactions is not None:
            await self.transactions.settled(tps)
        elif self.app is not None:
            await self.app.producer.flush()

    async def rewind(
        self, tps: Iterable[TP], points: Mapping[TP, ResumePoint] | None = None
    ) -> dict[TP, ResumePoint]:
        """Put `tps` back at `points`, or else where their resume hooks say (back as well as forward); {}
        before the consumer exists. A hook's error propagates (nothing sought): the caller retries."""
        if self.guard is None:
            return {}
        return await self.guard.rewind(self.app.consumer, tps, points)

    def stale(self, message: Any) -> bool:
        """A record fetched before its partition's latest rewind (drop it: it is read again)."""
        return self.guard is not None and self.guard.stale(message)

    def withhold_unapplied(self, messages: Iterable[Any], points: dict[TP, ResumePoint]) -> int:
        """Withhold the acks of the records at or past their partition's resume point (not applied); the
        others (applied before the failure) are acked as usual. A partition without a point: all of them."""
        if self.guard is None:
            return 0
        unapplied = [m for m in messages if not _applied(m, points.get(m.tp))]
        return withhold(self.app.consumer, unapplied)


def _applied(message: Any, point: ResumePoint | None) -> bool:
    if point is None:
        return False
    if isinstance(point, ResumeAfter):
        return bool(message.offset <= point.offset)
    return bool(message.offset < point.offset)


def install(app: Any, *, broker_kind: BrokerKind, bootstrap: str, fetch_max_wait_ms: int) -> Compat:
    """Make `app`'s consumer, when the app creates it, guard its seeks and run the resume hooks; on
    Tansu, also use our fetch wait and exact recovery end offsets. Call before the app starts."""
    compat = Compat(broker_kind, app)
    new_consumer = app._new_consumer

    def create_consumer() -> Any:
        consumer = new_consumer()
        # Tansu's offsets are its own (wrong end offsets): the gap check is for Kafka-API brokers proper.
        contiguous = () if broker_kind == "tansu" else (t.name for t in CONTIGUOUS_TOPICS)
        compat.guard = SeekGuard(compat.hooks, contiguous=contiguous)
        compat.guard.attach(consumer)
        install_lean_delivery(consumer)
        install_commit_truth(consumer)
        install_metadata_refresh(app.assignor, lambda: consumer._thread._consumer._client)
        if consumer.in_transaction:
            compat.transactions = install_task_transactions(consumer, partial(give_up, compat, consumer))
            forget_before_assignment(compat, consumer)
            install_exact_recovery(consumer)
        if broker_kind == "tansu":
            install_tansu_workarounds(
                consumer._thread, bootstrap=bootstrap, fetch_max_wait_ms=fetch_max_wait_ms
            )
        return consumer

    app._new_consumer = create_consumer
    log.info("compatibility layer installed for a %s broker", broker_kind)
    return compat


async def give_up(compat: Compat, consumer: Any, lost: set[TP]) -> None:
    """A fenced task's partitions: paused, forgotten by the agents and the seek guard, counted as newly
    assigned if the group gives them back (Faust then recovers their tables and the resume hooks run), and
    the consumer rejoins. Their tables are forgotten at the next assignment (`forget_before_assignment`)."""
    app = compat.app
    if lost:
        consumer.pause_partitions(lost)
        app._assignment = set(app._assignment or ()) - lost  # private: Faust's last assignment
        compat.fenced_tps |= lost
        if compat.guard is not None:
            compat.guard.forget(lost)
        await app.on_partitions_revoked.send(lost)
    thread = consumer._thread

    async def rejoin() -> None:
        thread._consumer._coordinator.request_rejoin()

    await thread.call_thread(rejoin)


def forget_before_assignment(compat: Compat, consumer: Any) -> None:
    """Before Faust handles the next assignment (and recovers its tables), drop the fenced partitions'
    table contents and recovery offsets: the tables are rebuilt from committed records only, so the resume
    hooks (the risk state's applied offsets) start where the committed state is.

    Not at the fence itself: a batch still running then would read an empty table; Faust waits for the
    streams to be idle before a new assignment (`stream_wait_empty`)."""
    assigned = consumer.on_partitions_assigned

    async def on_assigned(partitions: set[TP], generation_id: int = 0) -> None:
        if compat.fenced_tps:
            fenced, compat.fenced_tps = compat.fenced_tps, set()
            dropped = forget_partitions(compat.app, fenced)
            log.info("fenced partitions forgotten before the assignment: %d table keys dropped", dropped)
        await assigned(partitions, generation_id)

    consumer.on_partitions_assigned = on_assigned
