"""`TaskTransactions.route`: which transaction an output joins, and when it is dropped."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from aiokafka.errors import IllegalOperation, KafkaError, UnknownError
from aiokafka.producer.transaction_manager import TransactionState
from faust.transport.producer import ProducerBuffer
from faust.types import TP

from core.errors import TransactionLost
from streams.compat.send_order import SendOrder
from streams.compat.transactions import TRACKED, TaskTransactions, outputs_of, track_buffer

GROUPS = {"signals": 0, "solbot-risk-changelog": 0, "features": 1, "orders": 0}


def manager(producers: set[str], lost: set[str] = frozenset()) -> TaskTransactions:  # type: ignore[assignment]
    m = object.__new__(TaskTransactions)  # routing needs no running service
    m.app = SimpleNamespace(  # type: ignore[misc]
        assignor=SimpleNamespace(group_for_topic=GROUPS.__getitem__), conf=SimpleNamespace(id="solbot")
    )
    m.producer = SimpleNamespace(_transaction_producers=dict.fromkeys(producers))  # type: ignore[misc]
    m.lost = set(lost)
    return m


def test_an_output_joins_its_input_task_named_by_outputs_of() -> None:
    m = manager({"solbot-1-2"})
    with outputs_of(TP("features", 2)):
        assert m.route("signals", 0) == ("solbot-1-2", False)


def test_without_a_source_the_destination_task_when_ours_else_outside() -> None:
    m = manager({"solbot-0-0"})
    assert m.route("orders", 0) == ("solbot-0-0", False)
    assert m.route("features", 3) == (None, False)  # not ours: the idempotent producer
    assert m.route("dlq.unknown", 0) == (None, False)


def test_a_fenced_tasks_late_outputs_are_dropped_not_sent_outside_transactions() -> None:
    # A table's changelog record buffered by Faust (send_soon) is sent without its source; after a fence its
    # destination task is gone: sending it outside transactions would commit what the fence aborted.
    m = manager(set(), lost={"solbot-0-0"})
    assert m.route("solbot-risk-changelog", 0) == ("solbot-0-0", True)
    with outputs_of(TP("signals", 0)):
        assert m.route("orders", 0) == ("solbot-0-0", True)


class TxnProducer:
    """An aiokafka transactional producer's state as `TaskTransactions` reads it."""

    def __init__(self) -> None:
        self.open = True
        self.begun = 0
        self._txn_manager = SimpleNamespace(is_in_transaction=lambda: self.open, state=TransactionState.READY)

    async def begin_transaction(self) -> None:
        self.begun += 1
        self.open = True


class FaustProducer:
    """Faust's producer: the first send finds the transaction ended by a rebalance's commit."""

    def __init__(self, tid: str) -> None:
        self.txn = TxnProducer()
        self._transaction_producers = {tid: self.txn}
        self._trn_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.fail_next = True
        self.sent: list[str] = []

    async def send(self, topic: str, *args: Any, transactional_id: str | None = None) -> Any:
        if self.fail_next:
            self.fail_next = False
            self.txn.open = False  # the commit happened between _ensure_open and this send
            # aiokafka's IllegalOperation is no KafkaError, so Faust does not wrap it in ProducerSendError
            raise IllegalOperation("Can't send messages while not in transaction")
        self.sent.append(topic)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result("ack")
        return done


async def test_a_send_whose_transaction_a_commit_ended_reopens_it_and_goes_out() -> None:
    m = manager({"solbot-0-0"})
    m.producer = FaustProducer("solbot-0-0")  # type: ignore[assignment]
    m.consumer = SimpleNamespace(key_partition=lambda topic, key, partition: 0)  # type: ignore[misc]
    m.dirty = set()
    m.dropped = 0
    m.order = SendOrder()
    sent = await m.send("orders", b"k", b"v", 0, None, None)
    assert await sent == "ack"
    assert m.producer.sent == ["orders"]  # type: ignore[attr-defined]
    assert m.producer.txn.begun == 1  # type: ignore[attr-defined]
    assert m.dirty == {"solbot-0-0"}


async def test_a_send_to_a_task_being_fenced_is_dropped_not_a_crash_of_the_producer_buffer() -> None:
    """A fence seen by one send is handled by `_fenced`, which drops the task's producer only once it has
    stopped it; Faust's producer buffer sending a changelog record meanwhile called `begin_transaction` on
    the fenced producer (FATAL_ERROR -> IN_TRANSACTION: AssertionError), which crashed the worker."""
    m = manager({"solbot-0-0"})
    m.producer = FaustProducer("solbot-0-0")  # type: ignore[assignment]
    m.producer.fail_next = False  # type: ignore[attr-defined]
    m.consumer = SimpleNamespace(key_partition=lambda topic, key, partition: 0, assignment=set)  # type: ignore[misc]
    m.dirty, m.dropped, m.order, m.fenced, m._waiters = set(), 0, SendOrder(), 0, []
    m.lost = {"solbot-0-0"}  # `_fenced` under way: the producer is still registered
    assert await (await m.send("solbot-risk-changelog", b"k", b"v", 0, None, None)) is None
    assert m.dropped == 1 and m.producer.sent == []  # type: ignore[attr-defined]
    m.lost = set()  # the send that meets the fatal state first hands it to `_fenced`
    m.producer.txn.open = False  # type: ignore[attr-defined]
    m.producer.txn._txn_manager.state = TransactionState.FATAL_ERROR  # type: ignore[attr-defined]
    stopped: list[str] = []

    async def stop_transaction(tid: str) -> None:
        stopped.append(tid)

    m.producer.stop_transaction = stop_transaction  # type: ignore[attr-defined]
    m.on_fenced = None
    assert await (await m.send("orders", b"k", b"v", 0, None, None)) is None
    assert stopped == ["solbot-0-0"] and m.lost == {"solbot-0-0"} and m.producer.txn.begun == 0  # type: ignore[attr-defined]


class Buffer:
    """Faust's ProducerBuffer as the commit reads it: records from `send_soon` not sent yet."""

    def __init__(self, log: list[str]) -> None:
        self.size = 1
        self.log = log

    async def flush(self) -> None:
        self.log.append("flush")
        self.size = 0


async def test_a_commit_sends_the_buffered_changelog_records_first() -> None:
    # A table's changelog record waits in Faust's buffer (send_soon); committed before it left, the batch's
    # orders and offsets would commit without the state that decided them.
    log: list[str] = []
    m = manager({"solbot-0-0"})
    m.producer.buffer = Buffer(log)  # type: ignore[attr-defined]
    m.dirty = set()

    async def commit_task(tid: str, offsets: Any, start_new: bool) -> bool:
        log.append(f"commit {tid}")
        return True

    m.commit_task = commit_task  # type: ignore[method-assign]
    assert await m.commit({TP("signals", 0): 5})
    assert log == ["flush", "commit solbot-0-0"]
    log.clear()
    await m.commit({TP("signals", 0): 6})  # nothing buffered: no flush
    assert log == ["commit solbot-0-0"]


async def test_a_commit_waits_for_changelog_records_a_starved_buffer_has_not_sent_yet() -> None:
    """`make chaos` run 21 (a busy box): Faust's buffer flush returned after 0.1 s without a send, the
    commit took the snapshots and their input offsets, and the bars behind them went into the next
    transaction, aborted by a kill. Here Faust's own buffer sends each record 0.3 s late."""
    buffer = ProducerBuffer(loop=asyncio.get_running_loop())
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    sent: list[int] = []

    async def send_pending(fut: Any) -> None:  # a sender short of CPU
        await asyncio.sleep(0.3)
        sent.append(fut.n)
        fut.set_result(None)

    buffer._send_pending = send_pending  # type: ignore[method-assign]
    await buffer.start()
    try:
        track_buffer(buffer)
        futs = []
        for n in range(3):
            fut: Any = asyncio.get_running_loop().create_future()
            fut.n = n
            buffer.put(fut)
            futs.append(fut)
        await buffer.flush()
        assert sent == [] and not all(f.done() for f in futs)  # Faust's flush gave up after 0.1 s
        m = manager({"solbot-0-0"})
        m.producer.buffer = buffer  # type: ignore[attr-defined]
        late: Any = asyncio.get_running_loop().create_future()
        late.n = 3
        await m.flush_buffered()
        buffer.put(late)  # after the flush: the next commit's
        assert sent == [0, 1, 2] and all(f.done() for f in futs)
        assert getattr(buffer, TRACKED) == {late}
        await asyncio.wait_for(late, 5.0)
    finally:
        await buffer.stop()


async def test_a_commit_that_fails_without_a_fence_gives_the_task_up_instead_of_crashing_the_worker() -> None:
    """Kafka 4.x answers an EndTxn racing an epoch fence with UNKNOWN_SERVER_ERROR (an IllegalStateException
    in its coordinator); aiokafka's sender then stops with KafkaError, which crashed the consumer and with
    it the worker. The transaction's end is unknown: the task resumes from its committed offsets after a
    rejoin."""
    m = manager({"solbot-0-0"})
    m.producer = FaustProducer("solbot-0-0")  # type: ignore[assignment]
    m.consumer = SimpleNamespace(assignment=lambda: {TP("signals", 0), TP("features", 1)})  # type: ignore[misc]
    m.dirty, m.fenced, m._waiters, m.commits = {"solbot-0-0"}, 0, [], defaultdict(int)
    m.order = SendOrder()

    async def commit_transaction() -> None:
        try:
            raise UnknownError()
        except UnknownError as exc:
            raise KafkaError("Unexpected error during batch delivery") from exc

    async def stop_transaction(tid: str) -> None:
        m.producer._transaction_producers.pop(tid)  # type: ignore[attr-defined]

    lost: list[set[TP]] = []

    async def on_fenced(tps: set[TP]) -> None:
        lost.append(tps)

    m.producer.txn.commit_transaction = commit_transaction  # type: ignore[attr-defined]
    m.producer.stop_transaction = stop_transaction  # type: ignore[attr-defined]
    m.on_fenced = on_fenced
    waiter = asyncio.ensure_future(m.settled([TP("signals", 0)]))
    await asyncio.sleep(0)
    assert await m.commit_task("solbot-0-0", {}, True) is False
    assert lost == [{TP("signals", 0)}] and m.lost == {"solbot-0-0"} and m.dirty == set()
    assert "solbot-0-0" not in m.producer._transaction_producers  # type: ignore[attr-defined]
    try:
        await waiter
    except TransactionLost:
        pass
    else:
        raise AssertionError("a waiter for the lost transaction's outputs was told they committed")


async def test_a_fenced_producer_that_fails_to_stop_still_gives_its_partitions_up() -> None:
    """`make chaos`: stopping a fenced producer re-raised its sender's ProducerFenced ("Task exception was
    never retrieved"), so the rejoin that hands the task's partitions back never ran."""
    from aiokafka.errors import ProducerFenced

    m = manager({"solbot-0-0"})
    m.producer = FaustProducer("solbot-0-0")  # type: ignore[assignment]
    m.consumer = SimpleNamespace(assignment=lambda: {TP("signals", 0)})  # type: ignore[misc]
    m.dirty, m.fenced, m._waiters, m.commits = {"solbot-0-0"}, 0, [], defaultdict(int)
    m.order = SendOrder()

    async def stop_transaction(tid: str) -> None:
        m.producer._transaction_producers.pop(tid)  # type: ignore[attr-defined]
        raise ProducerFenced()

    lost: list[set[TP]] = []

    async def on_fenced(tps: set[TP]) -> None:
        lost.append(tps)

    m.producer.stop_transaction = stop_transaction  # type: ignore[attr-defined]
    m.on_fenced = on_fenced
    await m._fenced("solbot-0-0", ProducerFenced())
    assert lost == [{TP("signals", 0)}] and m.lost == {"solbot-0-0"}


class RealFaustProducer:
    """Faust's producer around one real aiokafka transactional producer: `send` under the task's lock,
    `stop_transaction` pops the producer and stops it."""

    def __init__(self, tid: str, producer: Any) -> None:
        self._transaction_producers = {tid: producer}
        self._trn_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def send(
        self, topic: str, key: Any, value: Any, partition: Any, *args: Any, transactional_id: str
    ) -> Any:
        async with self._trn_locks[transactional_id]:
            return await self._transaction_producers[transactional_id].send(
                topic, value, key=key, partition=partition
            )

    async def stop_transaction(self, tid: str) -> None:
        producer = self._transaction_producers.pop(tid, None)
        if producer is not None:
            await producer.stop()


async def test_a_send_waiting_for_metadata_is_dropped_when_its_producer_stops(settings: Any) -> None:
    """`make chaos` (run 9): a task fenced while the features agent's send waited for a topic's metadata
    stopped the producer under it; aiokafka's metadata wait on a closed client never ends, and the agent,
    the task's lock and Faust's producer buffer waited with it for the rest of the run."""
    from aiokafka import AIOKafkaProducer

    from streams.broker import bootstrap_of
    from streams.broker_auth import broker_auth

    assert settings.broker_url is not None
    tid = f"solbot-test-stop-{id(settings)}"
    real = AIOKafkaProducer(
        bootstrap_servers=bootstrap_of(settings.broker_url),
        transactional_id=tid,
        request_timeout_ms=120_000,  # aiokafka's own give-up is far beyond this test
        **broker_auth(settings, settings.broker_url),
    )
    await real.start()
    try:
        await real.begin_transaction()
        m = manager({"solbot-0-0"})
        m.producer = RealFaustProducer("solbot-0-0", real)  # type: ignore[assignment]
        m.consumer = SimpleNamespace(key_partition=lambda topic, key, partition: 0, assignment=set)  # type: ignore[misc]
        m.dirty, m.dropped, m.order, m.fenced, m._waiters = set(), 0, SendOrder(), 0, []
        with outputs_of(TP("signals", 0)):  # an invalid name: its metadata never comes
            send = asyncio.ensure_future(m.send("no such topic", b"k", b"v", 0, None, None))
        await asyncio.sleep(0.3)
        assert not send.done()  # waiting for the topic's metadata
        await m.producer.stop_transaction("solbot-0-0")  # as `_fenced` or a revocation does
        sent = await asyncio.wait_for(send, timeout=10)
        assert await sent is None and m.dropped == 1
    finally:
        await real.stop()


async def test_a_rebalance_flushes_records_buffered_before_a_fence_while_their_task_is_lost() -> None:
    """A changelog record Faust buffered before the fence must be dropped with the fenced transaction, not
    written into the transaction of the task's next start (after `lost` forgets it)."""
    m = manager(set(), lost={"solbot-0-0"})
    seen: list[set[str]] = []

    class LostBuffer:
        size = 1

        async def flush(self) -> None:
            seen.append(set(m.lost))
            self.size = 0

    async def maybe_begin_transaction(tid: str) -> None:
        m.producer._transaction_producers[tid] = TxnProducer()  # type: ignore[attr-defined]

    m.producer.buffer = LostBuffer()  # type: ignore[attr-defined]
    m.producer.maybe_begin_transaction = maybe_begin_transaction  # type: ignore[attr-defined]
    m.app.assignor.is_standby = lambda tp: False  # type: ignore[attr-defined]
    m.order = SendOrder()
    await m.on_rebalance({TP("signals", 0)}, set(), {TP("signals", 0)})
    assert seen == [{"solbot-0-0"}] and m.lost == set()


class LetterProducer(TxnProducer):
    """A task's aiokafka producer that takes records and leaves their deliveries to the test."""

    def __init__(self) -> None:
        super().__init__()
        self.client = SimpleNamespace(cluster=SimpleNamespace(partitions_for_topic=lambda topic: {0}))
        self.records: list[tuple[str, bytes, bytes | None, int | None]] = []
        self.deliveries: list[asyncio.Future[Any]] = []

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None
    ) -> Any:
        self.records.append((topic, value, key, partition))
        self.deliveries.append(asyncio.get_running_loop().create_future())
        return self.deliveries[-1]


def letters_manager(producers: dict[str, Any]) -> TaskTransactions:
    m = manager(set(producers))
    m.producer = SimpleNamespace(  # type: ignore[assignment]
        _transaction_producers=producers,
        _trn_locks=defaultdict(asyncio.Lock),
        stop_transaction=_stop(producers),
    )
    m.consumer = SimpleNamespace(key_partition=lambda topic, key, partition: 0, assignment=set)  # type: ignore[misc]
    m.dirty, m.dropped, m.order, m.fenced, m._waiters = set(), 0, SendOrder(), 0, []
    m._handling, m.on_fenced = set(), None
    return m


def _stop(producers: dict[str, Any]) -> Any:
    async def stop_transaction(tid: str) -> None:
        producers.pop(tid, None)

    return stop_transaction


async def test_a_tasks_letters_go_to_its_producer_in_order_without_waiting_for_acks() -> None:
    task = LetterProducer()
    m = letters_manager({"solbot-1-2": task})
    sent = await m.send_many("dlq.raw", b"features", [b"a", b"b", b"c"], TP("features", 2))
    assert task.records == [("dlq.raw", v, b"features", 0) for v in (b"a", b"b", b"c")]
    assert not any(d.done() for d in sent) and m.dirty == {"solbot-1-2"}
    assert m.order.waits == 0 and not m.order._last  # no order kept across producers for them


async def test_a_letter_the_broker_refuses_ends_its_tasks_transaction() -> None:
    task = LetterProducer()
    m = letters_manager({"solbot-1-2": task})
    sent = await m.send_many("dlq.raw", b"features", [b"a", b"b"], TP("features", 2))
    sent[0].set_exception(KafkaError("refused"))
    sent[1].set_result("ack")
    await asyncio.sleep(0.01)
    assert m.lost == {"solbot-1-2"} and m.fenced == 1 and "solbot-1-2" not in m._producers()


async def test_letters_of_a_task_no_longer_ours_are_dropped() -> None:
    m = letters_manager({})
    m.lost = {"solbot-1-2"}
    sent = await m.send_many("dlq.raw", b"features", [b"a", b"b"], TP("features", 2))
    assert [await d for d in sent] == [None, None] and m.dropped == 2


class CommittingProducer(TxnProducer):
    """A transactional producer whose commit takes as long as the test says."""

    def __init__(self, release: asyncio.Event, started: list[str], name: str) -> None:
        super().__init__()
        self.release, self.started, self.name = release, started, name

    async def send_offsets_to_transaction(self, offsets: Any, group_id: str) -> None:
        return None

    async def commit_transaction(self) -> None:
        self.started.append(self.name)
        await self.release.wait()


async def test_tasks_commit_at_once_not_one_after_another() -> None:
    """Five tasks' commits one after another took 74 ms at the median in a flood (each a few round trips),
    longer than the 100 ms interval allows once the box is busy; at once, 25 ms."""
    release, started = asyncio.Event(), []
    producers = {tid: CommittingProducer(release, started, tid) for tid in ("solbot-0-0", "solbot-1-2")}
    m = letters_manager(producers)  # type: ignore[arg-type]
    m.commits = defaultdict(int)
    m.dirty = {"solbot-0-0"}
    commit = asyncio.ensure_future(m.commit({TP("features", 2): 7}))
    await asyncio.sleep(0.01)
    assert sorted(started) == ["solbot-0-0", "solbot-1-2"]  # the second did not wait for the first
    release.set()
    assert await commit is True
    assert m.commits == {"solbot-0-0": 1, "solbot-1-2": 1} and m.dirty == set()
