"""The risk agent's runner without a broker: the fill barrier, a batch decided, saved with its outbox, then
published, and where the risk inputs resume after an assignment."""

from __future__ import annotations

import orjson
from agent_fakes import Event, Message, context
from aiokafka.errors import KafkaTimeoutError
from faust.types import TP

from agents.risk import FillBarrier, RiskRunner
from core.settings import load_settings
from market.tokens import USDC, WSOL
from risk.state import PendingOrder, RiskState, initial_state
from streams.codec import decode, encode
from streams.compat.seeks import ResumeAfter, ResumeAt
from streams.records import PROGRESS_KEY, Order, Progress
from tests.risk.risk_factories import fill_for
from tests.risk.test_apply import limits, signal


class _Msg:
    def __init__(self, topic: str, offset: int) -> None:
        self.topic, self.offset, self.partition = topic, offset, 0


class _Event:
    def __init__(self, topic: str, offset: int) -> None:
        self.message = _Msg(topic, offset)


def test_signals_wait_for_the_fills_of_the_orders_before_them() -> None:
    """The barrier: fills first, then signals one by one while no order is outstanding."""

    barrier = FillBarrier(wait_ms=60_000)
    state = RiskState.initial("main", limits, WSOL, USDC)
    barrier.state = state
    batch = [_Event("signals", 0), _Event("fills", 0), _Event("control", 0), _Event("signals", 1)]
    seen = []
    for event in barrier.order(batch):
        if event is None:
            break
        seen.append((event.message.topic, event.message.offset))
        if event.message.topic == "signals" and event.message.offset == 0:  # it became an order
            state.pending["ord:a"] = PendingOrder("SOL/USDC", "buy", USDC, 1, 1, "entry")
    assert seen == [("control", 0), ("fills", 0), ("signals", 0)]
    assert [e.message.offset for e in barrier.held] == [1]  # waits for ord:a's fill
    # the next batch brings the fill: it is applied, then the held signal, then the new one
    seen = []
    for event in barrier.order([_Event("signals", 2), _Event("fills", 1)]):
        assert event is not None
        seen.append((event.message.topic, event.message.offset))
        if event.message.topic == "fills":
            state.pending.clear()
    assert seen == [("fills", 1), ("signals", 1), ("signals", 2)] and barrier.held == []


def test_a_fill_that_never_comes_stops_holding_signals_after_the_wait() -> None:

    barrier = FillBarrier(wait_ms=0)
    state = RiskState.initial("main", limits, WSOL, USDC)
    state.pending["ord:stuck"] = PendingOrder("SOL/USDC", "buy", USDC, 1, 1, "entry")
    barrier.state = state
    first = list(barrier.order([_Event("signals", 0)]))
    assert first == [None]  # the first look starts the clock
    second = list(barrier.order([]))
    assert [e.message.offset for e in second] == [0] and barrier.gave_up == 1
    assert [e.message.offset for e in barrier.order([_Event("signals", 1)])] == [1]  # not waited on again


def runner() -> RiskRunner:
    return RiskRunner(context(load_settings(database_url=None, redis_url=None, risk_fill_wait_ms=60_000)))


def signal_event(offset: int, sid: str, ts_ms: int, strategy: str = "s", source: int = -1) -> Event:
    sig = signal(sid, ts_ms=ts_ms)
    sig.strategy = strategy
    sig.source_partition = source
    return Event(Message("signals", 0, offset, b"main", encode(sig)))


def progress_event(offset: int, source: int, ts_ms: int) -> Event:
    progress = Progress(source_partition=source, ts_ms=ts_ms, steady=True)
    return Event(Message("signals", 0, offset, PROGRESS_KEY, encode(progress)))


def state_of(r: RiskRunner) -> RiskState:
    return RiskState.from_dict(r.ctx.risk_table.data["main"])  # type: ignore[attr-defined]


async def test_a_batch_is_decided_saved_with_its_outbox_then_published() -> None:
    r = runner()
    await r.decide_batch([signal_event(0, "sig:a", 1_000), Event(Message("fills", 0, 5, b"main", b"{"))])
    orders = [orjson.loads(v) for _, v, _ in r.ctx.topics.orders_topic.sent]  # type: ignore[attr-defined]
    assert [o["signal_id"] for o in orders] == ["sig:a"]
    # the state with the decision in its outbox, written once; the order sent after it
    assert r.ctx.risk_table.changelog == [(0, "main")]  # type: ignore[attr-defined]
    state = state_of(r)
    assert [orjson.loads(e["value"])["signal_id"] for e in state.outbox] == ["sig:a"]
    assert state.offsets == {"signals:0": 0, "fills:0": 5}  # the bad one: skipped
    letters = r.ctx.topics.dlq_signals_topic.sent  # type: ignore[attr-defined]
    assert [orjson.loads(v)["offset"] for _, v, _ in letters] == [5]
    assert r.outbox_waiting()  # acked, still saved: the next batch (or the timer's) drops it
    await r.decide_batch([])
    assert state_of(r).outbox == [] and not r.outbox_waiting() and len(orders) == 1


def outbox_ids(r: RiskRunner) -> list[str]:
    return [orjson.loads(e["value"])["signal_id"] for e in state_of(r).outbox]


async def test_the_next_batch_is_decided_while_the_decisions_before_it_await_their_acks() -> None:
    """Decisions not acked yet stay in the outbox of every later save (a crash sends them again); acked
    ones leave it; a failed send is sent again, not lost."""
    r = runner()
    orders, rejected = r.ctx.topics.orders_topic, r.ctx.topics.rejected_topic
    orders.hold_acks = rejected.hold_acks = True  # type: ignore[attr-defined]
    await r.decide_batch([signal_event(0, "sig:a", 1_000)])  # returns with its order unacked
    fill = Event(Message("fills", 0, 0, b"main", encode(fill_for(decode(Order, orders.sent[0][1])))))  # type: ignore[attr-defined]
    await r.decide_batch([fill, signal_event(1, "sig:b", 2_000)])  # sig:b: rejected (below the minimum)
    assert len(orders.sent) == 1 and len(rejected.sent) == 1  # type: ignore[attr-defined]
    assert outbox_ids(r) == ["sig:a", "sig:b"] and not r.outbox_waiting()  # both in flight
    orders.unacked[0].set_result(None)  # type: ignore[attr-defined]
    assert r.outbox_waiting()
    await r.decide_batch([])
    assert outbox_ids(r) == ["sig:b"] and len(orders.sent) == 1  # type: ignore[attr-defined]
    rejected.unacked[0].set_exception(KafkaTimeoutError())  # type: ignore[attr-defined]
    await r.decide_batch([])
    assert [orjson.loads(v)["signal_id"] for _, v, _ in rejected.sent] == ["sig:b", "sig:b"]  # type: ignore[attr-defined]
    rejected.unacked[1].set_result(None)  # type: ignore[attr-defined]
    await r.decide_batch([])
    assert outbox_ids(r) == [] and state_of(r).decided == 2 and not r.outbox_waiting()
    assert len(orders.sent) == 1 and len(rejected.sent) == 2  # type: ignore[attr-defined]


async def test_the_next_signal_waits_for_the_fill_of_the_order_before_it() -> None:
    r = runner()
    await r.decide_batch([signal_event(0, "sig:a", 1_000), signal_event(1, "sig:b", 2_000)])
    sent = r.ctx.topics.orders_topic.sent  # type: ignore[attr-defined]
    assert len(sent) == 1 and [e.message.offset for e in r.barrier.held] == [1]
    fill = fill_for(decode(Order, sent[0][1]))
    await r.decide_batch([Event(Message("fills", 0, 0, b"main", encode(fill)))])
    assert r.barrier.held == [] and state_of(r).offsets["signals:0"] == 1


async def test_risk_inputs_resume_after_what_the_recovered_state_applied() -> None:
    r = runner()
    signals, fills, control = TP("signals", 0), TP("fills", 0), TP("control", 0)
    assert await r.resume_points([signals], {signals: 40}) == {}  # no state yet: the committed offset
    state = initial_state("main", r.limits)
    state.offsets = {"signals:0": 7, "fills:0": 3}
    r.ctx.risk_table.data["main"] = state.to_dict()  # type: ignore[index]
    points = await r.resume_points([signals, fills, control], {signals: 40})
    assert points == {signals: ResumeAfter(7), fills: ResumeAfter(3)}  # control: never applied from


async def test_signals_are_decided_in_event_time_across_features_partitions_whoever_sent_them() -> None:
    """Two workers' models: partition 1's signal reaches `signals` before partition 0's older one (a calm
    run may have them the other way round). Risk holds both until both partitions have passed them, then
    decides the older first; the state records `signals` as applied only before what it still holds, and
    a worker that takes over reads the rest again without deciding anything twice."""
    settings = load_settings(database_url=None, redis_url=None, risk_fill_wait_ms=60_000, topic_partitions=2)
    r = RiskRunner(context(settings))
    await r.decide_batch([signal_event(0, "sig:late", 2_000, "b", 1), progress_event(1, 1, 2_001)])
    assert r.ctx.topics.orders_topic.sent == [] and r.merge.merge.held == 1  # type: ignore[attr-defined]
    assert state_of(r).offsets["signals:0"] == -1  # nothing applied: resumed from the start
    assert await r.resume_points([TP("signals", 0)], {}) == {TP("signals", 0): ResumeAt(0)}
    await r.decide_batch([signal_event(2, "sig:early", 1_500, "a", 0), progress_event(3, 0, 3_000)])
    sent = r.ctx.topics.orders_topic.sent  # type: ignore[attr-defined]
    assert [decode(Order, v).signal_id for _, v, _ in sent] == ["sig:early"]
    assert [e.message.offset for e in r.barrier.held] == [0]  # sig:late waits for sig:early's fill
    assert state_of(r).offsets["signals:0"] == -1
    # The worker dies; the next one restores the saved state and reads `signals` from its start again.
    successor = RiskRunner(context(settings))
    successor.ctx.risk_table.data["main"] = r.ctx.risk_table.data["main"]  # type: ignore[index]
    fill = Event(Message("fills", 0, 0, b"main", encode(fill_for(decode(Order, sent[0][1])))))
    again = [signal_event(0, "sig:late", 2_000, "b", 1), progress_event(1, 1, 2_001)]
    again += [signal_event(2, "sig:early", 1_500, "a", 0), progress_event(3, 0, 3_000), fill]
    await successor.decide_batch(again)
    resent = successor.ctx.topics.orders_topic.sent  # type: ignore[attr-defined]
    # sig:early decided once: its order again is the saved outbox's (same id, not acked when the worker died)
    assert [decode(Order, v).signal_id for _, v, _ in resent] == ["sig:early", "sig:late"]
    assert decode(Order, resent[0][1]) == decode(Order, sent[0][1])
    assert state_of(successor).offsets["signals:0"] == 3 and successor.merge.merge.held == 0
