"""The limits of issue 22 through the pure risk core: position caps after the order, lots per strategy,
stops on every price with a cool-down, the pair move halt, the outlier filter, per-pool staleness,
slippage-fitted buys and sells, and the opening inventory's accounting."""

from __future__ import annotations

import pytest
from risk_factories import SOL, USDC, fill_for, fresh, pool, signal

import risk as rr
from risk.attribution import lot_of
from risk.inventory import drawdown_equity_usdc, inventory_usdc
from risk.prices import accept_price, pair_halt
from streams.codec import encode
from streams.records import PRICE_MARK, Order, Rejection, Signal
from streams.topics import SIGNALS

LIMITS = rr.RiskLimits(opening_inventory="drawdown")  # the opening SOL outside the caps unless a test says


def decide(state: rr.RiskState, sig: Signal, limits: rr.RiskLimits = LIMITS) -> Order | Rejection:
    return rr.decide(state, sig, limits, now_ms=sig.ts_ms)


def bought(state: rr.RiskState, sig: Signal, limits: rr.RiskLimits = LIMITS) -> Order:
    order = decide(state, sig, limits)
    assert isinstance(order, Order), order.reason
    rr.apply_fill(state, fill_for(order, ts_ms=sig.ts_ms), limits)
    return order


def mark(pair: str, price: float, ts_ms: int) -> Signal:
    return signal(pair, price, sid=f"m{ts_ms}", ts_ms=ts_ms).derive(
        id=f"mark:{pair}@{ts_ms}", direction=PRICE_MARK, strategy="", confidence=0.0, expected_return=0.0
    )


# --- caps on positions --------------------------------------------------------------------------------


def test_the_position_cap_bounds_the_position_not_each_order() -> None:
    state = fresh()
    first = bought(state, signal("JUP/USDC", 1.0, sid="a"))
    assert first.amount_in == 875_000_000  # 5 % of 17 500
    again = decide(state, signal("JUP/USDC", 1.0, sid="b", ts_ms=1_100))
    # the position is worth what the fill bought (fee and impact off): a few USDC of room, under the minimum
    assert isinstance(again, Rejection) and again.reason.startswith("below_min_size: position_cap leaves 2.")
    # The price halves: the position is worth ~436, so the same strategy may add up to the cap again,
    # not a whole new 875.
    state.prices["JUP/USDC"] = 0.5
    calm = LIMITS.replace(pair_move_halt_pct=1000.0)  # (a halving within 10 s would halt the pair)
    topped = decide(state, signal("JUP/USDC", 0.5, sid="c", ts_ms=1_200, pools=[pool("JUP/USDC", 0.5)]), calm)
    assert isinstance(topped, Order)
    held = state.positions["JUP/USDC"].base_amount * 0.5 / 1e6
    assert topped.amount_in == pytest.approx((0.05 * rr.equity_usdc(state) - held) * 1e6, rel=1e-3)


# --- lots per strategy --------------------------------------------------------------------------------


def test_a_strategy_sell_closes_its_own_lot_only() -> None:
    state = fresh()
    bought(state, signal("JUP/USDC", 1.0, sid="a", strategy="trend"))
    bought(state, signal("JUP/USDC", 1.0, sid="b", strategy="grid"))
    pos = state.positions["JUP/USDC"]
    assert (
        set(pos.lots) == {"trend", "grid"} and lot_of(pos, "trend") + lot_of(pos, "grid") == pos.base_amount
    )
    nobody = decide(state, signal("JUP/USDC", 1.0, -1, sid="c", strategy="mean_reversion"))
    assert isinstance(nobody, Rejection) and nobody.reason.startswith(
        "no_position: mean_reversion holds no lot"
    )
    sell = decide(state, signal("JUP/USDC", 1.0, -1, sid="d", strategy="grid"))
    assert isinstance(sell, Order) and sell.amount_in == pos.lots["grid"]
    rr.apply_fill(state, fill_for(sell), LIMITS)
    assert set(state.positions["JUP/USDC"].lots) == {"trend"}  # trend's lot is untouched


def test_a_protective_exit_sells_every_lot_and_cools_each_strategy_down() -> None:
    state = fresh()
    bought(state, signal("JUP/USDC", 1.0, sid="a", strategy="trend"))
    bought(state, signal("JUP/USDC", 1.0, sid="b", strategy="grid"))
    (stop,) = rr.exits(state, "JUP/USDC", 0.97, 2_000, [pool("JUP/USDC", 0.97)], LIMITS, 2_000)
    assert stop.kind == rr.STOP_LOSS and stop.amount_in == state.positions["JUP/USDC"].base_amount
    rr.apply_fill(state, fill_for(stop), LIMITS)
    assert "JUP/USDC" not in state.positions
    assert state.stopped == {"JUP/USDC|trend": 2_000, "JUP/USDC|grid": 2_000}


# --- the order cap (live: LIVE_MAX_ORDER_USDC) ----------------------------------------------------------


def test_the_order_cap_shrinks_a_buy_and_splits_every_sell() -> None:
    """Live execution refuses, unsent, an order over LIVE_MAX_ORDER_USDC (a sandbox rehearsal booked 25 of
    41 orders `live_cap_order`), so risk sizes within it, valuing a sell at its pool's price as execution
    does (at the mark, two exits came out 0.03 and 0.18 USDC over); a position bigger than the cap, which a
    single sell could then never close, is sold in several orders."""
    from risk.orders import ORDER_CAP_MARGIN
    from venues.live_caps import notional_usdc

    capped = LIMITS.replace(max_order_usdc=200.0)
    under = 200.0 * (1 - ORDER_CAP_MARGIN)  # 199 USDC
    state = fresh()
    first = bought(state, signal("JUP/USDC", 1.0, sid="a", strategy="trend"), capped)
    assert first.amount_in == 199_000_000  # not the position cap's 875
    for i, sid in enumerate("bcd"):
        bought(state, signal("JUP/USDC", 1.0, sid=sid, strategy="trend", ts_ms=1_100 + i), capped)
    held = state.positions["JUP/USDC"].base_amount
    assert 790e6 < held < 796e6  # four capped buys (fees and impact off)
    # The signal's price (the mark) under the pool's: valued at the mark, the sell would be 209 USDC at
    # the price execution checks it against.
    at_pool = [pool("JUP/USDC", 1.0)]
    ahead = signal("JUP/USDC", 0.95, -1, sid="e", strategy="trend", ts_ms=1_200, pools=at_pool)
    sell = decide(state, ahead, capped)
    assert isinstance(sell, Order) and sell.amount_in == pytest.approx(under / 1.0 * 1e6, abs=1)
    assert notional_usdc(sell, None) == pytest.approx(under, abs=0.01)  # as live execution values it
    rr.apply_fill(state, fill_for(sell, ts_ms=1_200), capped)
    (stop,) = rr.exits(state, "JUP/USDC", 0.97, 2_000, [pool("JUP/USDC", 0.97)], capped, 2_000)
    assert stop.kind == rr.STOP_LOSS and stop.amount_in == pytest.approx(under / 0.97 * 1e6, rel=1e-6)
    assert (notional_usdc(stop, None) or 1e9) <= 200.0
    rr.apply_fill(state, fill_for(stop), capped)
    left = state.positions["JUP/USDC"].base_amount
    assert left == held - sell.amount_in - stop.amount_in
    (rest,) = rr.exits(state, "JUP/USDC", 0.97, 2_500, [pool("JUP/USDC", 0.97)], capped, 2_500)
    assert rest.amount_in == stop.amount_in  # the next price sells the next part
    rr.apply_fill(state, fill_for(rest), capped)
    # Another price at the same event time (a second strategy's signal of the same snapshot, released by
    # the fill barrier once the part before it filled) sells the next part under its own id: the live kill
    # test saw `exit:SOL/USDC:...:stop_loss` published twice with different amounts, and execution would
    # have booked the second as a repeat of the first.
    (again,) = rr.exits(state, "JUP/USDC", 0.97, 2_500, [pool("JUP/USDC", 0.97)], capped, 2_500)
    assert again.id == f"{rest.id}:2"
    assert again.amount_in == state.positions["JUP/USDC"].base_amount  # the last part: what is left
    tiny = LIMITS.replace(max_order_usdc=5.0)  # under the minimum order: refused, not sent
    refused = decide(fresh(), signal("JUP/USDC", 1.0, sid="f"), tiny)
    assert isinstance(refused, Rejection)
    assert refused.reason.startswith("below_min_size: order_cap leaves 4.97")


def test_a_live_worker_sizes_within_the_live_order_cap() -> None:
    from agents.pipeline import worker_limits
    from core.settings import load_settings

    settings = load_settings(live_max_order_usdc=250.0)
    assert worker_limits(settings, live=True).max_order_usdc == 250.0
    assert worker_limits(settings, live=False).max_order_usdc == 0.0  # paper: no order cap by default
    both = load_settings(live_max_order_usdc=250.0, max_order_usdc=100.0)
    assert worker_limits(both, live=True).max_order_usdc == 100.0  # the smaller one


# --- stops on every price, cool-down --------------------------------------------------------------------


def test_a_price_mark_checks_the_stops_of_a_quiet_pair() -> None:
    state = fresh()
    bought(state, signal("JUP/USDC", 1.0, sid="a"))
    out = rr.apply_message(state, SIGNALS.name, 0, 0, encode(mark("JUP/USDC", 0.97, 3_000)), 3_000, LIMITS)
    assert [o.kind for o in out if isinstance(o, Order)] == [rr.STOP_LOSS]
    assert (state.decided, state.rejected) == (1, 0)  # a mark is no decision: nothing counted or rejected
    calm = rr.apply_message(state, SIGNALS.name, 0, 1, encode(mark("JUP/USDC", 0.97, 3_500)), 3_500, LIMITS)
    assert calm == []  # the sell is in flight: one at a time


def test_after_a_stop_the_strategy_waits_before_buying_the_pair_again() -> None:
    state = fresh()
    bought(state, signal("JUP/USDC", 1.0, sid="a"))
    (stop,) = rr.exits(state, "JUP/USDC", 0.97, 2_000, [pool("JUP/USDC", 0.97)], LIMITS, 2_000)
    rr.apply_fill(state, fill_for(stop), LIMITS)
    rej = decide(state, signal("JUP/USDC", 0.97, sid="b", ts_ms=2_500))
    assert (
        isinstance(rej, Rejection)
        and rej.reason == "stop_cooldown: test stopped out of JUP/USDC 0.5s ago < 60s"
    )
    other = decide(state, signal("JUP/USDC", 0.97, sid="c", ts_ms=2_600, strategy="other"))
    assert isinstance(other, Order)  # another strategy is not cooling down
    later = decide(
        state,
        signal("JUP/USDC", 0.97, sid="d", ts_ms=62_000, pools=[pool("JUP/USDC", 0.97).derive(ts_ms=62_000)]),
    )
    assert isinstance(later, Order) and "JUP/USDC|test" not in state.stopped


# --- price hygiene ---------------------------------------------------------------------------------------


def test_one_outlier_never_reaches_equity_or_the_peak() -> None:
    state = fresh()
    decide(state, signal("SOL/USDC", 100.0, sid="a", confidence=0.1))
    peak = state.peak_equity_usdc
    rej = decide(state, signal("SOL/USDC", 1e9, sid="b", ts_ms=1_100))
    assert isinstance(rej, Rejection) and rr.reason_code(rej.reason) == rr.OUTLIER_PRICE
    assert state.prices["SOL/USDC"] == 100.0 and state.peak_equity_usdc == peak and not state.halted
    decide(state, signal("SOL/USDC", 101.0, sid="c", ts_ms=1_200, confidence=0.1))  # back to normal
    assert state.suspect_prices == {} and state.prices["SOL/USDC"] == 101.0


def test_a_real_jump_is_accepted_once_a_later_price_confirms_it() -> None:
    state = fresh()
    assert accept_price(state, "X", 1.0, 1_000, LIMITS)
    state.prices["X"] = 1.0
    assert not accept_price(state, "X", 0.3, 2_000, LIMITS)
    assert not accept_price(state, "X", 0.3, 2_000, LIMITS)  # the same event seen twice confirms nothing
    assert accept_price(state, "X", 0.31, 2_100, LIMITS)
    assert "X" not in state.suspect_prices


def test_a_fast_move_halts_the_pairs_buys_for_a_while() -> None:
    state = fresh()
    for k, price in enumerate((1.0, 0.95, 0.9, 0.85, 0.78)):  # 22 % within 4 s, each step small
        decide(state, signal("JUP/USDC", price, sid=f"p{k}", ts_ms=1_000 + 1_000 * k, confidence=0.1))
    assert pair_halt(state, "JUP/USDC", 5_000).startswith("JUP/USDC moved 28.2% within 10s > 20%")
    rej = decide(state, signal("JUP/USDC", 0.78, sid="b", ts_ms=6_000))
    assert isinstance(rej, Rejection) and rr.reason_code(rej.reason) == rr.PAIR_HALTED
    sell_side = decide(state, signal("BONK/SOL", 1e-4, sid="c", ts_ms=6_000))
    assert isinstance(sell_side, Order)  # other pairs trade on
    assert pair_halt(state, "JUP/USDC", 6_000 + 120_000) == ""  # pair_move_halt_s after the last move


def test_a_curve_rising_fast_takes_buys_and_one_falling_fast_does_not() -> None:
    """A young curve's rise is its buyers arriving (what the launch strategy buys); only its falls halt."""
    state = fresh()
    rises = (3e-8, 3.3e-8, 3.7e-8, 4.1e-8, 4.5e-8)  # +50 % within 4 s
    for k, price in enumerate(rises):
        curve = [pool("PUMP/SOL", price, depth_quote=3_000.0, venue="pumpfun", fee_bps=100)]
        decide(
            state,
            signal("PUMP/SOL", price, sid=f"r{k}", ts_ms=1_000 + 1_000 * k, pools=curve, confidence=0.1),
        )
    assert pair_halt(state, "PUMP/SOL", 5_000) == ""
    for k, price in enumerate((4.2e-8, 3.9e-8, 3.6e-8)):  # -20 % from the high within 3 s
        curve = [pool("PUMP/SOL", price, depth_quote=3_000.0, venue="pumpfun", fee_bps=100)]
        decide(
            state,
            signal("PUMP/SOL", price, sid=f"f{k}", ts_ms=6_000 + 1_000 * k, pools=curve, confidence=0.1),
        )
    assert pair_halt(state, "PUMP/SOL", 8_000).startswith("PUMP/SOL fell 25.0% within 10s > 20%")


def test_staleness_is_judged_per_pool() -> None:
    state = fresh()
    decide(state, signal("BONK/SOL", 1e-4, sid="a", ts_ms=40_000, confidence=0.1))
    old = pool("JUP/USDC", 1.0, name="old").derive(ts_ms=1_000)
    new = pool("JUP/USDC", 1.0, depth_quote=500_000.0, venue="orca", name="new").derive(ts_ms=39_000)
    order = decide(state, signal("JUP/USDC", 1.0, sid="b", ts_ms=40_000, pools=[old, new]))
    assert isinstance(order, Order) and order.pool == "new"  # the deeper pool is stale: not used
    rej = decide(state, signal("JUP/USDC", 1.0, sid="c", ts_ms=40_000, pools=[old], strategy="x"))
    assert isinstance(rej, Rejection) and rej.reason.startswith("stale_price: every pool's state is stale")


# --- slippage on both sides -------------------------------------------------------------------------------


def test_a_strategy_sell_shrinks_to_the_cap_and_a_stop_does_not() -> None:
    state = fresh()
    bought(state, signal("JUP/USDC", 1.0, sid="a"))
    drained = [pool("JUP/USDC", 1.0, depth_quote=30_000.0)]  # the 875 JUP would move it ~290 bps
    sell = decide(state, signal("JUP/USDC", 1.0, -1, sid="b", ts_ms=1_100, pools=drained))
    assert isinstance(sell, Order) and sell.amount_in < state.positions["JUP/USDC"].base_amount
    assert rr.quote_pool(sell.pool_state, "sell", sell.amount_in).impact_bps <= LIMITS.max_slippage_bps
    rr.apply_fill(state, fill_for(sell), LIMITS)
    (stop,) = rr.exits(
        state, "JUP/USDC", 0.97, 2_000, [pool("JUP/USDC", 0.97, depth_quote=5_000.0)], LIMITS, 0
    )
    assert stop.amount_in == state.positions["JUP/USDC"].base_amount  # protective: all of it
    assert "over the 100bps cap, protective exit" in stop.reason


# --- the opening inventory --------------------------------------------------------------------------------


def test_the_opening_inventory_counts_in_the_total_cap_by_default() -> None:
    counted = rr.RiskLimits()  # 10 000 USDC + 50 SOL at 150 = 17 500; the SOL is 7 500 of it
    state = fresh(counted)
    assert inventory_usdc(state) == pytest.approx(7_500.0)
    order = decide(state, signal("JUP/USDC", 1.0, sid="a"), counted.replace(max_total_exposure_pct=45.0))
    # 45 % of 17 500 = 7 875, of which the SOL takes 7 500: 375 left
    assert isinstance(order, Order) and order.reason.startswith("resized: total_exposure_cap 375.00")
    free = decide(fresh(), signal("JUP/USDC", 1.0, sid="a"), counted.replace(opening_inventory="drawdown"))
    assert isinstance(free, Order) and free.amount_in == 875_000_000


def test_an_excluded_inventory_does_not_move_the_drawdown() -> None:
    for setting, halts in (("counted", True), ("drawdown", True), ("excluded", False)):
        limits = rr.RiskLimits(opening_inventory=setting)
        state = fresh(limits)
        decide(state, signal("SOL/USDC", 100.0, sid="a", confidence=0.1), limits)
        for k, price in enumerate((90.0, 80.0, 70.0, 60.0)):  # SOL -40 %: the 50 SOL lose 2 000 of 15 000
            decide(state, signal("SOL/USDC", price, sid=f"b{k}", ts_ms=2_000 + k, confidence=0.1), limits)
        assert (rr.DRAWDOWN in state.halts) is halts, setting
        if not halts:
            assert drawdown_equity_usdc(state, limits) == pytest.approx(15_000.0)
    assert SOL != USDC
