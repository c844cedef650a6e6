"""Two owners of one risk state (a worker paused beyond its session, and the one the group gave the risk
inputs to): the stale owner's decisions are refused where effects are written, the new owner's go on."""

from __future__ import annotations

import math
import time

import asyncpg
import pytest
from agent_fakes import Event, Message, context
from faust.types import TP
from test_reconciler import DatabaseConnections
from test_risk_runner import signal_event

from agents.reconcile import RiskReconciler
from agents.risk import RiskRunner
from core.errors import StaleOwner
from core.faults import FaultInjector
from core.settings import load_settings
from risk.fencing import EPOCH_HEADER, epoch_of
from risk.state import RiskState
from store.execution import ExecutionSink
from streams.codec import decode, encode
from streams.records import Order
from venues.paper.execution import PaperVenue


def owner(url: str, pool: asyncpg.Pool) -> RiskRunner:
    s = load_settings(database_url=url, redis_url=None, risk_fill_wait_ms=0)
    r = RiskRunner(context(s))
    r.ctx.connections = DatabaseConnections(pool)  # type: ignore[assignment]
    return r


def orders_of(r: RiskRunner) -> list[tuple[Order, int | None]]:
    topic = r.ctx.topics.orders_topic
    return [(decode(Order, v), epoch_of(h)) for (_, v, _), h in zip(topic.sent, topic.headers, strict=True)]  # type: ignore[attr-defined]


async def decided(r: RiskRunner) -> int:
    return len(orders_of(r))


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_: float) -> None:
        return None

    monkeypatch.setattr("agents.risk.asyncio.sleep", instant)


async def test_a_stale_owner_is_refused_by_itself_the_audit_and_the_sink(
    migrated_url: str, migrated_pool: asyncpg.Pool
) -> None:
    a, b = owner(migrated_url, migrated_pool), owner(migrated_url, migrated_pool)
    await a.claim_owner()
    await a.decide_or_rewind([signal_event(0, "sig:a", 1_000)])
    [(early, early_epoch)] = orders_of(a)
    assert early_epoch == 1 and a.ctx.topics.orders_topic.headers[0] == {EPOCH_HEADER: b"1"}  # type: ignore[attr-defined]
    await a.decide_or_rewind([])  # the order's send acked: out of the saved outbox (`agents.outbox`)
    assert RiskState.from_dict(a.ctx.risk_table.data["main"]).outbox == []  # type: ignore[attr-defined]

    await b.claim_owner()  # the group gave the risk inputs to b; a was paused meanwhile
    assert b.lease.epoch == 2

    # a, its lease still fresh (CPU-starved, not paused): the audit's transaction refuses its decisions
    before = dict(a.ctx.risk_table.data)  # type: ignore[attr-defined]
    await a.decide_or_rewind([signal_event(1, "sig:b", 2_000)])
    assert await decided(a) == 1 and dict(a.ctx.risk_table.data) == before  # type: ignore[attr-defined]
    # a, paused beyond its lease: it asks before writing anything, and stops
    a.lease.confirmed_at = -math.inf
    with pytest.raises(StaleOwner):
        await a.check_owner()
    await a.decide_or_rewind([signal_event(1, "sig:b", 2_000)])
    assert await decided(a) == 1 and dict(a.ctx.risk_table.data) == before  # type: ignore[attr-defined]
    rows = await migrated_pool.fetch("SELECT signal_id FROM risk_decisions ORDER BY signal_id")
    assert [r["signal_id"] for r in rows] == ["sig:a"]

    # the sink executes a's order decided before b's claim; b applies its fill and decides the next signal
    sink = ExecutionSink(migrated_pool, consumer="execution", portfolio="main", venue=PaperVenue())
    await sink.ensure_wallet({early.pool_state.quote_mint: 10**12, early.pool_state.base_mint: 0})
    [fill] = await sink.apply("orders", 0, [(0, early)], 3_000, {early.id: 1})
    b.ctx.risk_table.data.update(before)  # type: ignore[attr-defined]  # recovered from the changelog
    # (from another strategy: a's strategy already holds its capped position of the pair)
    await b.decide_or_rewind(
        [Event(Message("fills", 0, 0, b"main", encode(fill))), signal_event(1, "sig:b", 2_000, strategy="t")]
    )
    [(late, late_epoch)] = orders_of(b)
    assert late_epoch == 2
    # an order of a decided after b's claim (a stale owner that got one out all the same) is refused
    stale = Order(
        **{**early.asdict(), "id": "ord:stale", "signal_id": "sig:stale", "decided_ms": late.decided_ms}
    )
    fills = await sink.apply("orders", 0, [(1, stale), (2, late)], 4_000, {stale.id: 1, late.id: 2})
    assert [f.order_id for f in fills] == [late.id]
    assert await migrated_pool.fetchval("SELECT count(*) FROM orders WHERE order_id = 'ord:stale'") == 0
    assert await sink.next_offsets("orders") == {0: 3}
    # a batch of the stale owner's orders only is refused whole, and its offsets count as applied (it
    # raised IndexError, and the agent rewound to it forever)
    stale2 = Order(**{**stale.asdict(), "id": "ord:stale2", "signal_id": "sig:stale2"})
    assert await sink.apply("orders", 0, [(3, stale2)], 5_000, {stale2.id: 1}) == []
    assert await sink.next_offsets("orders") == {0: 4} and sink.applied_next == {("orders", 0): 4}
    for r in (a, b):
        if r.audit._pool is not None:
            await r.audit._pool.close()


async def test_a_stale_owner_neither_reconciles_nor_saves_a_batch_that_decided_nothing(
    migrated_url: str, migrated_pool: asyncpg.Pool
) -> None:
    """The audit fences batches with decisions; one of fills only, and a reconciliation, ask the lease."""
    a, b = owner(migrated_url, migrated_pool), owner(migrated_url, migrated_pool)
    await a.claim_owner()
    await a.decide_or_rewind([signal_event(0, "sig:a", 1_000)])
    await b.claim_owner()
    before = dict(a.ctx.risk_table.data)  # type: ignore[attr-defined]
    a.lease.confirmed_at = -math.inf  # resumed beyond its lease
    with pytest.raises(StaleOwner):
        await RiskReconciler(a.ctx, a).run(10_000.0)
    mint = Event(Message("raw.mints", 0, 0, b"m", b'{"mint": "x"}'))
    await a.decide_or_rewind([mint])
    assert dict(a.ctx.risk_table.data) == before  # type: ignore[attr-defined]
    if a.audit._pool is not None:
        await a.audit._pool.close()


async def test_a_worker_given_the_risk_inputs_writes_nothing_before_its_claim_and_recovery(
    migrated_url: str, migrated_pool: asyncpg.Pool
) -> None:
    """`make chaos`: the held-signals timer of a worker just given the risk inputs (the consumer's assignment
    changed, Faust had not yet said so nor recovered the table) wrote the standby's copy it held, with epoch
    0: the state went back 1,000 signals, which were decided again (duplicates, and a re-decided order that
    waited 120 s for a fill already applied)."""
    a = owner(migrated_url, migrated_pool)
    a.ctx.app.consumer.assignment = lambda: {TP("signals", 0)}  # type: ignore[attr-defined,method-assign]
    await a.claim_owner()
    a.faults = FaultInjector({"risk.publish": 1.0}, seed=1)  # an outbox left saved: the timer would send it
    a.recovery.first_backoff_s = 0.0
    await a.decide_or_rewind([signal_event(0, "sig:a", 1_000)])
    a.faults.rates["risk.publish"] = 0.0
    assert a.outbox_waiting() and await decided(a) == 0
    a.lease.released()  # the inputs were revoked, then given back: assigned, not yet claimed
    a.ctx.app.rebalancing = True  # type: ignore[attr-defined]
    before = dict(a.ctx.risk_table.data)  # type: ignore[attr-defined]
    await a.decide_held(time.monotonic())
    assert await decided(a) == 0 and dict(a.ctx.risk_table.data) == before  # type: ignore[attr-defined]
    a.ctx.app.rebalancing = False  # type: ignore[attr-defined]  # recovered, but the claim failed so far
    with pytest.raises(StaleOwner):
        await a.check_owner()
    await a.decide_or_rewind([signal_event(1, "sig:b", 2_000)])
    assert await decided(a) == 0 and dict(a.ctx.risk_table.data) == before  # type: ignore[attr-defined]
    await a.claim_owner()  # claimed: the saved outbox goes out, with the epoch that decided it
    await a.decide_held(time.monotonic())
    assert [e for _, e in orders_of(a)] == [1]
    if a.audit._pool is not None:
        await a.audit._pool.close()
