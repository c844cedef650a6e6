"""A batch that fails at a side-effect boundary leaves nothing half-applied: read again (as the rewind makes
the log deliver it), every signal is decided once and every snapshot scored once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from agent_fakes import Event, context, events
from faust.types import TP
from test_risk_runner import runner, signal_event, state_of
from test_runners import market, settings, snapshots_of

from agents.model import ModelRunner
from agents.risk import RiskRunner
from core.faults import FaultInjector
from streams.codec import encode


def faulty(r: RiskRunner, rates: dict[str, float]) -> FaultInjector:
    faults = FaultInjector(rates, seed=1)
    r.faults = faults
    r.recovery.first_backoff_s = 0.0
    return faults


def sent_orders(r: RiskRunner) -> list[bytes]:
    return [v for _, v, _ in r.ctx.topics.orders_topic.sent]  # type: ignore[attr-defined]


async def test_a_risk_batch_failing_while_deciding_applies_nothing_and_is_decided_once_when_read_again() -> (
    None
):
    r = runner()
    faults = faulty(r, {"risk.decide": 1.0})
    batch = [signal_event(0, "sig:a", 1_000)]
    r.barrier.held = [signal_event(9, "sig:held", 900)]  # held for a fill: read again after the rewind too
    await r.decide_or_rewind(batch)
    assert sent_orders(r) == [] and "main" not in r.ctx.risk_table.data  # type: ignore[operator]
    assert r.barrier.held == [] and r.recovery.failures == 1 and faults.fired == {"risk.decide": 1}
    faults.rates["risk.decide"] = 0.0
    await r.decide_or_rewind(batch)  # the log delivers it again from the state's applied offset
    await r.decide_or_rewind(batch)  # and once more (a redelivery): applied once
    assert len(sent_orders(r)) == 1 and state_of(r).offsets == {"signals:0": 0}
    assert r.recovery.streak == 0


async def test_a_risk_batch_that_fails_before_its_outbox_is_sent_sends_it_with_the_next_batch() -> None:
    r = runner()
    faults = faulty(r, {"risk.publish": 1.0})
    await r.decide_or_rewind([signal_event(0, "sig:a", 1_000)])
    assert sent_orders(r) == [] and len(state_of(r).outbox) == 1  # saved with its decision, not sent
    faults.rates["risk.publish"] = 0.0
    await r.decide_or_rewind([signal_event(0, "sig:a", 1_000)])  # resumed after the applied offset 0
    assert len(sent_orders(r)) == 1 and state_of(r).decided == 1
    await r.decide_or_rewind([])  # acked: out of the saved outbox, not sent again
    assert len(sent_orders(r)) == 1 and state_of(r).outbox == []


async def test_an_outbox_a_failed_batch_saved_goes_out_without_a_next_input() -> None:
    """The market may go quiet after the failure: the timer that looks at held signals sends it."""
    r = runner()
    faults = faulty(r, {"risk.publish": 1.0})
    r.ctx.app.consumer.assignment = lambda: {TP("signals", 0)}  # type: ignore[attr-defined,method-assign]
    await r.decide_or_rewind([signal_event(0, "sig:a", 1_000)])
    assert sent_orders(r) == [] and r.outbox_waiting()
    faults.rates["risk.publish"] = 0.0
    await r.decide_held(time.monotonic())  # no input arrives: the timer's tick
    assert len(sent_orders(r)) == 1 and state_of(r).decided == 1
    await r.decide_held(time.monotonic())  # acked: out of the saved outbox, not sent again
    assert len(sent_orders(r)) == 1 and not r.outbox_waiting() and state_of(r).outbox == []
    await r.decide_held(time.monotonic())  # nothing left to send: nothing sent again
    assert len(sent_orders(r)) == 1


def model_batch() -> list[Event]:
    s = settings()
    snaps = snapshots_of(market(4000), s.snapshot_interval_ms)
    return events("features", 1, [(x.pair.encode(), encode(x)) for x in snaps])


async def signals_without_faults(batch: list[Event]) -> list[bytes]:
    clean = ModelRunner(context(settings()))
    await clean.process(batch)
    await clean.release(10**15)
    return [v for _, v, _ in clean.ctx.topics.signals_topic.sent]  # type: ignore[attr-defined]


async def test_signals_the_broker_refused_are_sent_again_until_they_go_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = model_batch()
    want = await signals_without_faults(batch)
    monkeypatch.setattr("agents.model.PUBLISH_FIRST_BACKOFF_S", 0.0)
    r = ModelRunner(context(settings()))
    r.ctx.app.consumer.assignment = lambda: {TP(r.features_topic, 1)}  # type: ignore[attr-defined,method-assign]
    r.faults = FaultInjector({"model.publish": 0.5}, seed=2)
    await r.process(batch)
    await r.release(10**15)
    assert r.faults.fired["model.publish"] > 0 and r.recovery.failures == 0
    assert [v for _, v, _ in r.ctx.topics.signals_topic.sent] == want  # type: ignore[attr-defined]


async def test_signals_of_a_partition_revoked_meanwhile_are_not_retried_forever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its transactional producer is gone: the batch fails (forgotten, rewound) instead of holding the agent;
    the partition's next owner replays it from the checkpoint."""
    monkeypatch.setattr("agents.model.PUBLISH_FIRST_BACKOFF_S", 0.0)
    r = ModelRunner(context(settings()))  # the fake consumer is assigned nothing: revoked
    r.recovery.first_backoff_s = 0.0
    r.faults = FaultInjector({"model.publish": 1.0})
    await asyncio.wait_for(r.process(model_batch()), 10)
    assert r.recovery.failures == 1 and r.applied == {} and r.merge.held == 0


async def test_a_model_batch_that_fails_while_scoring_forgets_its_models_and_is_scored_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = model_batch()
    want = await signals_without_faults(batch)
    r = ModelRunner(context(settings()))
    r.recovery.first_backoff_s = 0.0
    step, calls = r.models.step, [0]

    def failing_step(snapshot: Any) -> Any:
        calls[0] += 1
        if calls[0] == 40:
            raise RuntimeError("a bug in a model")
        return step(snapshot)

    monkeypatch.setattr(r.models, "step", failing_step)
    await r.process(batch)
    assert r.recovery.failures == 1 and r.applied == {} and r.merge.held == 0  # all forgotten
    await r.process(batch)  # the rewind makes the log deliver it again from the checkpoint (none: 0)
    await r.release(10**15)
    got = [v for _, v, _ in r.ctx.topics.signals_topic.sent]  # type: ignore[attr-defined]
    # what went out before the failure goes out again, same contents (risk decides an id once); none missing
    assert list(dict.fromkeys(got)) == want
