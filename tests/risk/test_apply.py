"""The risk agent's per-message step (`risk.apply`): offsets guard re-deliveries, signal ids re-emissions."""

from __future__ import annotations

from core.config import get_settings
from market.tokens import USDC, WSOL
from risk import apply as risk_apply
from risk.limits import RiskLimits
from risk.state import RiskState
from streams.codec import encode
from streams.records import Order, PoolState, Rejection, Signal

limits = RiskLimits.from_settings(get_settings())  # a worker's limits: its settings'


def apply_message(
    state: RiskState, topic: str, partition: int, offset: int, value: bytes | None, now_ms: int
) -> list[Order | Rejection]:
    return risk_apply.apply_message(state, topic, partition, offset, value, now_ms, limits)


def signal(sid: str, direction: int = 1, price: float = 150.0, ts_ms: int = 1_000) -> Signal:
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
        ts_ms=ts_ms,
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


def test_a_replay_longer_than_the_recent_ids_is_still_decided_once() -> None:
    """A model restored from an old checkpoint re-emits more signals than `recent_signals` keeps."""
    from risk.state import RECENT_IDS_KEPT

    state = RiskState.initial("main", limits, WSOL, USDC)
    n = RECENT_IDS_KEPT + 200
    for i in range(n):
        assert len(apply_message(state, "signals", 0, i, encode(signal(f"sig:{i}", ts_ms=1_000 + i)), 5)) >= 1
    assert "sig:0" not in state.recent_signals  # forgotten by id...
    for i in range(n):  # ...the replay at new offsets, oldest first, publishes nothing
        assert apply_message(state, "signals", 0, n + i, encode(signal(f"sig:{i}", ts_ms=1_000 + i)), 6) == []
    newer = apply_message(state, "signals", 0, 2 * n, encode(signal("sig:new", ts_ms=1_000 + n)), 7)
    assert len(newer) >= 1 and newer[-1].signal_id == "sig:new"
    restored = RiskState.from_dict(state.to_dict())
    assert restored.signal_marks == state.signal_marks
    assert restored.signal_mark_ids == state.signal_mark_ids


def test_the_newest_signal_of_a_strategy_is_decided_once_after_other_signals_evict_its_id() -> None:
    """Chaos run (session 8): a warm-up grid signal, the newest of its pair and strategy, re-emitted by a
    restarted model minutes later, after other strategies' signals had pushed its id out of
    `recent_signals`, was decided a second time (an order, then a rejection)."""
    from risk.state import RECENT_IDS_KEPT

    state = RiskState.initial("main", limits, WSOL, USDC)
    grid = signal("sig:SOL/USDC@1000:grid", ts_ms=1_000)
    grid.strategy = "grid"
    assert len(apply_message(state, "signals", 0, 0, encode(grid), 5)) >= 1
    for i in range(1, RECENT_IDS_KEPT + 2):  # another strategy speaks on every later snapshot
        apply_message(state, "signals", 0, i, encode(signal(f"sig:{i}", ts_ms=1_000 + i)), 5)
    assert grid.id not in state.recent_signals
    assert apply_message(state, "signals", 0, RECENT_IDS_KEPT + 5, encode(grid), 6) == []


def test_control_and_mint_messages_reach_the_state() -> None:
    from streams.records import Control, MintInfo

    state = RiskState.initial("main", limits, WSOL, USDC)
    halt = Control(id="c1", action="halt", reason="ops", flatten=False, ts_ms=1)
    assert apply_message(state, "control", 0, 0, encode(halt), now_ms=1) == []
    (rej,) = apply_message(state, "signals", 0, 0, encode(signal("sig:h")), now_ms=2)
    assert isinstance(rej, Rejection) and rej.reason == "halted: manual: ops"
    resume = Control(id="c2", action="resume", reason="", flatten=False, ts_ms=2)
    apply_message(state, "control", 0, 1, encode(resume), now_ms=3)
    assert not state.halted
    bad = MintInfo(mint=WSOL, decimals=9, mint_authority="Auth", freeze_authority=None, ts_ms=1_000)
    apply_message(state, "raw.mints", 0, 0, encode(bad), now_ms=4)
    (rej,) = apply_message(state, "signals", 0, 1, encode(signal("sig:m")), now_ms=5)
    assert rej.reason.startswith("mint_authority:")


def test_every_decision_has_an_audit_row() -> None:
    from risk.audit import audit_row

    state = RiskState.initial("main", limits, WSOL, USDC)
    (order,) = apply_message(state, "signals", 0, 0, encode(signal("sig:a")), now_ms=5)
    row = audit_row("main", order)
    assert (row.decision_id, row.signal_id, row.order_id) == (order.id, "sig:a", order.id)
    assert row.action in ("approve", "resize") and row.reason == order.reason
    (rej,) = apply_message(state, "signals", 0, 1, encode(signal("sig:a2", price=-1.0)), now_ms=6)
    assert audit_row("main", rej).action == "reject" and audit_row("main", rej).order_id is None
    exit_order = order.derive(
        id="exit:SOL/USDC:5:stop_loss", signal_id="", kind="stop_loss", reason="stop_loss: x"
    )
    assert audit_row("main", exit_order).signal_id == "exit:SOL/USDC:5:stop_loss"


def test_a_manual_close_sells_the_position_once() -> None:
    from streams.records import ManualRequest
    from tests.risk.risk_factories import fill_for

    state = RiskState.initial("main", limits, WSOL, USDC)
    buys = [
        d
        for d in apply_message(state, "signals", 0, 1, encode(signal("sig:x")), now_ms=5)
        if isinstance(d, Order)
    ]
    assert buys and buys[0].side == "buy"
    apply_message(state, "fills", 0, 1, encode(fill_for(buys[0])), now_ms=6)
    assert "SOL/USDC" in state.positions

    def close(offset: int) -> list[Order | Rejection]:
        request = ManualRequest(
            id=f"manual:{offset}",
            action="close",
            portfolio="main",
            pair="SOL/USDC",
            order_id="",
            wallet="W",
            ts_ms=7,
        )
        return apply_message(state, "control.manual", 0, offset, encode(request), now_ms=7)

    first = close(1)
    assert len(first) == 1 and isinstance(first[0], Order)
    assert (first[0].side, first[0].kind) == ("sell", "manual")
    assert first[0].amount_in == state.positions["SOL/USDC"].base_amount
    assert close(2) == []  # a sell is already in flight
    apply_message(state, "fills", 0, 2, encode(fill_for(first[0])), now_ms=8)
    assert close(3) == []  # nothing left to sell
