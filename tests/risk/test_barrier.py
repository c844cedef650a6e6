"""Which inputs of a batch apply first, and which orders a signal waits for (the agent's FillBarrier)."""

from __future__ import annotations

from risk_factories import fresh

import risk as rr


def test_priority_inputs_then_the_rest_then_the_signals_each_in_log_order() -> None:
    batch = [
        ("signals", 0),
        ("fills", 0),
        ("control", 0),
        ("signals", 1),
        ("raw.mints", 0),
        ("strategy.params", 0),
        ("control.manual", 0),
        ("fills", 1),
    ]
    now, signals = rr.in_apply_order(batch, lambda item: item[0])
    assert now == [
        ("control", 0),
        ("strategy.params", 0),
        ("control.manual", 0),
        ("fills", 0),
        ("raw.mints", 0),
        ("fills", 1),
    ]
    assert signals == [("signals", 0), ("signals", 1)]
    assert set(rr.PRIORITY_TOPICS) == {"control", "control.manual", "strategy.params"}


def test_a_signal_waits_for_every_pending_order_not_given_up_on() -> None:
    state = fresh()
    assert rr.awaited_fills(state) == []
    state.pending["ord:a"] = rr.PendingOrder("SOL/USDC", "buy", state.usdc_mint, 1, 1, "entry")
    state.pending["ord:b"] = rr.PendingOrder("SOL/USDC", "sell", state.sol_mint, 1, 1, "exit")
    assert rr.awaited_fills(state) == ["ord:a", "ord:b"]
    assert rr.awaited_fills(state, {"ord:a"}) == ["ord:b"]
