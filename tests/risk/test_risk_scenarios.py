"""Market scenarios through the pure risk core: a flash crash, a drained pool, a rugged launch, a stale
feed. Each order is filled at once at its expected output (the paper venue's behaviour)."""

from __future__ import annotations

import pytest
from risk_factories import PUMP, fill_for, fresh, pool, signal

import risk as rr
from models.strategies import PumpLaunchStrategy
from streams.records import MintInfo, Order, PoolState, Rejection


def step(
    state: rr.RiskState,
    limits: rr.RiskLimits,
    pair: str,
    price: float,
    ts: int,
    *,
    pools: list[PoolState] | None = None,
    direction: int = 1,
    confidence: float = 0.9,
    strategy: str = "test",
) -> tuple[list[Order], Order | Rejection]:
    """What the agent does with one signal (exits first, then the decision, then any flatten), filling
    every order at once."""
    pools = pools if pools is not None else [pool(pair, price)]
    sig = signal(
        pair,
        price,
        direction,
        sid=f"{pair}@{ts}",
        ts_ms=ts,
        confidence=confidence,
        pools=pools,
        strategy=strategy,
    )
    out_exits = rr.exits(state, pair, price, ts, pools, limits, now_ms=ts)
    decision = rr.decide(state, sig, limits, now_ms=ts)
    flat = rr.flatten(state, limits, now_ms=ts)
    for order in [*out_exits, *flat] + ([decision] if isinstance(decision, Order) else []):
        rr.apply_fill(state, fill_for(order, ts_ms=ts), limits)
    return out_exits + flat, decision


def within_caps(state: rr.RiskState, limits: rr.RiskLimits) -> None:
    equity = rr.equity_usdc(state)
    tol = 1e-9 * equity + 1e-6
    assert rr.total_exposure_usdc(state) <= limits.max_total_exposure_pct / 100 * equity + tol
    for pair in state.positions:
        assert rr.pair_exposure_usdc(state, pair) <= limits.max_pair_exposure_pct / 100 * equity + tol


@pytest.mark.parametrize("flatten_on_halt", [False, True])
def test_flash_crash_forty_percent_in_ten_seconds(flatten_on_halt: bool) -> None:
    limits = rr.RiskLimits(flatten_on_halt=flatten_on_halt)
    state = fresh(limits)
    _, sol = step(state, limits, "SOL/USDC", 100.0, 1_000)
    _, jup = step(state, limits, "JUP/USDC", 1.0, 1_500)
    assert isinstance(sol, Order) and isinstance(jup, Order)
    assert set(state.positions) == {"SOL/USDC", "JUP/USDC"}
    kinds: list[str] = []
    for k in range(1, 11):  # 100 -> 60 over 10 s of event time
        exits_, decision = step(state, limits, "SOL/USDC", 100.0 - 4.0 * k, 1_500 + 1_000 * k)
        kinds += [o.kind for o in exits_]
        within_caps(state, limits)
        if state.halted:
            assert isinstance(decision, Rejection) and rr.reason_code(decision.reason) == rr.HALTED
    assert kinds[0] == rr.STOP_LOSS  # at 96, 4 % under the entry
    assert {rr.DAILY_DRAWDOWN, rr.DRAWDOWN} <= set(state.halts)  # 50 paper SOL lost 40 %: > 5 % and > 10 %
    assert "SOL/USDC" not in state.positions
    if flatten_on_halt:
        assert rr.BREAKER in kinds and state.positions == {}
    else:
        assert set(state.positions) == {"JUP/USDC"}
    _, late = step(state, limits, "JUP/USDC", 1.0, 12_000)
    assert isinstance(late, Rejection) and rr.reason_code(late.reason) == rr.HALTED


def test_liquidity_drained_from_a_pool_stops_buys_there_not_exits() -> None:
    limits = rr.RiskLimits(max_position_pct=0.2)  # 35 USDC: small enough for a drained pool's slippage
    state = fresh(limits)
    _, first = step(state, limits, "JUP/USDC", 1.0, 1_000)
    assert isinstance(first, Order)
    codes = []
    for k, depth in enumerate([200_000.0, 50_000.0, 24_000.0, 5_000.0], start=1):
        _, decision = step(  # each buy another strategy's: one strategy's position is full after one
            state,
            limits,
            "JUP/USDC",
            1.0,
            1_000 + 1_000 * k,
            pools=[pool("JUP/USDC", 1.0, depth)],
            strategy=f"s{k}",
        )
        codes.append(rr.reason_code(decision.reason))
    assert codes == [rr.ENTRY, rr.ENTRY, rr.LOW_LIQUIDITY, rr.LOW_LIQUIDITY]
    # The price falls on the drained pool: the stop loss still sells there.
    exits_, _ = step(state, limits, "JUP/USDC", 0.9, 9_000, pools=[pool("JUP/USDC", 0.9, 5_000.0)])
    assert [o.kind for o in exits_] == [rr.STOP_LOSS] and "JUP/USDC" not in state.positions


def test_launch_rugged_to_zero_loses_at_most_the_launch_cap() -> None:
    limits = rr.RiskLimits(max_slippage_bps=500)
    state = fresh(limits)
    step(state, limits, "SOL/USDC", 100.0, 500, confidence=0.1)  # price SOL, trade nothing
    before = rr.equity_usdc(state)
    curve = [pool("PUMP/SOL", 3e-8, depth_quote=300.0, venue="pumpfun", fee_bps=100)]
    decisions = [step(state, limits, "PUMP/SOL", 3e-8, 1_000 + 100 * k, pools=curve)[1] for k in range(5)]
    assert [rr.reason_code(d.reason) for d in decisions] == [rr.RESIZED] + [rr.LAUNCH_CAP_FULL] * 4
    assert state.launch_notional["PUMP/SOL"] == pytest.approx(100.0, abs=1e-6)
    # The creator dumps: the curve's price falls 1 000-fold; the stop loss sells into the rubble.
    rug = [pool("PUMP/SOL", 3e-11, depth_quote=0.3, venue="pumpfun", fee_bps=100)]
    # The first rugged price is an outlier (over price_outlier_pct from the last): held back, no stop yet.
    exits_, first_rug = step(state, limits, "PUMP/SOL", 3e-11, 5_000, pools=rug)
    assert exits_ == [] and rr.reason_code(first_rug.reason) == rr.OUTLIER_PRICE
    # The next price confirms it: the stop loss sells into the rubble.
    exits_, after_rug = step(state, limits, "PUMP/SOL", 3e-11, 5_050, pools=rug)
    assert [o.kind for o in exits_] == [rr.STOP_LOSS]
    assert rr.reason_code(after_rug.reason) == rr.EXIT_PENDING  # decided while the stop loss was in flight
    _, again = step(state, limits, "PUMP/SOL", 3e-11, 5_100, pools=rug, strategy="other")
    assert rr.reason_code(again.reason) == rr.PAIR_HALTED  # the 1 000-fold move halted the pair's buys
    _, later = step(state, limits, "PUMP/SOL", 3e-11, 200_000, pools=rug, strategy="other")
    assert rr.reason_code(later.reason) == rr.LAUNCH_CAP_FULL  # no averaging down into a rug
    loss = before - rr.equity_usdc(state)
    assert 99.0 < loss <= 100.0 + 1e-6
    assert state.balances.get(PUMP, 0) == 0


def test_stale_feed_trips_the_breaker_and_fresh_prices_clear_it() -> None:
    limits = rr.RiskLimits()
    state = fresh(limits)
    for ts in range(1_000, 11_000, 1_000):  # both pairs tick (unconfident signals: prices, no trades)
        step(
            state, limits, "JUP/USDC", 1.0, ts, pools=[pool("JUP/USDC", 1.0).derive(ts_ms=ts)], confidence=0.1
        )
        step(
            state,
            limits,
            "BONK/SOL",
            1e-4,
            ts,
            pools=[pool("BONK/SOL", 1e-4).derive(ts_ms=ts)],
            confidence=0.1,
        )
    # JUP's swaps stop: its snapshots keep carrying the pool state of 10 s; BONK goes on.
    for ts in range(11_000, 50_000, 1_000):
        step(
            state,
            limits,
            "BONK/SOL",
            1e-4,
            ts,
            pools=[pool("BONK/SOL", 1e-4).derive(ts_ms=ts)],
            confidence=0.1,
        )
    _, jup = step(state, limits, "JUP/USDC", 1.0, 50_000, pools=[pool("JUP/USDC", 1.0).derive(ts_ms=10_000)])
    assert rr.reason_code(jup.reason) == rr.STALE_PRICE and not state.halted
    # Now the whole feed stops; only on-chain mint records move event time on: every pair is stale.
    info = MintInfo(mint=PUMP, decimals=6, mint_authority=None, freeze_authority=None, ts_ms=90_000)
    rr.apply_mint(state, info, limits)
    assert state.halts.keys() == {rr.STALE}
    _, halted = step(
        state, limits, "JUP/USDC", 1.0, 90_000, pools=[pool("JUP/USDC", 1.0).derive(ts_ms=40_000)]
    )
    assert rr.reason_code(halted.reason) == rr.HALTED
    # Fresh swaps return: the breaker clears and buys resume.
    _, back = step(state, limits, "JUP/USDC", 1.0, 91_000, pools=[pool("JUP/USDC", 1.0).derive(ts_ms=91_000)])
    assert not state.halted and isinstance(back, Order)


def test_a_launch_buy_risk_refused_does_not_keep_the_strategy_out() -> None:
    """The launch strategy asks before risk decides, so it cannot know a buy happened: a refused ask (here
    a pair halt) used to mark it holding, out of the curve until its exit. Now it asks again while the
    entry holds, risk buys once the halt is over, and its exit sells the lot it got."""
    strategy = PumpLaunchStrategy()
    limits = rr.RiskLimits(max_slippage_bps=500)
    state = fresh(limits)
    step(state, limits, "SOL/USDC", 100.0, 500, confidence=0.1)  # price SOL, trade nothing
    curve = [pool("PUMP/SOL", 3e-8, depth_quote=3_000.0, venue="pumpfun", fee_bps=100)]
    hot = {"trades_10s": 30.0, "ofi_10s": 0.6, "liquidity_quote": 80.0}
    state.pair_halts["PUMP/SOL"] = [2_000, "PUMP/SOL moved 40% within 10s"]

    def ask(ts: int, features: dict[str, float]) -> Order | Rejection | None:
        intent = strategy.on_features("PUMP/SOL", ts, 3e-8, features, None)
        if intent is None:
            return None
        return step(
            state,
            limits,
            "PUMP/SOL",
            3e-8,
            ts,
            pools=curve,
            direction=intent.direction,
            confidence=intent.confidence,
            strategy=intent.strategy,
        )[1]

    halted = ask(1_000, hot)
    assert halted is not None and rr.reason_code(halted.reason) == rr.PAIR_HALTED
    bought = ask(2_500, hot)
    assert isinstance(bought, Order) and bought.side == "buy"
    lot = state.positions["PUMP/SOL"].lots["pump_launch"]
    assert lot > 0
    full = ask(3_000, hot)  # still hot: asked again, and the launch cap says no more
    assert full is not None and rr.reason_code(full.reason) == rr.LAUNCH_CAP_FULL
    sold = ask(3_500, {**hot, "ofi_10s": -0.5})
    assert isinstance(sold, Order) and sold.side == "sell" and sold.amount_in == lot
    assert "PUMP/SOL" not in state.positions
