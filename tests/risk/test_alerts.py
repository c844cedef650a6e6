"""What the agent alerts about after a batch: halts that started, and how a rebalance ended."""

from __future__ import annotations

from risk_factories import fresh

import risk as rr


def test_only_halts_that_started_since_before_raise_an_alert() -> None:
    state = fresh()
    state.halts = {"manual": "manual: operator", "drawdown": "drawdown 12% > 10%"}
    state.venue_halts = {"orca": "5 of the last 5 fills failed > 0.5"}
    alerts = rr.new_halts({"manual": "manual: operator"}, {}, state)
    assert alerts == [
        ("risk.halt.drawdown", "drawdown 12% > 10%"),
        ("risk.venue_halt.orca", "5 of the last 5 fills failed > 0.5"),
    ]
    assert rr.new_halts(dict(state.halts), dict(state.venue_halts), state) == []


def test_a_fresh_portfolio_starts_from_the_paper_wallet_in_wrapped_sol_and_usdc() -> None:
    state = rr.initial_state("main", rr.RiskLimits())
    assert state.to_dict() == fresh().to_dict()
