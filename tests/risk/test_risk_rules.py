"""Each risk rule with hand-computed numbers (default limits: 5 % / 10 % / 50 %, stop 2 %, breaker 10 %).

The fresh paper wallet is 10 000 USDC + 50 SOL; until a SOL/USDC price arrives SOL is valued at the
150 USDC fallback, so equity = 10 000 + 50 x 150 = 17 500 USDC and 5 % of it = 875 USDC.
"""

from __future__ import annotations

import json

import pytest
from risk_factories import JUP, SOL, USDC, fill_for, fresh, pool, signal

import risk as rr
from core.settings import load_settings
from market import bonding_curve
from streams.records import Order, Rejection

# The opening SOL outside the exposure caps (`opening_inventory`), as these rules were written against;
# tests/risk/test_inventory.py covers the default, which counts it.
LIMITS = rr.RiskLimits(opening_inventory="drawdown")


def approve(state: rr.RiskState, sig: object, limits: rr.RiskLimits = LIMITS) -> Order:
    out = rr.decide(state, sig, limits, now_ms=99)  # type: ignore[arg-type]
    assert isinstance(out, Order), out.reason
    return out


def reject(state: rr.RiskState, sig: object, limits: rr.RiskLimits = LIMITS) -> Rejection:
    out = rr.decide(state, sig, limits, now_ms=99)  # type: ignore[arg-type]
    assert isinstance(out, Rejection), out.reason
    return out


# --- limits and state ---------------------------------------------------------------------------------


def test_limits_from_settings_and_invariants() -> None:
    limits = rr.RiskLimits.from_settings(load_settings(max_position_pct=3.0, max_slippage_bps=50))
    assert limits.max_position_pct == 3.0 and limits.max_slippage_bps == 50
    assert limits.max_total_exposure_pct == 50.0 and limits.fallback_sol_usdc == 150.0
    with pytest.raises(ValueError):
        rr.RiskLimits(max_position_pct=0.0)
    with pytest.raises(ValueError):
        rr.RiskLimits(max_slippage_bps=10_000)


def test_initial_wallet_and_equity_with_sol_fallback() -> None:
    state = fresh()
    assert state.balances == {USDC: 10_000_000_000, SOL: 50_000_000_000}
    assert rr.equity_usdc(state) == pytest.approx(17_500.0)
    assert state.peak_equity_usdc == pytest.approx(17_500.0)


def test_first_sol_price_rebases_peak_instead_of_tripping_the_breaker() -> None:
    state = fresh()
    reject(state, signal("SOL/USDC", 100.0, confidence=0.1))  # 50 SOL now worth 5 000, not 7 500
    assert rr.equity_usdc(state) == pytest.approx(15_000.0)
    assert state.peak_equity_usdc == pytest.approx(15_000.0)
    assert not state.halted


def test_offset_guard() -> None:
    state = fresh()
    assert not rr.already_applied(state, "signals", 0, 0)
    rr.mark_applied(state, "signals", 0, 5)
    assert rr.already_applied(state, "signals", 0, 5)
    assert rr.already_applied(state, "signals", 0, 3)
    assert not rr.already_applied(state, "signals", 0, 6)
    assert not rr.already_applied(state, "signals", 1, 0)
    rr.mark_applied(state, "signals", 0, 2)  # offsets never move back
    assert state.offsets == {"signals:0": 5}


# --- buys ---------------------------------------------------------------------------------------------


def test_buy_at_full_position_size_with_hand_computed_amounts() -> None:
    state = fresh()
    order = approve(state, signal("JUP/USDC", 1.0, sid="a", ts_ms=1_000))
    # 5 % of 17 500 = 875 USDC. Pool 1e12/1e12 raw, fee 25 bps: fee = ceil(875e6 * 25 / 1e4) = 2 187 500,
    # net = 872 812 500, out = floor(1e12 * net / (1e12 + net)) = 872 051 362; min = floor(out * 0.99).
    assert order.id == "ord:sig:a" and order.signal_id == "sig:a"
    assert (order.side, order.kind, order.amount_in) == ("buy", "entry", 875_000_000)
    assert order.min_amount_out == 863_330_848
    assert rr.reason_code(order.reason) == rr.ENTRY
    assert (order.ts_ms, order.origin_ms, order.decided_ms) == (1_000, 995, 99)
    assert order.pool_state.venue == "raydium"
    assert state.pending[order.id] == rr.PendingOrder(
        "JUP/USDC", "buy", USDC, 875_000_000, 872_051_362, "entry", 875.0, "test"
    )
    assert rr.available(state, USDC) == 10_000_000_000 - 875_000_000
    assert (state.decided, state.approved, state.rejected) == (1, 1, 0)


def test_pending_reservation_counts_against_the_pair_cap() -> None:
    state = fresh()
    approve(state, signal("JUP/USDC", 1.0, sid="a"))  # 875 of the 1 750 pair cap
    # Another strategy's position: exactly the remaining 875, a tie, not resized.
    second = approve(state, signal("JUP/USDC", 1.0, sid="b", strategy="b"))
    assert second.amount_in == 875_000_000 and rr.reason_code(second.reason) == rr.ENTRY
    third = reject(state, signal("JUP/USDC", 1.0, sid="c", strategy="c"))
    assert rr.reason_code(third.reason) == rr.PAIR_CAP_FULL and third.id == "rej:sig:c"


def test_resized_by_pair_cap() -> None:
    limits = LIMITS.replace(max_pair_exposure_pct=8.0)  # 1 400 USDC per pair
    state = fresh(limits)
    approve(state, signal("JUP/USDC", 1.0, sid="a"), limits)
    order = approve(state, signal("JUP/USDC", 1.0, sid="b", strategy="b"), limits)
    assert order.amount_in == 525_000_000  # 1 400 - 875
    assert order.reason.startswith("resized: pair_exposure_cap 525.00 of 875.00 USDC")


def test_resized_by_total_cap_across_pairs() -> None:
    # 1 050 USDC in all, the opening SOL left out (`opening_inventory`: test_inventory.py counts it in)
    limits = rr.RiskLimits(max_total_exposure_pct=6.0, opening_inventory="excluded")
    state = fresh(limits)
    approve(state, signal("JUP/USDC", 1.0, sid="a"), limits)
    order = approve(state, signal("BONK/SOL", 0.0001, sid="b"), limits)
    # 175 USDC left, paid in SOL at the 150 fallback: 175 / 150 SOL = 1 166 666 666 lamports (floored).
    assert order.amount_in == 1_166_666_666
    assert rr.reason_code(order.reason) == rr.RESIZED and "total_exposure_cap" in order.reason
    assert state.pending[order.id].input_mint == SOL


def test_sol_quoted_buy_converts_through_sol_usdc() -> None:
    state = fresh()
    reject(state, signal("SOL/USDC", 100.0, sid="px", confidence=0.0))  # equity 15 000 now
    order = approve(state, signal("BONK/SOL", 0.0001, sid="b"))
    assert order.amount_in == 7_500_000_000  # 5 % of 15 000 = 750 USDC = 7.5 SOL at 100


def test_resized_by_balance_then_rejected_below_minimum() -> None:
    limits = LIMITS.replace(paper_start_usdc=300.0)  # equity 300 + 7 500: 5 % = 390 > 300 available
    state = fresh(limits)
    order = approve(state, signal("JUP/USDC", 1.0, sid="a"), limits)
    assert order.amount_in == 300_000_000 and order.reason.startswith("resized: balance")
    rej = reject(state, signal("JUP/USDC", 1.0, sid="b", strategy="b"), limits)
    assert rej.reason.startswith("insufficient_balance: balance leaves 0.00 USDC < min order 10")


def test_position_size_below_minimum_order() -> None:
    limits = rr.RiskLimits(paper_start_usdc=100.0, paper_start_sol=0.0)  # 5 % of 100 = 5 < 10
    rej = reject(fresh(limits), signal("JUP/USDC", 1.0), limits)
    assert rr.reason_code(rej.reason) == rr.POSITION_CAP


def test_slippage_rejection_on_a_shallow_pool() -> None:
    # 875 USDC (net of the fee 872.8125) into a 50 000 USDC pool: the fee-free impact of a constant-product
    # swap is net / (reserve + net) = 872.8125 / 50 872.8125 = 171.6 bps > 100. The buy shrinks to the
    # largest within 100 bps: net / (50 000 + net) = 0.01 -> net 505.05, 506.32 with the 25 bps fee.
    shallow = [pool("JUP/USDC", 1.0, depth_quote=50_000.0)]
    order = approve(fresh(), signal("JUP/USDC", 1.0, pools=shallow))
    assert order.reason.startswith("resized: slippage_cap 506.32 of 875.00 USDC")
    assert rr.quote_pool(order.pool_state, "buy", order.amount_in).impact_bps <= 100.0
    assert rr.quote_pool(order.pool_state, "buy", order.amount_in + 1).impact_bps > 100.0
    # Too shallow for even the minimum order within the cap: refused.
    puddle = [pool("JUP/USDC", 1.0, depth_quote=500.0)]
    rej = reject(fresh(), signal("JUP/USDC", 1.0, pools=puddle), rr.RiskLimits(min_pool_liquidity_usdc=0.0))
    assert rr.reason_code(rej.reason) == rr.SLIPPAGE and "below the min order" in rej.reason


def test_best_pool_is_chosen_by_output() -> None:
    pools = [
        pool("JUP/USDC", 1.0, fee_bps=100, name="dear"),
        pool("JUP/USDC", 1.0, fee_bps=25, name="cheap"),
        pool("JUP/USDC", 1.0, depth_quote=200_000.0, fee_bps=1, name="thin"),
    ]
    order = approve(fresh(), signal("JUP/USDC", 1.0, pools=pools))
    assert order.pool == "cheap"  # thin: 1 bp fee but ~44 bps impact; cheap: 25 bps fee, ~9 bps impact


def test_pumpfun_buy_uses_the_bonding_curve() -> None:
    curve = pool("PUMP/SOL", 3e-8, depth_quote=30.0, venue="pumpfun", fee_bps=100)
    state = fresh(rr.RiskLimits(max_position_pct=0.1, max_slippage_bps=2_000))
    order = approve(
        state,
        signal("PUMP/SOL", 3e-8, pools=[curve]),
        rr.RiskLimits(max_position_pct=0.1, max_slippage_bps=2_000),
    )
    # 0.1 % of 17 500 = 17.5 USDC = 0.11666 SOL; the curve's own maths gives the tokens.
    assert order.amount_in == 116_666_666 and order.venue == "pumpfun"
    tokens, _, _ = bonding_curve.buy_with_sol(rr.curve_of(curve), 116_666_666, 100)
    assert order.min_amount_out == tokens * 8_000 // 10_000


def test_rejections_low_confidence_bad_signal_no_pool_duplicate() -> None:
    state = fresh()
    assert reject(state, signal("JUP/USDC", 1.0, confidence=0.5)).reason.startswith("low_confidence: 0.500")
    assert rr.reason_code(reject(state, signal("JUP/USDC", 1.0, 0, sid="z")).reason) == rr.BAD_SIGNAL
    assert rr.reason_code(reject(state, signal("JUP/USDC", -1.0, sid="y")).reason) == rr.BAD_SIGNAL
    assert rr.reason_code(reject(state, signal("BONK/SOL", 1e-4, sid="x", pools=[])).reason) == rr.NO_POOL
    approve(state, signal("JUP/USDC", 1.0, sid="d"))
    assert rr.reason_code(reject(state, signal("JUP/USDC", 1.0, sid="d")).reason) == rr.DUPLICATE
    assert state.decided == 6 and state.approved == 1 and state.rejected == 5


def test_decisions_ignore_the_wall_clock() -> None:
    a, b = fresh(), fresh()
    oa = rr.decide(a, signal("JUP/USDC", 1.0), LIMITS, now_ms=1)
    ob = rr.decide(b, signal("JUP/USDC", 1.0), LIMITS, now_ms=10**13)
    assert oa.asdict() | {"decided_ms": 0} == ob.asdict() | {"decided_ms": 0}
    assert a.to_dict() == b.to_dict()


# --- sells, fills, positions -------------------------------------------------------------------------


def bought(state: rr.RiskState, price: float = 1.0, sid: str = "a") -> Order:
    order = approve(state, signal("JUP/USDC", price, sid=sid))
    rr.apply_fill(state, fill_for(order))
    return order


def test_buy_fill_moves_balances_and_opens_a_position() -> None:
    state = fresh()
    bought(state)
    pos = state.positions["JUP/USDC"]
    assert (pos.base_amount, pos.cost_quote, pos.opened_ts_ms) == (872_051_362, 875_000_000, 2_000)
    assert pos.entry_price == pytest.approx(875 / 872.051362)
    assert state.balances[USDC] == 9_125_000_000 and state.balances[JUP] == 872_051_362
    assert state.pending == {}


def test_average_entry_and_realised_pnl_then_flat() -> None:
    state = fresh()
    rr.decide(state, signal("JUP/USDC", 1.0, sid="px", confidence=0.0), LIMITS, 0)
    buy = approve(state, signal("JUP/USDC", 1.0, sid="a"))
    rr.apply_fill(state, fill_for(buy).derive(base_amount=800_000_000, quote_amount=800_000_000))
    buy2 = approve(state, signal("JUP/USDC", 1.0, sid="b"))
    rr.apply_fill(state, fill_for(buy2).derive(base_amount=400_000_000, quote_amount=600_000_000))
    pos = state.positions["JUP/USDC"]
    assert (pos.base_amount, pos.cost_quote) == (1_200_000_000, 1_400_000_000)
    assert pos.entry_price == pytest.approx(1_400 / 1_200)
    # Sell a quarter for 450 USDC: releases 350 of cost, realises +100.
    sell = approve(state, signal("JUP/USDC", 1.5, -1, sid="c"))
    assert sell.amount_in == 1_200_000_000 and sell.kind == "exit" and rr.reason_code(sell.reason) == rr.CLOSE
    rr.apply_fill(state, fill_for(sell).derive(base_amount=300_000_000, quote_amount=450_000_000))
    assert (pos.base_amount, pos.cost_quote, pos.realised_pnl_quote) == (900_000_000, 1_050_000_000, 100.0)
    assert pos.entry_price == pytest.approx(1_400 / 1_200)  # sells do not move the average entry
    sell2 = approve(state, signal("JUP/USDC", 1.0, -1, sid="d"))
    rr.apply_fill(state, fill_for(sell2).derive(base_amount=900_000_000, quote_amount=900_000_000))
    assert "JUP/USDC" not in state.positions and state.balances[JUP] == 0
    assert state.realised_pnl["JUP/USDC"] == pytest.approx(100.0 - 150.0)
    assert state.balances[USDC] == 10_000_000_000 - 1_400_000_000 + 1_350_000_000


def test_sell_without_position_and_while_a_sell_is_pending() -> None:
    state = fresh()
    assert rr.reason_code(reject(state, signal("JUP/USDC", 1.0, -1, sid="n")).reason) == rr.NO_POSITION
    bought(state)
    approve(state, signal("JUP/USDC", 1.0, -1, sid="s"))
    assert rr.reason_code(reject(state, signal("JUP/USDC", 1.0, -1, sid="t")).reason) == rr.EXIT_PENDING
    assert rr.reason_code(reject(state, signal("JUP/USDC", 1.0, 1, sid="u")).reason) == rr.EXIT_PENDING


def test_failed_fill_only_releases_and_fills_are_idempotent() -> None:
    state = fresh()
    order = approve(state, signal("JUP/USDC", 1.0))
    before = state.to_dict()
    failed = fill_for(order, status="failed")
    rr.apply_fill(state, failed)
    assert state.pending == {} and state.balances == before["balances"] and state.positions == {}
    once = state.to_dict()
    rr.apply_fill(state, failed)
    assert state.to_dict() == once
    order2 = approve(state, signal("JUP/USDC", 1.0, sid="again"))
    good = fill_for(order2)
    rr.apply_fill(state, good)
    once = state.to_dict()
    rr.apply_fill(state, good)
    assert state.to_dict() == once


# --- stop loss and breaker ---------------------------------------------------------------------------


def test_stop_loss_triggers_at_two_percent_once() -> None:
    state = fresh()
    bought(state)
    entry = state.positions["JUP/USDC"].entry_price  # 875 / 872.051362 = 1.0033813...
    above = entry * 0.981
    assert rr.exits(state, "JUP/USDC", above, 5_000, [pool("JUP/USDC", above)], LIMITS, 7) == []
    at = entry * 0.98
    orders = rr.exits(state, "JUP/USDC", at, 6_000, [pool("JUP/USDC", at)], LIMITS, 7)
    assert len(orders) == 1
    o = orders[0]
    assert o.id == "exit:JUP/USDC:6000:stop_loss" and o.kind == "stop_loss" and o.side == "sell"
    assert o.amount_in == 872_051_362 and o.signal_id == "" and o.ts_ms == 6_000 and o.decided_ms == 7
    assert rr.reason_code(o.reason) == rr.STOP_LOSS
    assert rr.exits(state, "JUP/USDC", at * 0.9, 7_000, [pool("JUP/USDC", at * 0.9)], LIMITS, 8) == []
    rr.apply_fill(state, fill_for(o))
    assert "JUP/USDC" not in state.positions


def test_state_round_trips_through_json() -> None:
    state = fresh()
    bought(state)
    approve(state, signal("BONK/SOL", 1e-4, sid="b"))
    rr.mark_applied(state, "fills", 2, 17)
    d = state.to_dict()
    back = rr.RiskState.from_dict(json.loads(json.dumps(d)))
    assert back == state and back.to_dict() == d


def test_forty_percent_crash_trips_stop_loss_then_breaker() -> None:
    """SOL/USDC 100 -> 97 -> 60: the SOL long is stopped out, then equity falls > 10 % and buys halt."""
    state = fresh()
    sol = approve(state, signal("SOL/USDC", 100.0, sid="1", ts_ms=1_000))  # peak re-based to 15 000
    assert sol.amount_in == 750_000_000  # 5 % of 15 000 USDC
    rr.apply_fill(state, fill_for(sol), LIMITS)
    jup = approve(state, signal("JUP/USDC", 1.0, sid="2", ts_ms=2_000))
    rr.apply_fill(state, fill_for(jup), LIMITS)
    peak = state.peak_equity_usdc
    assert peak == pytest.approx(15_000.0, rel=1e-3)

    stop = rr.exits(state, "SOL/USDC", 97.0, 3_000, [pool("SOL/USDC", 97.0)], LIMITS, 0)
    assert [o.kind for o in stop] == ["stop_loss"] and not state.halted  # 3 % down: stop yes, breaker no
    rr.apply_fill(state, fill_for(stop[0]), LIMITS)
    assert "SOL/USDC" not in state.positions

    # 97 -> 60 in one price is over price_outlier_pct (50 %): held back until the next price confirms it.
    assert rr.exits(state, "SOL/USDC", 60.0, 4_000, [pool("SOL/USDC", 60.0)], LIMITS, 0) == []
    assert not state.halted and state.prices["SOL/USDC"] == 97.0
    assert rr.exits(state, "SOL/USDC", 60.0, 4_100, [pool("SOL/USDC", 60.0)], LIMITS, 0) == []
    # The 50 SOL lost 40 USDC each (2 000), the stopped-out 7.5 SOL 3 each (22.5), swaps ~7.5 in fees:
    # equity ~12 970 of a 15 000 peak = 13.5 % > 10 %.
    assert state.halted and state.halt_reason.startswith("drawdown 13.5")
    rej = reject(state, signal("JUP/USDC", 1.0, sid="3", ts_ms=5_000))
    assert rej.reason.startswith("halted: drawdown")
    close = approve(state, signal("JUP/USDC", 1.0, -1, sid="4", ts_ms=6_000))  # sells still allowed
    rr.apply_fill(state, fill_for(close), LIMITS)
    assert state.positions == {} and state.halted


def test_halt_is_general_and_sticky() -> None:
    state = fresh()
    state.halted, state.halt_reason = True, "manual: operator"
    assert reject(state, signal("JUP/USDC", 1.0)).reason == "halted: manual: operator"
    assert state.halted


def test_sol_held_as_a_position_and_spent_as_a_quote_is_sold_only_when_free() -> None:
    big = rr.RiskLimits(paper_start_sol=0.0, max_position_pct=20.0, max_pair_exposure_pct=20.0)
    state = fresh(big)
    sol = approve(state, signal("SOL/USDC", 100.0, sid="a"), big)  # 20 % of 10 000 = 2 000 USDC
    rr.apply_fill(state, fill_for(sol).derive(base_amount=20_000_000_000, quote_amount=2_000_000_000))
    bonk = approve(state, signal("BONK/SOL", 2e-7, sid="b"))  # 5 % of 10 000 = 500 USDC = 5 SOL
    assert bonk.amount_in == 5_000_000_000
    close = approve(state, signal("SOL/USDC", 100.0, -1, sid="c"))
    assert close.amount_in == 15_000_000_000  # the 5 SOL reserved by the BONK buy are not sellable
    assert rr.available(state, SOL) == 0
    rej = reject(state, signal("BONK/SOL", 2e-7, sid="d", strategy="d"))
    assert rr.reason_code(rej.reason) == rr.INSUFFICIENT_BALANCE


def test_recent_id_memory_is_bounded_oldest_first() -> None:
    ids: dict[str, None] = {}
    for i in range(rr.RECENT_IDS_KEPT + 3):
        rr.remember(ids, f"f{i}", rr.RECENT_IDS_KEPT)
    assert len(ids) == rr.RECENT_IDS_KEPT and "f0" not in ids and "f3" in ids
