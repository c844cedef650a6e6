"""Risk sizes a signal by its strategy's weight (the bandit's allocation travels on the signal)."""

from __future__ import annotations

from streams.records import Order


def test_risk_sizes_a_buy_by_its_strategy_weight() -> None:
    """The one risk change: the signal-driven caps scale with the weight (5 % of 17 500 USDC = 875 USDC)."""
    import risk as rr
    from tests.risk.risk_factories import fresh, signal

    full = rr.decide(fresh(), signal("JUP/USDC", 1.0, sid="a"), rr.RiskLimits(), now_ms=99)
    sig = signal("JUP/USDC", 1.0, sid="b")
    sig.weight = 0.2
    part = rr.decide(fresh(), sig, rr.RiskLimits(), now_ms=99)
    assert isinstance(full, Order) and isinstance(part, Order)
    assert full.amount_in == 875_000_000
    assert part.amount_in == 175_000_000
