"""The risk agent's per-message step: offsets guard re-deliveries, signal ids guard re-emissions."""

from __future__ import annotations

from agents.risk import apply_message, limits
from agents.risk_rules import RiskState
from market.tokens import USDC, WSOL
from streams.codec import encode
from streams.records import Order, PoolState, Rejection, Signal


def signal(sid: str, direction: int = 1, price: float = 150.0) -> Signal:
    pool = PoolState(
        venue="raydium",
        pool="P1",
        base_mint=WSOL,
        quote_mint=USDC,
        base_decimals=9,
        quote_decimals=6,
        base_reserve=20_000 * 10**9,
        quote_reserve=int(20_000 * price * 10**6),
        fee_bps=25,
        ts_ms=1_000,
    )
    return Signal(
        id=sid,
        pair="SOL/USDC",
        ts_ms=1_000,
        origin_ms=1_000,
        price=price,
        direction=direction,
        confidence=0.9,
        expected_return=0.01,
        horizon_ms=10_000,
        volatility=1e-4,
        model="m",
        strategy="s",
        pools=[pool],
    )


def test_one_decision_per_signal_even_when_re_emitted_at_a_new_offset() -> None:
    state = RiskState.initial("main", limits, WSOL, USDC)
    first = apply_message(state, "signals", 0, 10, encode(signal("sig:a")), now_ms=5)
    assert len(first) == 1 and isinstance(first[0], Order | Rejection)
    assert apply_message(state, "signals", 0, 10, encode(signal("sig:a")), now_ms=6) == []  # re-delivered
    assert apply_message(state, "signals", 0, 11, encode(signal("sig:a")), now_ms=7) == []  # re-emitted
    second = apply_message(state, "signals", 0, 12, encode(signal("sig:b")), now_ms=8)
    assert len(second) == 1 and second[0].signal_id == "sig:b"
