"""The backtest's fill model: latency, own impact, failing floors, network fees, sandwiches, stale pools."""

from __future__ import annotations

import pytest

from backtest.fill_model import FillModel, PoolBook, execute
from market import amm
from market.fills import FAILED, FILLED, SLIPPAGE, STALE_POOL
from market.tokens import USDC, WSOL
from risk.fills import apply_fill
from risk.limits import RiskLimits
from risk.state import RiskState
from streams.records import Order, PoolState, Swap
from venues.fee_policy import FeeLimits
from venues.fees import priority_fee_lamports
from venues.paper.execution import PaperVenue
from venues.routing import DEFAULT_UNIT_LIMIT

BASE = "TokenMint111"
POOL = "pool-cp"
WALLET = {WSOL: 100 * 10**9, BASE: 10**12}
HONEST = FillModel(latency_ms=500, on_decision_state=False, own_impact=True, network_fees=True)


def swap(ts_ms: int, base_reserve: int, quote_reserve: int) -> Swap:
    return Swap(
        venue="raydium",
        pool=POOL,
        pair="TOK/SOL",
        base_mint=BASE,
        quote_mint=WSOL,
        base_decimals=6,
        quote_decimals=9,
        side="buy",
        base_amount=1,
        quote_amount=1,
        base_reserve=base_reserve,
        quote_reserve=quote_reserve,
        fee_bps=25,
        slot=1,
        ts_ms=ts_ms,
        signature="s",
        received_ms=ts_ms,
    )


def state(ts_ms: int, base_reserve: int = 1_000_000_000, quote_reserve: int = 10_000_000_000) -> PoolState:
    return PoolState(
        venue="raydium",
        pool=POOL,
        base_mint=BASE,
        quote_mint=WSOL,
        base_decimals=6,
        quote_decimals=9,
        base_reserve=base_reserve,
        quote_reserve=quote_reserve,
        fee_bps=25,
        ts_ms=ts_ms,
    )


def buy(priced_on: PoolState, amount_in: int, slippage_bps: int = 100, oid: str = "ord:1") -> Order:
    out = amm.quote_out(amount_in, priced_on.quote_reserve, priced_on.base_reserve, priced_on.fee_bps)
    return Order(
        id=oid,
        signal_id="sig:" + oid,
        pair="TOK/SOL",
        side="buy",
        amount_in=amount_in,
        min_amount_out=out * (10_000 - slippage_bps) // 10_000,
        venue="raydium",
        pool=POOL,
        pool_state=priced_on,
        kind="entry",
        reason="test",
        ts_ms=priced_on.ts_ms,
        origin_ms=priced_on.ts_ms,
        decided_ms=priced_on.ts_ms,
    )


def test_the_pipeline_model_fills_on_the_decision_state_with_no_costs() -> None:
    book = PoolBook()
    book.observe(swap(1_000, 1_000_000_000, 10_000_000_000))
    book.observe(swap(1_200, 500_000_000, 20_000_000_000))  # the pool moved a lot since
    order = buy(state(1_000), 1_000_000_000)
    done = execute(FillModel.pipeline(), book, PaperVenue(), order, WALLET, 1_000)
    assert done.fill.status == FILLED and done.fill_state is order.pool_state
    assert done.fill.network_fee_lamports == 0
    assert FillModel.pipeline().is_pipeline and not HONEST.is_pipeline


def test_a_fill_takes_the_pool_as_it_stands_at_decision_plus_latency_and_its_floor_can_fail() -> None:
    book = PoolBook()
    book.observe(swap(1_000, 1_000_000_000, 10_000_000_000))
    book.observe(swap(1_300, 980_000_000, 10_204_000_000))  # 4 % dearer by the time the order lands
    book.observe(swap(1_900, 1_000_000_000, 10_000_000_000))  # back, but after the fill time
    order = buy(state(1_000), 1_000_000_000, slippage_bps=100)
    done = execute(HONEST, book, PaperVenue(), order, WALLET, 1_500)
    assert done.fill_state.ts_ms == 1_300
    assert done.fill.status == FAILED and done.fill.reason == SLIPPAGE
    # it landed and failed: the transaction is paid for all the same
    assert done.fill.network_fee_lamports == HONEST.network_fee_lamports("entry") > 0
    # with room in its floor it fills, for fewer tokens than the decision's state promised
    loose = buy(state(1_000), 1_000_000_000, slippage_bps=800, oid="ord:2")
    filled = execute(HONEST, PoolBook(), PaperVenue(), loose, WALLET, 1_500).fill
    book2 = PoolBook()
    book2.observe(swap(1_300, 980_000_000, 10_204_000_000))
    moved = execute(HONEST, book2, PaperVenue(), loose, WALLET, 1_500).fill
    assert moved.status == FILLED and moved.base_amount < filled.base_amount


def test_own_fills_move_the_pool_until_its_next_observed_state() -> None:
    book = PoolBook()
    book.observe(swap(1_000, 1_000_000_000, 10_000_000_000))
    first = execute(HONEST, book, PaperVenue(), buy(state(1_000), 100_000_000, 500), WALLET, 1_500)
    second = execute(
        HONEST, book, PaperVenue(), buy(state(1_000), 100_000_000, 500, oid="ord:2"), WALLET, 1_600
    )
    assert first.fill.status == second.fill.status == FILLED
    assert second.fill.base_amount < first.fill.base_amount  # the first buy made the second dearer
    after_first = second.fill_state
    assert after_first.quote_reserve == 10_000_000_000 + 100_000_000
    assert after_first.base_reserve == 1_000_000_000 - first.fill.base_amount
    book.observe(swap(1_700, 1_000_000_000, 10_000_000_000))  # recorded without the bot: replaces it
    third = execute(
        HONEST, book, PaperVenue(), buy(state(1_000), 100_000_000, 500, oid="ord:3"), WALLET, 1_800
    )
    assert third.fill.base_amount == first.fill.base_amount


def test_a_fill_on_a_stale_pool_fails_and_sends_nothing() -> None:
    book = PoolBook()
    book.observe(swap(1_000, 1_000_000_000, 10_000_000_000))
    model = FillModel(latency_ms=500, on_decision_state=False, network_fees=True, max_pool_age_ms=10_000)
    done = execute(model, book, PaperVenue(), buy(state(1_000), 10**9), WALLET, 12_000)
    assert done.fill.status == FAILED and done.fill.reason == STALE_POOL
    assert done.fill.network_fee_lamports == 0


def test_a_full_sandwich_fills_at_the_floor() -> None:
    book = PoolBook()
    book.observe(swap(1_000, 1_000_000_000, 10_000_000_000))
    model = FillModel(latency_ms=500, on_decision_state=False, sandwich_share=1.0)
    order = buy(state(1_000), 10**9, slippage_bps=100)
    done = execute(model, book, PaperVenue(), order, WALLET, 1_500)
    assert done.fill.status == FILLED and done.fill.base_amount == order.min_amount_out
    assert done.sandwich_out > 0
    with pytest.raises(ValueError):
        FillModel(sandwich_share=1.5)


def test_network_fees_are_the_live_fee_policys_signature_priority_fee_and_tip() -> None:
    limits = FeeLimits()
    model = FillModel(network_fees=True, fee_limits=limits)
    expected = 5_000 + priority_fee_lamports(DEFAULT_UNIT_LIMIT, limits.default_unit_price)
    expected += limits.default_tip_lamports
    assert model.network_fee_lamports("entry") == expected == 17_000
    capped = FillModel(network_fees=True, fee_limits=FeeLimits(default_tip_lamports=5_000_000))
    assert capped.network_fee_lamports("stop_loss") == 5_000 + 2_000 + capped.fee_limits.max_tip_lamports
    assert FillModel().network_fee_lamports("entry") == 0


def test_risk_charges_a_fills_network_fee_to_its_sol_filled_or_failed() -> None:
    limits = RiskLimits()
    risk = RiskState.initial("main", limits, WSOL, USDC)
    before = risk.balances.get(WSOL, 0)
    book = PoolBook()
    book.observe(swap(1_000, 1_000_000_000, 10_000_000_000))
    failed = execute(HONEST, book, PaperVenue(), buy(state(1_000), 10**9, 0), {}, 1_500).fill
    assert failed.status == FAILED and failed.network_fee_lamports == 0  # refused before sending
    paid = failed.derive(network_fee_lamports=17_000, reason=SLIPPAGE)
    apply_fill(risk, paid)
    assert risk.balances[WSOL] == before - 17_000
