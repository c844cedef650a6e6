"""Rebalancing, per-strategy parameters and idempotent controls, with hand-computed numbers.

Fresh paper wallet: 10 000 USDC + 50 SOL at the 150 USDC fallback = 17 500 USDC of equity. JUP/USDC at
1.0 on a pool of 1e12 / 1e12 raw (1 M USDC each side) unless a test says otherwise.
"""

from __future__ import annotations

import math

from risk_factories import fill_for, fresh, pool, signal

import risk as rr
from risk import rebalance as rb
from store.order_gate import refusals
from streams.records import Control, Order, Rejection, StrategyParams

LIMITS = rr.RiskLimits()


def rebalance(targets: dict[str, float], cid: str = "ctl:r1", ts_ms: int = 1) -> Control:
    return Control(id=cid, action="rebalance", reason="", flatten=False, ts_ms=ts_ms, targets=targets)


def control(action: str, cid: str, ts_ms: int) -> Control:
    return Control(id=cid, action=action, reason="test", flatten=False, ts_ms=ts_ms)


def price_tick(state: rr.RiskState, depth: float = 1_000_000.0, ts_ms: int = 1_000) -> None:
    """A JUP/USDC price event (what a signal does first): learns the pair, its price and its pools."""
    assert rr.exits(state, "JUP/USDC", 1.0, ts_ms, [pool("JUP/USDC", 1.0, depth)], LIMITS, now_ms=5) == []


def test_buy_toward_the_target_then_done_on_the_fill() -> None:
    state = fresh()
    assert rr.apply_control(state, rebalance({"JUP/USDC": 0.04}), LIMITS)
    assert rb.plan_rebalance(state, LIMITS, now_ms=5) == []  # not priced yet: nothing to do
    assert state.rebalance["blocked"] == {"JUP/USDC": "no price for the pair yet"}
    price_tick(state)
    (order,) = rb.plan_rebalance(state, LIMITS, now_ms=7)
    # 4 % of 17 500 = 700 USDC; impact of 700 USDC on 1 M: fee 1 750 000, net 698 250 000,
    # out = floor(1e12 * net / (1e12 + net)) = 697 762 787 (6.98 bps, one slice); min out 1 % under.
    assert (order.id, order.side, order.kind) == ("rebal:ctl:r1:JUP/USDC:1", "buy", "rebalance")
    assert order.amount_in == 700_000_000 and order.min_amount_out == 690_785_159
    assert rr.reason_code(order.reason) == rr.REBALANCE
    assert rb.plan_rebalance(state, LIMITS, now_ms=8) == []  # its slice is in flight: wait for the fill
    rr.apply_fill(state, fill_for(order), LIMITS)
    assert rb.plan_rebalance(state, LIMITS, now_ms=9) == []
    # Equity 17 500 - 700 + 697.762787 = 17 497.762787; target 699.910511; residual 2.147724 < 87.49.
    result = state.rebalance_result
    assert state.rebalance == {} and result["outcome"] == rb.DONE and result["slices"] == 1
    assert result["residuals_usdc"] == {"JUP/USDC": 2.15}


def test_a_target_above_max_position_is_capped_and_says_so() -> None:
    state = fresh()
    rr.apply_control(state, rebalance({"JUP/USDC": 0.08}), LIMITS)
    price_tick(state)
    (order,) = rb.plan_rebalance(state, LIMITS, now_ms=7)
    assert order.amount_in == 875_000_000  # 5 % of 17 500, not 8 % (1 400)
    assert rr.reason_code(order.reason) == rr.REBALANCE_CAPPED
    assert "target 8% capped at max_position_pct 5%" in order.reason


def test_slices_keep_impact_within_the_limit_and_replan_on_each_fill() -> None:
    state = fresh()
    rr.apply_control(state, rebalance({"JUP/USDC": 0.04}), LIMITS)
    price_tick(state, depth=50_000.0)  # 100 000 USDC of liquidity: 700 USDC would move it 137.7 bps
    (first,) = rb.plan_rebalance(state, LIMITS, now_ms=7)
    # impact <= 100 bps <=> net / (50 000 + net) <= 1 %: net <= 505.050505 USDC, in <= net / 0.9975 =
    # 506.316296 USDC (the venue's floored integer output costs a few dozen raw units more).
    assert 506_316_196 <= first.amount_in <= 506_316_296
    assert rr.quote_pool(first.pool_state, "buy", first.amount_in).impact_bps <= 100.0
    assert rr.quote_pool(first.pool_state, "buy", first.amount_in + 1).impact_bps > 100.0
    rr.apply_fill(state, fill_for(first), LIMITS)
    (second,) = rb.plan_rebalance(state, LIMITS, now_ms=8)
    assert second.id == "rebal:ctl:r1:JUP/USDC:2" and 150_000_000 < second.amount_in < 210_000_000
    rr.apply_fill(state, fill_for(second, ts_ms=2_100), LIMITS)
    assert rb.plan_rebalance(state, LIMITS, now_ms=9) == []
    assert state.rebalance_result["outcome"] == rb.DONE and state.rebalance_result["slices"] == 2


def test_reductions_go_on_while_halted_but_buys_wait_until_the_deadline() -> None:
    state = fresh()
    rr.apply_control(state, rebalance({"JUP/USDC": 0.04}, "ctl:a", 1), LIMITS)
    price_tick(state)
    (buy,) = rb.plan_rebalance(state, LIMITS, now_ms=7)
    rr.apply_fill(state, fill_for(buy), LIMITS)
    rb.plan_rebalance(state, LIMITS, now_ms=8)
    rr.apply_control(state, control("halt", "ctl:h", 2), LIMITS)
    rr.apply_control(state, rebalance({"JUP/USDC": 0.0}, "ctl:b", 3), LIMITS)
    (sell,) = rb.plan_rebalance(state, LIMITS, now_ms=9)
    assert (sell.side, sell.amount_in) == ("sell", 697_762_787)  # the whole position, halt or not
    rr.apply_fill(state, fill_for(sell, ts_ms=2_500), LIMITS)
    assert rb.plan_rebalance(state, LIMITS, now_ms=10) == []
    assert state.rebalance_result["outcome"] == rb.DONE
    rr.apply_control(state, rebalance({"JUP/USDC": 0.02}, "ctl:c", 4), LIMITS)
    assert rb.plan_rebalance(state, LIMITS, now_ms=11) == []
    assert state.rebalance["blocked"]["JUP/USDC"].startswith("halted: manual: test")
    price_tick(state, ts_ms=2_500 + 30_000)  # the deadline: 30 s of event time after it started
    assert rb.plan_rebalance(state, LIMITS, now_ms=12) == []
    result = state.rebalance_result
    assert result["outcome"] == rb.INCOMPLETE and result["residuals_usdc"]["JUP/USDC"] > 300.0
    assert "halted" in result["blocked"]["JUP/USDC"]


def test_a_new_rebalance_supersedes_the_one_in_progress() -> None:
    state = fresh()
    rr.apply_control(state, rebalance({"JUP/USDC": 0.04}, "ctl:a", 1), LIMITS)
    rr.apply_control(state, rebalance({"JUP/USDC": 0.01}, "ctl:b", 2), LIMITS)
    assert state.rebalance_result["outcome"] == rb.SUPERSEDED and state.rebalance["id"] == "ctl:b"
    assert math.isclose(rb.capped_fraction(0.01, LIMITS)[0], 0.01)


def test_controls_apply_once_and_an_older_one_never_undoes_a_newer() -> None:
    state = fresh()
    halt = control("halt", "ctl:h", 2_000)
    assert rr.apply_control(state, halt, LIMITS) and state.halted
    assert not rr.apply_control(state, halt, LIMITS)  # the topic's copy after the Redis fast path
    assert not rr.apply_control(state, control("resume", "ctl:old", 1_000), LIMITS) and state.halted
    assert rr.apply_control(state, control("resume", "ctl:r", 3_000), LIMITS) and not state.halted
    again = rr.RiskState.from_dict(state.to_dict())
    assert not rr.apply_control(again, halt, LIMITS) and again.control_ids == state.control_ids


def params(enabled: bool = True, **kw: float) -> StrategyParams:
    values = {"max_position_pct": 5.0, "stop_loss_pct": 2.0, "take_profit_pct": 5.0, **kw}
    return StrategyParams(
        name="test", enabled=enabled, grid_levels=0, pairs=[], updated_by="w", updated_ms=1, **values
    )


def test_strategy_params_size_and_exit_the_positions_of_that_strategy() -> None:
    state = fresh()
    assert rr.limits_for_strategy(LIMITS, state, "test") is LIMITS
    rr.apply_strategy_params(state, params(max_position_pct=2.0, stop_loss_pct=1.0))
    limits = rr.limits_for_strategy(LIMITS, state, "test")
    assert (limits.max_position_pct, limits.stop_loss_pct, limits.take_profit_pct) == (2.0, 1.0, 5.0)
    assert rr.limits_for_strategy(LIMITS, state, "other") is LIMITS
    order = rr.decide(state, signal("JUP/USDC", 1.0), limits, now_ms=1)
    assert isinstance(order, Order) and order.amount_in == 350_000_000  # 2 % of 17 500
    rr.apply_fill(state, fill_for(order), LIMITS)
    assert state.positions["JUP/USDC"].strategy == "test"
    # Entry 1.0025 (fee included); at 0.985 (1.75 % under) the portfolio's 2 % stop holds, the strategy's
    # 1 % sells.
    down = [pool("JUP/USDC", 0.985)]
    assert rr.exits(state, "JUP/USDC", 0.985, 3_000, down, LIMITS, now_ms=2) == []
    held = rr.limits_for_strategy(LIMITS, state, state.positions["JUP/USDC"].strategy)
    (stop,) = rr.exits(state, "JUP/USDC", 0.985, 3_001, down, held, now_ms=2)
    assert rr.reason_code(stop.reason) == rr.STOP_LOSS and "1% under entry" in stop.reason


def test_a_disabled_strategy_has_its_buys_rejected_but_its_sells_decided() -> None:
    state = fresh()
    rr.apply_strategy_params(state, params(enabled=False))
    out = rr.decide(state, signal("JUP/USDC", 1.0), LIMITS, now_ms=1)
    assert isinstance(out, Rejection) and rr.reason_code(out.reason) == rr.STRATEGY_DISABLED
    sell = rr.decide(state, signal("JUP/USDC", 1.0, -1, sid="s2"), LIMITS, now_ms=1)
    assert rr.reason_code(sell.reason) == rr.NO_POSITION


def test_the_gate_refuses_buys_while_halted_and_cancelled_orders_always() -> None:
    state = fresh()
    price_tick(state)
    buy = rr.decide(state, signal("JUP/USDC", 1.0), LIMITS, now_ms=1)
    assert isinstance(buy, Order)
    rr.apply_fill(state, fill_for(buy), LIMITS)
    sell = rr.decide(state, signal("JUP/USDC", 1.0, -1, sid="s2"), LIMITS, now_ms=1)
    assert isinstance(sell, Order)
    halt = control("halt", "ctl:h", 1)
    assert refusals([buy, sell], halt, [None, None]) == {buy.id: ("failed", "halted: test")}
    assert refusals([buy, sell], None, [None, b"by w"]) == {sell.id: ("cancelled", "cancelled: by w")}
    assert refusals([buy], control("resume", "ctl:r", 2), [None]) == {}


def test_operator_refusals_do_not_count_against_the_venue() -> None:
    state = fresh()
    limits = rr.RiskLimits(venue_error_min_fills=1)
    for i in range(3):
        order = rr.decide(state, signal("JUP/USDC", 1.0, sid=f"h{i}", ts_ms=1_000 + i), limits, now_ms=1)
        assert isinstance(order, Order)
        failed = fill_for(order, status="failed")
        failed.reason = "halted: test" if i < 2 else "cancelled: by w"
        rr.apply_fill(state, failed, limits)
    assert state.venue_halts == {} and state.venue_fills.get("raydium", []) == []
