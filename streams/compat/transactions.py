"""Exactly-once on Faust 0.15.3: one transactional producer per input task, as Kafka Streams does.

Faust's `TransactionManager.send` (faust/transport/consumer.py, `send`) picks the transactional producer
`{app}-{group}-{P}` of the *destination* partition P. A worker that does not own partition P of that
topic group has no such producer (`Producer.send` in faust/transport/drivers/aiokafka.py raises
ProducerSendError), and one that does puts the record into a transaction that commits only with P's
input offsets: the one-partition `signals` topic, fed from four `features` partitions, waited for the
risk agent's commit, which waited for the signals (docs/broker.md). `TaskTransactions` replaces it on the
app's consumer (an instance of our subclass, installed by `streams.compat.install`, never at import):

- an output joins the transaction of the task (topic group, partition) whose input made it: the source
  an agent names with `outputs_of(tp)`, else the destination's task when this worker runs it (tables'
  changelogs, the risk agent's orders); with neither, it goes through the app's idempotent producer,
  outside transactions, with one warning per topic;
- records of one destination partition carried by different producers reach its log in the order they
  were sent (`streams.compat.send_order`): the signals of several features partitions keep the model
  agent's event-time order on `signals/0`;
- a commit also commits the transactions that carry outputs but no new input offsets (outputs of held
  inputs, released by a timer), so nothing waits for an input that may never come;
- `settled(tps)` waits until everything sent so far for those tasks is committed (model checkpoints name
  only committed signals);
- a fenced producer (ProducerFenced / InvalidProducerEpoch: another worker took the task, or a
  transaction timed out; faust-streaming#323 crashed the app), or a transactional send or commit that fails
  otherwise (Kafka 4.x answers an EndTxn that races an epoch fence with UNKNOWN_SERVER_ERROR, and aiokafka's
  sender then stops), does not crash the worker: as Kafka Streams revives a corrupted task, the task's
  producer is dropped, its outputs are discarded (the transaction is aborted anyway), its partitions are
  treated as newly assigned at the next assignment (tables recovered, resume hooks run), and the
  consumer rejoins the group, so they resume from the committed offsets wherever the group puts them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

from aiokafka.errors import (
    IllegalOperation,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    InvalidTxnState,
    KafkaError,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.producer.transaction_manager import TransactionState
from faust.exceptions import ProducerSendError
from faust.transport.consumer import TransactionManager
from faust.types import TP
from mode import Service

from core.errors import TransactionLost
from streams.compat.send_order import SendOrder

log = logging.getLogger(__name__)

FENCED_ERRORS: tuple[type[BaseException], ...] = (
    ProducerFenced,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    InvalidTxnState,
    UnknownProducerId,
)

SEND_TRIES = 3
STOP_POLL_S = 0.5  # how often a send still waiting for its topic's metadata checks that its producer runs
FLUSH_WARN_S = 10.0  # a commit still waiting this long for the buffered changelog records says so

_source: ContextVar[TP | None] = ContextVar("solbot_output_source", default=None)
_any_order: ContextVar[bool] = ContextVar("solbot_outputs_in_any_order", default=False)


@contextmanager
def outputs_of(tp: TP) -> Iterator[None]:
    """What is sent inside belongs to the input task of `tp` (a topic partition this worker reads)."""
    token = _source.set(tp)
    try:
        yield
    finally:
        _source.reset(token)


@contextmanager
def in_any_order() -> Iterator[None]:
    """What is sent inside may reach its partition in any order relative to other producers' records
    (dead letters: their order across sources means nothing), so no send waits for another producer's
    ack (`streams.compat.send_order`). Records of one producer keep their order anyway."""
    token = _any_order.set(True)
    try:
        yield
    finally:
        _any_order.reset(token)


class _ProducerStopped(Exception):
    """The task's producer stopped (fenced or revoked) while a send waited on it."""


def _not_in_transaction(exc: BaseException) -> bool:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return isinstance(cause, IllegalOperation)


def is_fenced(exc: BaseException) -> bool:
    return isinstance(exc, FENCED_ERRORS) or isinstance(exc.__cause__, FENCED_ERRORS)


# Errors of a transactional send (Faust wraps only KafkaError; aiokafka's IllegalOperation is none).
SEND_ERRORS: tuple[type[BaseException], ...] = (KafkaError, ProducerSendError, IllegalOperation)


def ends_transaction(exc: BaseException) -> bool:
    """A transactional send or commit that raised this leaves the transaction's end unknown (fenced, or a
    broker or client error); what the task did since its last commit is redone from the committed offsets."""
    return isinstance(exc, SEND_ERRORS) or isinstance(exc.__cause__, KafkaError)


class TaskTransactions(TransactionManager):
    """Faust's transaction manager with sends routed by input task (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dirty: set[str] = set()  # tasks whose open transaction holds outputs
        self.commits: defaultdict[str, int] = defaultdict(int)  # committed transactions per task
        self.fenced = 0
        self.dropped = 0  # outputs of a task this worker no longer runs (its transaction is aborted)
        self._waiters: list[tuple[str, int, asyncio.Future[None]]] = []
        self._outside: set[str] = set()  # topics warned about
        self._handling: set[asyncio.Future[None]] = set()  # fence handlers started from a send's callback
        self.lost: set[str] = set()  # fenced tasks, until an assignment gives them back
        self.on_fenced: Callable[[set[TP]], Awaitable[None]] | None = None
        self.order = SendOrder()  # a partition's log order is its send order, whatever producer carries it

    @Service.task
    async def _commit_outputs(self) -> None:
        """Faust commits only when input offsets moved; outputs without new inputs commit here."""
        interval = float(self.app.conf.broker_commit_interval)
        async for _ in self.itertimer(interval, name="commit outputs"):
            await self.commit_dirty()

    # -- routing --------------------------------------------------------------------------------------

    def task_of(self, topic: str, partition: int | None) -> str | None:
        if partition is None:
            return None
        try:
            group = self.app.assignor.group_for_topic(topic)
        except KeyError:  # a topic this app does not read: no task of its own
            return None
        return f"{self.app.conf.id}-{group}-{partition}"

    def _producers(self) -> Mapping[str, Any]:
        return self.producer._transaction_producers  # type: ignore[attr-defined]

    def route(self, topic: str, partition: int | None) -> tuple[str | None, bool]:
        """(task, lost): the transaction an output joins; lost when its source task is not ours now."""
        source = _source.get()
        if source is not None:
            tid = self.task_of(source.topic, source.partition)
            return tid, tid is None or tid not in self._producers()
        tid = self.task_of(topic, partition)
        if tid is not None and tid in self._producers():
            return tid, False
        if tid is not None and tid in self.lost:  # a fenced task's late output (a buffered changelog record)
            return tid, True
        return None, False

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Awaitable[Any]:
        p = self.consumer.key_partition(topic, key, partition)
        tid, lost = self.route(topic, p)
        if lost:
            self.dropped += 1
            log.debug("output to %s dropped: its input task is no longer this worker's", topic)
            return _done(None)
        if tid is None:
            if topic not in self._outside:
                self._outside.add(topic)
                log.warning("sends to %s outside any input task go through the idempotent producer", topic)
            return await self.order.send(
                (topic, p), None, lambda: self.producer.send(topic, key, value, p, timestamp, headers)
            )
        for _ in range(SEND_TRIES):
            # revoked or fenced while we waited (the producer is dropped only once `_fenced` has stopped it,
            # and a send in between crashed Faust's producer buffer): its task is not ours
            if tid not in self._producers() or tid in self.lost:
                self.dropped += 1
                return _done(None)
            try:
                await self._ensure_open(tid)
                self.dirty.add(tid)
                enqueue = partial(
                    self._enqueue,
                    tid,
                    topic,
                    lambda: self.producer.send(
                        topic, key, value, p, timestamp, headers, transactional_id=tid
                    ),
                )
                if _any_order.get():
                    sent = await enqueue()
                else:
                    sent = await self.order.send((topic, p), tid, enqueue)
            except _ProducerStopped:
                self.dropped += 1
                return _done(None)
            except SEND_ERRORS as exc:
                if _not_in_transaction(exc):
                    continue  # a rebalance's commit ended the transaction between _ensure_open and the send
                await self._fenced(tid, exc)
                return _done(None)
            return self._watch(tid, sent)
        raise TransactionLost(f"{tid}: no open transaction after {SEND_TRIES} tries")

    async def send_many(
        self, topic: str, key: bytes | None, values: Sequence[bytes], source: TP
    ) -> list[asyncio.Future[Any]]:
        """Outputs of one input task, one key, in any order relative to other tasks' (a batch's dead
        letters): routed, opened and locked once and handed straight to the task's producer. Record by
        record through `send` (routing, Faust's wrapper, order and outcome futures), letters took 10 % of
        a worker's CPU samples in a flood; this way 6 %. A delivery that fails ends the task's transaction,
        as in `send`. What the fast path cannot take (no metadata yet, a task not ours, a transaction that
        ended meanwhile) goes through `send`, which knows what to do."""
        p = self.consumer.key_partition(topic, key, None)
        with outputs_of(source):
            tid, lost = self.route(topic, p)
        producer = self._producers().get(tid) if tid is not None else None
        out: list[asyncio.Future[Any]] = []
        if tid is not None and producer is not None and not lost and tid not in self.lost:
            if producer.client.cluster.partitions_for_topic(topic) is not None:
                try:
                    await self._ensure_open(tid)
                    self.dirty.add(tid)
                    watch = partial(self._delivered, tid)
                    async with self.producer._trn_locks[tid]:  # type: ignore[attr-defined]
                        for value in values:
                            delivery = await producer.send(topic, value, key=key, partition=p)
                            delivery.add_done_callback(watch)
                            out.append(delivery)
                except SEND_ERRORS:
                    pass  # the rest goes through `send`, which retries or fences
        with outputs_of(source), in_any_order():
            for value in values[len(out) :]:
                out.append(asyncio.ensure_future(await self.send(topic, key, value, p, None, None)))
        return out

    def _delivered(self, tid: str, delivery: asyncio.Future[Any]) -> None:
        if delivery.cancelled() or (exc := delivery.exception()) is None or not ends_transaction(exc):
            return
        self._fence_soon(tid, exc)

    def _fence_soon(self, tid: str, exc: BaseException) -> None:
        """`_fenced` from a delivery's callback, which cannot await it."""
        task = asyncio.ensure_future(self._fenced(tid, exc))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _enqueue(self, tid: str, topic: str, send: Callable[[], Awaitable[Any]]) -> Any:
        """`send()`, given up when the task's producer stops first. aiokafka's send waits for the topic's
        metadata on the producer's own client; a producer stopped meanwhile (fenced, revoked) has had its
        client's metadata task cancelled, and that wait never ends (aiokafka 0.12
        `AIOKafkaClient.force_metadata_update`). The send held the task's lock, and Faust's producer buffer
        held every later changelog record behind it: `make chaos` (run 9) sent nothing for eight minutes."""
        producer = self._producers().get(tid)
        client = getattr(producer, "client", None)
        if client is None or client.cluster.partitions_for_topic(topic) is not None:
            return await send()  # no metadata to wait for: the send only enqueues
        task = asyncio.ensure_future(send())
        while True:
            done, _ = await asyncio.wait({task}, timeout=STOP_POLL_S)
            if done:
                return task.result()
            if self._producers().get(tid) is not producer or getattr(producer, "_closed", False):
                task.cancel()
                raise _ProducerStopped(tid)

    def _watch(self, tid: str, sent: Awaitable[Any]) -> asyncio.Future[Any]:
        """The send's outcome; a fenced delivery resolves to None (the output is discarded with its task)."""
        out: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(fut: asyncio.Future[Any]) -> None:
            if out.done():
                return
            if fut.cancelled():
                out.cancel()
            elif (exc := fut.exception()) is None:
                out.set_result(fut.result())
            elif ends_transaction(exc):
                out.set_result(None)
                self._fence_soon(tid, exc)
            else:
                out.set_exception(exc)

        asyncio.ensure_future(sent).add_done_callback(done)
        return out

    async def _ensure_open(self, tid: str) -> None:
        """A transaction is open on the task's producer (Faust ends them at a rebalance's commit)."""
        producer = self._producers().get(tid)
        if producer is not None and producer._txn_manager.state == TransactionState.FATAL_ERROR:
            raise ProducerFenced()  # fenced by a send whose error is still on its way to `_fenced`
        if producer is not None and not producer._txn_manager.is_in_transaction():
            async with self.producer._trn_locks[tid]:  # type: ignore[attr-defined]
                if not producer._txn_manager.is_in_transaction():
                    await producer.begin_transaction()

    # -- commits --------------------------------------------------------------------------------------

    async def commit(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        """Commit each task's input offsets with its outputs; tasks with outputs only commit too."""
        await self.flush_buffered()
        by_task: dict[str, dict[TP, int]] = defaultdict(dict)
        for tp, offset in offsets.items():
            tid = self.task_of(tp.topic, tp.partition)
            if tid is not None:
                by_task[tid][tp] = offset
        for tid in list(self.dirty):
            by_task.setdefault(tid, {})
        return await self._commit_tasks(
            [(tid, task_offsets) for tid, task_offsets in sorted(by_task.items())], start_new_transaction
        )

    async def _commit_tasks(self, tasks: list[tuple[str, Mapping[TP, int]]], start_new: bool) -> bool:
        """The tasks' commits at once, each on its own producer: a commit is a few round trips (offsets,
        end, and the next transaction's first partition), and a task's sends wait while it commits. One
        after another, a worker's five tasks took 74 ms at the median and 148 ms at p90 in a flood (the
        interval is 100 ms); at once, 25 ms and 78 ms. Every commit ends before an error is raised."""
        if len(tasks) == 1:
            return await self.commit_task(tasks[0][0], tasks[0][1], start_new)
        results = await asyncio.gather(
            *(self.commit_task(tid, offsets, start_new) for tid, offsets in tasks), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return all(results)

    async def commit_dirty(self) -> None:
        """Commit the transactions holding outputs but no new input offsets (a timer's, a held input's)."""
        await self.flush_buffered()
        await self._commit_tasks([(tid, {}) for tid in sorted(self.dirty)], True)

    async def flush_buffered(self) -> None:
        """Send what Faust's producer buffer holds before committing. Tables write their changelogs with
        `send_soon` (faust/tables/base.py `send_changelog`), which a background task sends later; Faust's
        consumer flushes that buffer before a commit only outside transactions. Unflushed, the risk
        state's record of a batch could leave in the NEXT transaction while the batch's orders and input
        offsets commit in this one: a SIGKILL between the two lost the state, and the next owner decided
        the same signal again (an order, then a rejection: tests/integration/test_crash_restart.py).

        Faust's `ProducerBuffer.flush` alone is not a flush: it returns once 0.1 s pass without a send
        (faust/transport/producer.py `flush_atmost`), and its `size` leaves out the record its sender is
        sending. On a box short of CPU the commit went ahead of the changelog: `make chaos` run 21 committed
        two seconds of features snapshots and their input offsets while the one-second bars behind them
        went into the next transaction, aborted by the kill that followed; the next owner recovered bars
        without those trades. So it also waits until every record the buffer took (`track_buffer`) is
        delivered, failed, or dropped with its task."""
        buffer = getattr(self.producer, "buffer", None)
        if buffer is None:
            return
        if buffer.size:
            await buffer.flush()
        waiting = set(getattr(buffer, TRACKED, ()))  # taken before this commit: what its offsets cover
        while waiting:
            _, waiting = await asyncio.wait(waiting, timeout=FLUSH_WARN_S)
            if waiting and getattr(buffer, "should_stop", False):
                raise TransactionLost(f"producer buffer stopped, {len(waiting)} changelog records unsent")
            if waiting:
                log.warning("a commit waits for %d buffered changelog records", len(waiting))

    async def commit_task(self, tid: str, offsets: Mapping[TP, int], start_new: bool) -> bool:
        producer = self._producers().get(tid)
        if producer is None:
            self.dirty.discard(tid)
            self._settle(tid, TransactionLost(f"{tid} is not this worker's"))
            return False
        async with self.producer._trn_locks[tid]:  # type: ignore[attr-defined]
            try:
                if producer._txn_manager.state == TransactionState.FATAL_ERROR:
                    raise ProducerFenced()  # a send found out first; its error is on its way to `_fenced`
                if not producer._txn_manager.is_in_transaction():
                    if not offsets:
                        return True
                    await producer.begin_transaction()
                if offsets:
                    await producer.send_offsets_to_transaction(offsets, self.app.conf.id)
                await producer.commit_transaction()
                self.dirty.discard(tid)
                self.commits[tid] += 1
                self._settle(tid, None)
                if start_new:
                    await producer.begin_transaction()
            except KafkaError as exc:  # whatever the error, the transaction did not end as asked
                fenced = exc
            else:
                return True
        await self._fenced(tid, fenced)
        return False

    async def settled(self, tps: Iterable[TP]) -> None:
        """Wait until every output sent so far for the tasks of `tps` is committed; TransactionLost if one
        of those transactions ends otherwise."""
        waits = []
        for tp in tps:
            tid = self.task_of(tp.topic, tp.partition)
            if tid in self.lost:
                raise TransactionLost(f"{tid} was fenced")
            if tid is None or tid not in self.dirty:
                continue
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append((tid, self.commits[tid], fut))
            waits.append(fut)
        if waits:
            await asyncio.gather(*waits)

    def _settle(self, tid: str, error: BaseException | None) -> None:
        keep = []
        for waiter in self._waiters:
            wtid, before, fut = waiter
            if wtid != tid or fut.done():
                if not fut.done():
                    keep.append(waiter)
                continue
            if error is not None:
                fut.set_exception(error)
            elif self.commits[tid] > before:
                fut.set_result(None)
            else:
                keep.append(waiter)
        self._waiters = keep

    # -- rebalances and fencing -----------------------------------------------------------------------

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP]) -> None:
        """Stop the producers of tasks gone elsewhere; start (or reopen) those of every task now ours.

        Faust's producer buffer is flushed first: a changelog record buffered before a fence is dropped
        while its task still counts as lost, not written into the transaction of the task's next start."""
        await self.flush_buffered()
        mine = {t for t in (self.task_of(tp.topic, tp.partition) for tp in self._active(assigned)) if t}
        gone = {t for t in (self.task_of(tp.topic, tp.partition) for tp in revoked) if t} - mine
        for tid in sorted(gone):
            self.dirty.discard(tid)
            self._settle(tid, TransactionLost(f"{tid} was revoked"))
            await self.producer.stop_transaction(tid)
            self.order.forget(tid)
        if gone:
            log.info("stopped %d transactional producers of revoked tasks", len(gone))
        self.lost -= mine
        started = 0
        for tid in sorted(mine):
            if tid in self._producers():
                await self._ensure_open(tid)
                continue
            await self.producer.maybe_begin_transaction(tid)
            started += 1
            if tid not in self._producers():  # Faust logs the error and goes on: the task is not ours yet
                await self._fenced(tid, TransactionLost(f"{tid}: its producer did not start"))
        if started:
            log.info("started %d transactional producers for assigned tasks", started)

    def _active(self, tps: Iterable[TP]) -> list[TP]:
        assignor = self.app.assignor
        return [tp for tp in tps if not assignor.is_standby(tp)]

    async def _fenced(self, tid: str, exc: BaseException) -> None:
        """Drop the task's producer; its partitions count as lost and the consumer rejoins the group."""
        producer = self._producers().get(tid)
        if tid in self.lost and producer is None:
            return  # already handled (several sends of one transaction fail together)
        self.fenced += 1
        self.lost.add(tid)
        self.dirty.discard(tid)
        self._settle(tid, TransactionLost(f"{tid} fenced: {exc!r}"))
        lost = {tp for tp in self.consumer.assignment() if self.task_of(tp.topic, tp.partition) == tid}
        log.warning(
            "transaction %s %s (%s): its %d partitions resume from the committed offsets after a rejoin",
            tid,
            "fenced" if is_fenced(exc) else "failed",
            type(exc.__cause__ or exc).__name__,
            len(lost),
        )
        try:
            await self.producer.stop_transaction(tid)
        except SEND_ERRORS as stop_exc:
            # its sender stops with the fence it met: the producer is gone all the same
            log.debug("transaction %s: its producer stopped with %r", tid, stop_exc)
        self.order.forget(tid)
        if self.on_fenced is not None:
            await self.on_fenced(lost)


def _done(value: Any) -> asyncio.Future[Any]:
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    fut.set_result(value)
    return fut


TRACKED = "_solbot_unsent"  # the attribute of Faust's producer buffer holding the records not yet delivered


def track_buffer(buffer: Any) -> set[asyncio.Future[Any]]:
    """Keep, on Faust's producer buffer, the futures of the records it takes until each is resolved (the
    record delivered, failed, or dropped with its task), so a commit can wait for them (`flush_buffered`).
    Faust resolves a buffered record's future from the send's outcome (faust/topics.py `_on_published`)."""
    pending: set[asyncio.Future[Any]] | None = getattr(buffer, TRACKED, None)
    if pending is not None:
        return pending
    pending = set()
    put = buffer.put

    def tracked_put(fut: asyncio.Future[Any]) -> None:
        pending.add(fut)
        fut.add_done_callback(pending.discard)
        put(fut)

    buffer.put = tracked_put
    setattr(buffer, TRACKED, pending)
    return pending


def install_task_transactions(
    consumer: Any, on_fenced: Callable[[set[TP]], Awaitable[None]]
) -> TaskTransactions:
    """Give one Faust consumer a `TaskTransactions` in place of Faust's manager (exactly-once only)."""
    old = consumer.transactions
    track_buffer(old.producer.buffer)
    manager = TaskTransactions(
        old.transport, consumer=consumer, producer=old.producer, beacon=consumer.beacon, loop=consumer.loop
    )
    manager.on_fenced = on_fenced
    consumer.transactions = manager
    return manager


async def send_outside_transactions(topic: Any, key: bytes | None, value: bytes) -> Awaitable[Any]:
    """Send through the app's own producer, never a transactional one: acknowledged means visible to
    read_committed readers at once. Idempotent (acks=all) under exactly-once; what it sends must be safe
    to repeat (ids), because a crash after the send and before its record is marked repeats it."""
    producer = topic.app.producer
    await producer.maybe_start()
    return await producer.send(topic.get_topic_name(), key, value, None, None, None)
