"""A rewind mid-assignment: partitions go back to their hooks' points, records fetched before it are stale,
and acks of records not applied are withheld from the commit."""

from __future__ import annotations

from typing import Any

from faust.types import TP
from faust.types.tuples import ConsumerMessage
from test_seeks import SIGNALS, FakeConsumer, guarded, hook_returning

from streams.compat import Compat
from streams.compat.acks import withhold
from streams.compat.seeks import ResumeAt, ResumeHooks


async def delivered(consumer: Any, rounds: int) -> list[Any]:
    """Faust's fetch loop, keeping the record objects an agent would get."""
    out = []
    for _ in range(rounds):
        async for tp, msg in consumer.getmany(timeout=1.0):
            read = consumer._read_offset[tp]
            if read is None or msg.offset >= read:
                out.append(msg)
                consumer._read_offset[tp] = msg.offset
    return out


async def test_a_rewind_seeks_back_to_the_stored_offset_and_records_fetched_before_it_are_stale() -> None:
    consumer = FakeConsumer({SIGNALS: 30}, {SIGNALS: 0}, batch=5)
    hooks = ResumeHooks()
    hooks.register("state", [SIGNALS.topic], hook_returning({SIGNALS: ResumeAt(0)}))
    guard = guarded(consumer, hooks)
    consumer._committed_offset = {SIGNALS: 0}  # type: ignore[attr-defined]
    await consumer.on_partitions_assigned({SIGNALS})
    await consumer.perform_seek()
    first = await delivered(consumer, 2)  # 0..9 handed over: a batch of 0..4 fails, 5..9 wait in a queue
    assert [m.offset for m in first] == list(range(10))
    points = await guard.rewind(consumer, [SIGNALS, TP("orders", 0)])  # orders: not assigned, left alone
    assert points == {SIGNALS: ResumeAt(0)} and guard.rewound_to == points
    assert [guard.stale(m) for m in first[5:]] == [True] * 5  # fetched before the rewind
    again = await delivered(consumer, 2)
    assert [m.offset for m in again] == list(range(10))  # read again from the stored offset
    assert [guard.stale(m) for m in again] == [False] * 10
    guard.forget([SIGNALS])
    assert guard.rewound_to == {}


class AckingConsumer:
    def __init__(self) -> None:
        self.acked: list[int] = []
        self._unacked_messages: set[Any] = set()

    def ack(self, message: Any) -> bool:
        self.acked.append(message.offset)
        return True


def message(offset: int) -> ConsumerMessage:
    m = ConsumerMessage("orders", 0, offset, 0.0, 0, None, None, b"x", None)
    m.incref()
    return m


def test_a_withheld_record_is_never_acked_to_the_consumer() -> None:
    consumer = AckingConsumer()
    kept, withheld = message(1), message(2)
    consumer._unacked_messages |= {kept, withheld}
    assert withhold(consumer, [withheld]) == 1 and withhold(consumer, [withheld]) == 0
    kept.ack(consumer)  # type: ignore[arg-type]
    withheld.ack(consumer)  # type: ignore[arg-type]  # what take_events' cleanup does
    assert consumer.acked == [1]
    assert consumer._unacked_messages == {kept}  # a rebalance does not wait for the withheld one


def test_only_records_at_or_past_their_resume_point_are_withheld() -> None:
    consumer = AckingConsumer()

    class App:
        pass

    app = App()
    app.consumer = consumer  # type: ignore[attr-defined]
    compat = Compat("kafka", app)
    compat.guard = guarded(FakeConsumer({}, {}))
    records = [message(o) for o in (3, 4, 5)]
    assert compat.withhold_unapplied(records, {TP("orders", 0): ResumeAt(4)}) == 2
    for r in records:
        r.ack(consumer)  # type: ignore[arg-type]
    assert consumer.acked == [3]  # applied before the failure: committed as usual
