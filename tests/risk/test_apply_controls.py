"""The risk step (`risk.apply`) for the inputs the agent gained: strategy.params, rebalance, cancels."""

from __future__ import annotations

from market.tokens import USDC, WSOL
from risk.alerts import rebalance_ended
from risk.codes import STRATEGY_DISABLED, reason_code
from risk.state import RiskState
from streams.codec import encode
from streams.records import Control, ManualRequest, MintInfo, Order, Rejection, StrategyParams
from tests.risk.test_apply import apply_message, limits, signal


def params(enabled: bool, max_position_pct: float = 5.0) -> StrategyParams:
    return StrategyParams(
        name="s",
        enabled=enabled,
        max_position_pct=max_position_pct,
        stop_loss_pct=2.0,
        take_profit_pct=5.0,
        grid_levels=0,
        pairs=[],
        updated_by="w",
        updated_ms=1,
    )


def test_the_next_decisions_use_the_published_strategy_params() -> None:
    state = RiskState.initial("main", limits, WSOL, USDC)
    assert apply_message(state, "strategy.params", 0, 0, encode(params(False)), now_ms=1) == []
    (rejected,) = apply_message(state, "signals", 0, 0, encode(signal("sig:a")), now_ms=2)
    assert isinstance(rejected, Rejection) and reason_code(rejected.reason) == STRATEGY_DISABLED
    apply_message(state, "strategy.params", 0, 1, encode(params(True, max_position_pct=1.0)), now_ms=3)
    (order,) = apply_message(state, "signals", 0, 1, encode(signal("sig:b")), now_ms=4)
    assert isinstance(order, Order)
    # 1 % of equity (10 000 USDC + 50 SOL at 150 = 17 500): 175 USDC, not the portfolio's 5 % (875).
    assert order.amount_in == 175_000_000 and "1% of 17500.00" in order.reason


def test_a_rebalance_control_plans_on_the_next_price_and_reports_its_end() -> None:
    state = RiskState.initial("main", limits, WSOL, USDC)
    (no_position,) = apply_message(state, "signals", 0, 0, encode(signal("sig:a", -1)), now_ms=1)
    assert isinstance(no_position, Rejection)
    control = Control(
        id="ctl:r", action="rebalance", reason="", flatten=False, ts_ms=1, targets={"SOL/USDC": 0.02}
    )
    assert apply_message(state, "control", 0, 0, encode(control), now_ms=2) == []  # no pools known yet
    _, order = apply_message(state, "signals", 0, 1, encode(signal("sig:b", -1)), now_ms=3)
    # 2 % of 17 500 (10 000 USDC + 50 SOL at 150) = 350 USDC.
    assert isinstance(order, Order) and order.id == "rebal:ctl:r:SOL/USDC:1"
    assert (order.side, order.amount_in) == ("buy", 350_000_000)
    assert rebalance_ended({}, state) is None
    state.rebalance["deadline_ts_ms"] = 0  # as if the deadline had passed, with the slice still in flight
    mint = MintInfo(mint="x", decimals=6, mint_authority=None, freeze_authority=None, ts_ms=0)
    apply_message(state, "raw.mints", 0, 0, encode(mint), now_ms=4)
    level, code, message = rebalance_ended({}, state) or ("", "", "")
    assert (level, code) == ("warning", "rebalance_incomplete") and "ctl:r: 1 slices" in message


def test_a_cancel_request_is_left_to_the_sink() -> None:
    state = RiskState.initial("main", limits, WSOL, USDC)
    request = ManualRequest(
        id="manual:1", action="cancel", portfolio="main", pair="", order_id="ord:x", wallet="w", ts_ms=1
    )
    assert apply_message(state, "control.manual", 0, 0, encode(request), now_ms=1) == []
    assert state.offsets == {"control.manual:0": 0}
