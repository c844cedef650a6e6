"""Sizing, limits, exits, breakers and the kill switch, each with hand-computed numbers.

Fresh paper wallet: 10 000 USDC + 50 SOL at the 150 USDC fallback = 17 500 USDC of equity; 5 % = 875.
"""

from __future__ import annotations

import pytest
from risk_factories import JUP, PUMP, SOL, fill_for, fresh, pool, signal

import risk as rr
from streams.records import Control, Fill, MintInfo, Order, Rejection, Signal

LIMITS = rr.RiskLimits()


def decide(state: rr.RiskState, sig: Signal, limits: rr.RiskLimits = LIMITS) -> Order | Rejection:
    return rr.decide(state, sig, limits, now_ms=7)


def approve(state: rr.RiskState, sig: Signal, limits: rr.RiskLimits = LIMITS) -> Order:
    out = decide(state, sig, limits)
    assert isinstance(out, Order), out.reason
    return out


def reject(state: rr.RiskState, sig: Signal, code: str, limits: rr.RiskLimits = LIMITS) -> Rejection:
    out = decide(state, sig, limits)
    assert isinstance(out, Rejection), out.reason
    assert rr.reason_code(out.reason) == code, out.reason
    return out


def control(action: str, flatten: bool = False) -> Control:
    return Control(id=f"c-{action}", action=action, reason="test", flatten=flatten, ts_ms=0)


# --- sizing -------------------------------------------------------------------------------------------


def test_volatility_target_sizes_the_buy() -> None:
    # sigma over the horizon = 0.05/s x sqrt(25 s) = 0.25; 1 % of 17 500 = 175 USDC at risk -> 700 USDC.
    # (An expected return of 0.1 puts the Kelly bet, 0.1 / 0.25^2 = 1.6, at its bound: Kelly does not bind.)
    state = fresh()
    sig = signal("JUP/USDC", 1.0).derive(volatility=0.05, horizon_ms=25_000, expected_return=0.1)
    order = approve(state, sig)
    assert order.amount_in == 700_000_000
    assert order.reason.startswith("resized: vol_target 700.00 of 875.00 USDC")


def test_kelly_cap_sizes_the_buy() -> None:
    # mean 0.25 over a variance of 0.001^2 x 10 s: f* = 25 000, bounded at kelly_max_fraction = 1; a 1/64
    # Kelly fraction -> 17 500 / 64 = 273.4375.
    limits = rr.RiskLimits(kelly_fraction=1 / 64)
    state = fresh(limits)
    sig = signal("JUP/USDC", 1.0, confidence=0.625).derive(expected_return=0.25)
    order = approve(state, sig, limits)
    assert order.amount_in == 273_437_500
    assert order.reason.startswith("resized: kelly_cap 273.44 of 875.00 USDC")


def test_size_caps_by_hand() -> None:
    sig = signal("JUP/USDC", 1.0, confidence=0.75).derive(
        volatility=0.002, horizon_ms=4_000, expected_return=0.01
    )
    caps = dict(rr.size_caps(sig, 10_000.0, LIMITS))
    assert caps["position_cap"] == pytest.approx(500.0)
    assert caps["vol_target"] == pytest.approx(100.0 / 0.004)  # sigma_h = 0.002 x 2
    # mean / variance = 0.01 / (0.002^2 x 4 s) = 625, bounded at 1: half of equity.
    assert caps["kelly_cap"] == pytest.approx(0.5 * 1.0 * 10_000.0)
    # 1e-5 / 1.6e-5 = 0.625 of equity, under the bound; half of it. The old (2p-1)/r would say 50 000.
    small = dict(rr.size_caps(sig.derive(expected_return=1e-5), 10_000.0, LIMITS))
    assert small["kelly_cap"] == pytest.approx(0.5 * 0.625 * 10_000.0)
    zero_vol = dict(rr.size_caps(sig.derive(volatility=0.0), 10_000.0, LIMITS))
    assert "vol_target" not in zero_vol


def test_no_edge_and_bad_volatility() -> None:
    state = fresh()
    reject(state, signal("JUP/USDC", 1.0, sid="a").derive(expected_return=-0.001), rr.NO_EDGE)
    reject(state, signal("JUP/USDC", 1.0, sid="b").derive(volatility=-1.0), rr.BAD_SIGNAL)


# --- limits -------------------------------------------------------------------------------------------


def test_max_concurrent_positions_counts_held_and_pending_pairs() -> None:
    limits = rr.RiskLimits(max_concurrent_positions=1)
    state = fresh(limits)
    approve(state, signal("JUP/USDC", 1.0, sid="a"), limits)
    rej = reject(state, signal("BONK/SOL", 1e-4, sid="b"), rr.MAX_POSITIONS, limits)
    assert rej.reason == "max_positions: 1 pairs open >= 1"
    # the same pair is not a new position (another strategy: this one's position is full)
    approve(state, signal("JUP/USDC", 1.0, sid="c", strategy="other"), limits)


def test_orders_per_minute_in_event_time() -> None:
    limits = rr.RiskLimits(max_orders_per_minute=2, opening_inventory="drawdown")
    state = fresh(limits)
    approve(state, signal("JUP/USDC", 1.0, sid="a", ts_ms=1_000), limits)
    approve(state, signal("JUP/USDC", 1.0, sid="b", ts_ms=2_000, strategy="other"), limits)
    rej = reject(state, signal("BONK/SOL", 1e-4, sid="c", ts_ms=3_000), rr.RATE_LIMITED, limits)
    assert rej.reason == "rate_limited: 2 orders in the last 60s >= 2"
    approve(state, signal("BONK/SOL", 1e-4, sid="d", ts_ms=61_001), limits)  # 1 000 fell out of the window
    assert state.order_ts == [2_000, 61_001]


def test_min_pool_liquidity_filters_pools() -> None:
    limits = rr.RiskLimits(max_position_pct=0.5)  # 87.5 USDC: small enough for these pools' slippage
    state = fresh(limits)
    thin = pool("JUP/USDC", 1.0, depth_quote=20_000.0)  # liquidity 2 x 20 000 = 40 000 USDC
    rej = reject(state, signal("JUP/USDC", 1.0, sid="a", pools=[thin]), rr.LOW_LIQUIDITY, limits)
    assert rej.reason == "low_liquidity: deepest pool 40000 USDC < 50000"
    deep = pool("JUP/USDC", 1.0, depth_quote=25_000.0, name="deep")  # exactly 50 000: allowed
    order = approve(state, signal("JUP/USDC", 1.0, sid="b", pools=[thin, deep]), limits)
    assert order.pool == "deep"


def test_launch_cap_bounds_what_is_ever_bought_of_a_pumpfun_coin() -> None:
    curve = pool("PUMP/SOL", 3e-8, depth_quote=3_000.0, venue="pumpfun", fee_bps=100)
    state = fresh()
    first = approve(state, signal("PUMP/SOL", 3e-8, sid="a", pools=[curve]))
    # 100 USDC at the 150 USDC SOL fallback = 0.666 666 666 SOL (floored to lamports).
    assert first.amount_in == 666_666_666 and first.reason.startswith("resized: launch_cap 100.00")
    assert state.launch_notional["PUMP/SOL"] == pytest.approx(100.0, abs=1e-6)
    reject(state, signal("PUMP/SOL", 3e-8, sid="b", pools=[curve]), rr.LAUNCH_CAP_FULL)
    rr.apply_fill(state, fill_for(first, "failed"), LIMITS)  # nothing spent: the cap frees again
    assert state.launch_notional["PUMP/SOL"] == pytest.approx(0.0, abs=1e-6)
    approve(state, signal("PUMP/SOL", 3e-8, sid="c", pools=[curve]))


def test_deny_list_and_mint_authorities() -> None:
    limits = rr.RiskLimits(mint_deny_list=(JUP,))
    state = fresh(limits)
    reject(state, signal("JUP/USDC", 1.0, sid="a"), rr.DENIED_MINT, limits)
    state = fresh()
    rr.apply_mint(
        state, MintInfo(mint=JUP, decimals=6, mint_authority=None, freeze_authority="Frz", ts_ms=0), LIMITS
    )
    rej = reject(state, signal("JUP/USDC", 1.0, sid="b"), rr.MINT_AUTHORITY)
    assert rej.reason == f"mint_authority: {JUP}: freeze authority Frz still set"
    rr.apply_mint(
        state, MintInfo(mint=JUP, decimals=6, mint_authority=None, freeze_authority=None, ts_ms=0), LIMITS
    )
    approve(state, signal("JUP/USDC", 1.0, sid="c"))  # both revoked now


def test_stale_pair_and_all_pairs_stale_halt() -> None:
    state = fresh()
    approve(state, signal("JUP/USDC", 1.0, sid="a", ts_ms=1_000))
    approve(state, signal("BONK/SOL", 1e-4, sid="b", ts_ms=40_000))
    late = reject(state, signal("JUP/USDC", 1.0, sid="c", ts_ms=5_000), rr.STALE_PRICE)
    assert late.reason == "stale_price: JUP/USDC price 35.0s behind"
    old_pool = pool("JUP/USDC", 1.0).derive(ts_ms=5_000)  # a new signal, but on a pool state 45 s old
    reject(state, signal("JUP/USDC", 1.0, sid="d", ts_ms=50_000, pools=[old_pool]), rr.STALE_PRICE)
    # Only a mint record moves event time on: every priced pair is now stale -> halt.
    rr.apply_mint(
        state,
        MintInfo(mint=PUMP, decimals=6, mint_authority=None, freeze_authority=None, ts_ms=100_000),
        LIMITS,
    )
    assert state.halted and rr.STALE in state.halts
    approve(
        state, signal("JUP/USDC", 1.0, sid="e", ts_ms=100_500, strategy="other")
    )  # a fresh price clears it
    assert not state.halted


def raydium_outcome(state: rr.RiskState, i: int, status: str, reason: str = "") -> Fill:
    """The fill of an approved JUP/USDC buy on a deep Raydium pool: one outcome for the venue's record."""
    o = approve(
        state,
        signal("JUP/USDC", 1.0, sid=f"v{i}", ts_ms=1_000 + i, pools=[pool("JUP/USDC", 1.0, depth_quote=1e8)]),
    )
    return fill_for(o, status, ts_ms=1_000 + i).derive(reason=reason)


def test_venue_error_rate_halts_that_venues_buys() -> None:
    state = fresh()
    for i in range(4):
        rr.apply_fill(state, raydium_outcome(state, i, "failed"), LIMITS)
    assert state.venue_halts == {}  # 4 fills: fewer than the 5 the rate needs
    last = raydium_outcome(state, 4, "failed")
    rr.apply_fill(state, last, LIMITS)
    assert state.venue_halts == {"raydium": "5 of the last 5 fills failed > 0.5"}
    reject(state, signal("JUP/USDC", 1.0, sid="x", ts_ms=2_000), rr.VENUE_HALTED)
    orca = pool("JUP/USDC", 1.0, venue="orca", fee_bps=30)
    assert (
        approve(
            state, signal("JUP/USDC", 1.0, sid="y", ts_ms=2_000, pools=[pool("JUP/USDC", 1.0), orca])
        ).venue
        == "orca"
    )
    for i in range(6):  # later fills succeed: 5 failed of 11 = 0.45 <= 0.5 releases the venue
        ok = last.derive(id=f"ok{i}", order_id=f"none{i}", status="filled", base_amount=0, quote_amount=0)
        rr.apply_fill(state, ok, LIMITS)
    assert "raydium" not in state.venue_halts


def test_slippage_failures_are_the_markets_and_never_halt_the_venue() -> None:
    """A failed floor is the price moving between decision and landing: the venue did its job."""
    state = fresh()
    for i in range(8):
        rr.apply_fill(state, raydium_outcome(state, i, "failed", "slippage: got 99 < floor 100"), LIMITS)
    assert state.venue_halts == {}
    after = approve(state, signal("JUP/USDC", 1.0, sid="after", ts_ms=2_000, pools=[pool("JUP/USDC", 1.0)]))
    rr.apply_fill(state, fill_for(after, "failed", ts_ms=2_000), LIMITS)  # released: the cap has room again
    # The venue's own faults still count: five of them halt its buys.
    for i in range(8, 12):
        rr.apply_fill(state, raydium_outcome(state, i, "failed", "no_liquidity"), LIMITS)
    assert state.venue_halts == {"raydium": "5 of the last 5 fills failed > 0.5"}


@pytest.mark.parametrize(
    "reason",
    [
        "live_cap_day: 980.36 + 328.68 > 1000.00 USDC",
        "live_cap_order: 600.00 > 500.00 USDC",
        "live_unpriced: no SOL/USDC price",
        "dry_run: ok, 61234 units",
    ],
)
def test_the_bots_own_refusals_never_halt_the_venue(reason: str) -> None:
    """A live cap or a dry run refuses an order before the venue is asked: on the sandbox, four day-cap
    refusals halted Raydium and the rest of the run decided `venue_halted` (402 signals)."""
    state = fresh()
    for i in range(8):
        rr.apply_fill(state, raydium_outcome(state, i, "failed", reason), LIMITS)
    assert state.venue_halts == {}


def test_the_own_refusal_codes_are_the_ones_live_execution_writes() -> None:
    from agents.live_execution import DRY_RUN
    from risk.codes import OWN_FILL_REASONS
    from venues.live_caps import LIVE_CAP_DAY, LIVE_CAP_ORDER, LIVE_UNPRICED

    assert set(OWN_FILL_REASONS) == {LIVE_CAP_ORDER, LIVE_CAP_DAY, LIVE_UNPRICED, DRY_RUN}


def test_daily_drawdown_halts_until_the_next_utc_day() -> None:
    state = fresh()
    reject(state, signal("SOL/USDC", 100.0, sid="a", confidence=0.1), rr.LOW_CONFIDENCE)  # equity 15 000
    assert state.day_start_equity_usdc == pytest.approx(15_000.0)
    reject(state, signal("SOL/USDC", 84.0, sid="b", ts_ms=2_000, confidence=0.1), rr.LOW_CONFIDENCE)
    # 10 000 + 50 x 84 = 14 200: 5.33 % under the day's 15 000 (> 5 %), under the peak's 10 % too.
    assert state.halts.keys() == {rr.DAILY_DRAWDOWN}
    assert state.halt_reason.startswith("daily drawdown 5.33% > 5%")
    reject(state, signal("JUP/USDC", 1.0, sid="c", ts_ms=3_000), rr.HALTED)
    approve(state, signal("JUP/USDC", 1.0, sid="d", ts_ms=rr.DAY_MS + 1))  # a new UTC day
    assert not state.halted and state.day_start_equity_usdc == pytest.approx(14_200.0)


# --- exits --------------------------------------------------------------------------------------------


def held(state: rr.RiskState) -> float:
    order = approve(state, signal("JUP/USDC", 1.0, sid="a"))
    rr.apply_fill(state, fill_for(order), LIMITS)  # opened at ts 2 000
    return state.positions["JUP/USDC"].entry_price


def tick(state: rr.RiskState, price: float, ts: int) -> list[Order]:
    return rr.exits(state, "JUP/USDC", price, ts, [pool("JUP/USDC", price)], LIMITS, 9)


def test_take_profit() -> None:
    state = fresh()
    entry = held(state)
    assert tick(state, entry * 1.049, 3_000) == []
    (o,) = tick(state, entry * 1.05, 4_000)
    assert o.id == "exit:JUP/USDC:4000:take_profit" and o.kind == rr.TAKE_PROFIT and o.side == "sell"
    assert tick(state, entry * 1.2, 5_000) == []  # one exit in flight per pair


def test_trailing_stop_from_the_high_since_entry() -> None:
    state = fresh()
    entry = held(state)
    assert tick(state, entry * 1.04, 3_000) == []  # the high is now entry x 1.04
    assert tick(state, entry * 1.04 * 0.971, 4_000) == []  # 2.9 % off the high, still above entry
    (o,) = tick(state, entry * 1.04 * 0.97, 5_000)  # 3 % off the high (0.8 % above entry)
    assert o.id == "exit:JUP/USDC:5000:trailing_stop" and rr.reason_code(o.reason) == rr.TRAILING_STOP


def test_time_stop_in_event_time() -> None:
    state = fresh()
    entry = held(state)
    assert tick(state, entry, 2_000 + 3_599_999) == []
    (o,) = tick(state, entry, 2_000 + 3_600_000)
    assert o.kind == rr.TIME_STOP and o.reason == "time_stop: held 3600s >= 3600s"


# --- kill switch --------------------------------------------------------------------------------------


def test_manual_halt_with_flatten_then_resume() -> None:
    state = fresh()
    held(state)
    rr.apply_control(state, control("halt", flatten=True), LIMITS)
    assert state.halted and state.halt_reason == "manual: test"
    reject(state, signal("JUP/USDC", 1.0, sid="b"), rr.HALTED)
    (o,) = rr.flatten(state, LIMITS, now_ms=9)  # at the newest event time: the fill's, 2 000
    assert (
        o.id == "exit:JUP/USDC:2000:breaker" and o.kind == rr.BREAKER and o.reason == "flatten: manual: test"
    )
    assert rr.flatten(state, LIMITS, now_ms=9) == []  # asked once, done once
    rr.apply_control(state, control("resume"), LIMITS)
    assert not state.halted


def test_resume_does_not_clear_a_drawdown_halt() -> None:
    state = fresh()
    rr.set_halt(state, rr.DRAWDOWN, "drawdown 12.00% > 10%", LIMITS)
    rr.apply_control(state, control("halt"), LIMITS)
    rr.apply_control(state, control("resume"), LIMITS)
    assert state.halted and state.halts == {rr.DRAWDOWN: "drawdown 12.00% > 10%"}


def test_flatten_on_halt_setting_sells_on_a_breaker() -> None:
    limits = rr.RiskLimits(flatten_on_halt=True)
    state = fresh(limits)
    held(state)
    rr.set_halt(state, rr.DAILY_DRAWDOWN, "test", limits)
    assert [o.pair for o in rr.flatten(state, limits, 9)] == ["JUP/USDC"]


def test_old_state_without_new_fields_loads() -> None:
    d = fresh().to_dict()
    for key in ("halts", "price_ts", "order_ts", "venue_fills", "launch_notional", "bad_mints", "pools"):
        del d[key]
    assert rr.RiskState.from_dict(d).halts == {}
    assert SOL in d["balances"]
