"""Reconciliation's rules on plain values: what differs from the database, and when it is acted on."""

from __future__ import annotations

from market.tokens import USDC
from risk.apply import apply_message
from risk.fills import apply_fill
from risk.reconcile import RECONCILED, OrderRecord, reconcile
from risk.state import RiskState, initial_state
from streams.codec import encode
from streams.records import Order
from tests.risk.risk_factories import fill_for
from tests.risk.test_apply import limits, signal


def with_an_order() -> tuple[RiskState, Order]:
    """A state with one buy pending, decided from a signal as the risk agent does."""
    state = initial_state("main", limits)
    out = apply_message(state, "signals", 0, 0, encode(signal("sig:a", ts_ms=1_000)), 1_000, limits)
    orders = [d for d in out if isinstance(d, Order)]
    assert len(orders) == 1 and list(state.pending) == [orders[0].id]
    return state, orders[0]


def test_an_executed_order_whose_fill_never_came_is_applied_from_the_database_after_the_grace() -> None:
    state, order = with_an_order()
    fill = fill_for(order)
    records = {order.id: OrderRecord("filled", fill)}
    suspects: dict[str, float] = {}
    first = reconcile(state, records, {}, suspects, 100.0, grace_s=30, timeout_s=300)
    assert first.fills == [] and [(d.kind, d.action) for d in first.differences] == [
        ("pending_executed", "watching")
    ]
    later = reconcile(state, records, {}, suspects, 131.0, grace_s=30, timeout_s=300)
    assert later.fills == [fill] and [(d.kind, d.action) for d in later.acted] == [
        ("pending_executed", "repaired")
    ]
    twin, _ = with_an_order()
    apply_fill(twin, fill, limits)
    apply_fill(state, later.fills[0], limits)
    apply_fill(state, fill, limits)  # the record arriving afterwards: the same fill id, a no-op
    assert state.pending == {} and state.to_dict() == twin.to_dict()
    assert reconcile(state, records, {order.pair: state.positions[order.pair].base_amount}, suspects, 200.0,
                     grace_s=30, timeout_s=300).differences == []  # fmt: skip
    assert suspects == {}


def test_an_order_the_sink_never_recorded_is_released_after_the_timeout_and_its_late_fill_still_counts() -> (
    None
):
    state, order = with_an_order()
    suspects: dict[str, float] = {}
    assert reconcile(state, {}, {}, suspects, 0.0, grace_s=30, timeout_s=300).fills == []
    assert reconcile(state, {}, {}, suspects, 299.0, grace_s=30, timeout_s=300).fills == []
    result = reconcile(state, {}, {}, suspects, 300.0, grace_s=30, timeout_s=300)
    [release] = result.fills
    assert (release.status, release.reason, release.order_id) == ("failed", RECONCILED, order.id)
    assert release.id != fill_for(order).id
    apply_fill(state, release, limits)
    assert state.pending == {} and state.balances[USDC] == initial_state("main", limits).balances[USDC]
    apply_fill(state, fill_for(order), limits)  # the sink executed it after all: the database's truth
    assert state.positions[order.pair].base_amount > 0


def test_an_order_the_sink_holds_without_outcome_is_alerted_after_the_timeout() -> None:
    state, order = with_an_order()
    suspects: dict[str, float] = {}
    reconcile(state, {order.id: OrderRecord("submitted")}, {}, suspects, 0.0, grace_s=30, timeout_s=300)
    result = reconcile(
        state, {order.id: OrderRecord("submitted")}, {}, suspects, 301.0, grace_s=30, timeout_s=300
    )
    assert result.fills == [] and [(d.kind, d.action) for d in result.acted] == [("pending_stuck", "alerted")]


def test_a_position_differing_from_the_database_is_alerted_only_with_nothing_in_flight() -> None:
    state, order = with_an_order()
    suspects: dict[str, float] = {}
    assert reconcile(state, {}, {order.pair: 5}, suspects, 0.0, grace_s=30, timeout_s=300).acted == []
    state.pending.clear()  # nothing in flight: the difference counts
    reconcile(state, {}, {order.pair: 5}, suspects, 100.0, grace_s=30, timeout_s=300)
    result = reconcile(state, {}, {order.pair: 5}, suspects, 131.0, grace_s=30, timeout_s=300)
    assert [(d.kind, d.key, d.action) for d in result.acted] == [("position", order.pair, "alerted")]
