"""Risk routes buys with venues.routing: best net pool, and a split when one pool's impact is too large.

Wallet 10 000 USDC + 50 SOL at the 150 USDC fallback: equity 17 500, so a full position is 875 USDC.
The pools here have no fee, so every number is constant-product maths: out = R_out x in // (R_in + in),
and risk's impact (fee-free) is 1 - out / in for a pool priced at 1.0.
"""

from __future__ import annotations

from risk_factories import JUP, USDC, fill_for, fresh, pool, signal

import risk as rr
from core.logs import correlation_of
from risk.apply import apply_message
from solbot.audit import decision_id
from streams.codec import encode
from streams.records import Order, PoolState, Rejection
from streams.topics import SIGNALS

LIMITS = rr.RiskLimits()  # max_slippage_bps 100


def two_pools(depth_quote: float) -> list[PoolState]:
    return [
        pool("JUP/USDC", 1.0, depth_quote, fee_bps=0, name="A"),
        pool("JUP/USDC", 1.0, depth_quote, fee_bps=0, venue="orca", name="B"),
    ]


def orders_of(out: list[Order | Rejection]) -> list[Order]:
    assert all(isinstance(o, Order) for o in out), [o.reason for o in out]
    return [o for o in out if isinstance(o, Order)]


def test_large_buy_splits_across_two_pools_with_hand_computed_legs() -> None:
    # Single pool of 60 000 / 60 000: 875e6 in -> 60e9 x 875e6 // 60.875e9 = 862 422 997, impact 143.7 bps
    # > 100. Greedy in 20 chunks of 43.75e6 alternates between the equal pools: 437.5e6 each, each
    # 60e9 x 437.5e6 // 60.4375e9 = 434 332 988 (impact 72.4 bps), 868 665 976 in all > 862 422 997.
    state = fresh()
    legs = orders_of(
        rr.decide_all(state, signal("JUP/USDC", 1.0, sid="a", pools=two_pools(60_000)), LIMITS, 7)
    )
    assert [o.id for o in legs] == ["ord:sig:a/leg0", "ord:sig:a/leg1"]
    assert [o.pool for o in legs] == ["A", "B"]
    assert [o.venue for o in legs] == ["raydium", "orca"]
    assert [o.amount_in for o in legs] == [437_500_000, 437_500_000]
    assert [o.min_amount_out for o in legs] == [429_989_658, 429_989_658]  # 434 332 988 x 0.99
    assert all(o.pool_state.pool == o.pool and o.signal_id == "sig:a" for o in legs)
    assert all(rr.reason_code(o.reason) == rr.ENTRY and "split in 2" in o.reason for o in legs)
    # Every leg reserves its own input; the legs together are one approved decision and one order of the rate.
    assert [state.pending[o.id].expected_base for o in legs] == [434_332_988, 434_332_988]
    assert all(state.pending[o.id].strategy == "test" for o in legs)
    assert rr.available(state, USDC) == 10_000_000_000 - 875_000_000
    assert rr.pair_exposure_usdc(state, "JUP/USDC") == 875.0
    assert (state.decided, state.approved, state.rejected) == (1, 1, 0)
    assert state.order_ts == [1_000]
    # Fills of the legs book as the sum of the fills.
    rr.apply_fill(state, fill_for(legs[0]), LIMITS)
    assert state.positions["JUP/USDC"].base_amount == 434_332_988
    rr.apply_fill(state, fill_for(legs[1]), LIMITS)
    assert state.positions["JUP/USDC"].base_amount == 868_665_976
    assert state.positions["JUP/USDC"].cost_quote == 875_000_000
    assert state.balances[JUP] == 868_665_976 and not state.pending


def test_failed_leg_gives_back_only_its_own_reservation() -> None:
    state = fresh()
    legs = orders_of(
        rr.decide_all(state, signal("JUP/USDC", 1.0, sid="a", pools=two_pools(60_000)), LIMITS, 7)
    )
    rr.apply_fill(state, fill_for(legs[0], status="failed"), LIMITS)
    assert list(state.pending) == ["ord:sig:a/leg1"]
    assert rr.available(state, USDC) == 10_000_000_000 - 437_500_000
    rr.apply_fill(state, fill_for(legs[1]), LIMITS)
    assert state.positions["JUP/USDC"].base_amount == 434_332_988


def test_small_buy_stays_on_one_pool_with_its_plain_id() -> None:
    # 1 % of 17 500 = 175 USDC: 60e9 x 175e6 // 60.175e9 = 174 491 067, impact 29 bps: no split.
    limits = rr.RiskLimits(max_position_pct=1.0)
    state = fresh(limits)
    out = orders_of(
        rr.decide_all(state, signal("JUP/USDC", 1.0, sid="b", pools=two_pools(60_000)), limits, 7)
    )
    assert [(o.id, o.pool, o.amount_in) for o in out] == [("ord:sig:b", "A", 175_000_000)]
    assert state.pending["ord:sig:b"].expected_base == 174_491_067


def test_split_that_still_breaks_the_cap_shrinks_to_fit_one_pool() -> None:
    # 30 000-deep pools: alone 875e6 moves 283 bps; halves 437.5e6 still move 1 - 30e9/30.4375e9 = 144 bps.
    # The buy shrinks to the largest within 100 bps on the best pool, not refused.
    state = fresh()
    out = rr.decide_all(state, signal("JUP/USDC", 1.0, sid="c", pools=two_pools(30_000)), LIMITS, 7)
    assert len(out) == 1 and isinstance(out[0], Order) and out[0].id == "ord:sig:c"
    assert out[0].reason.startswith("resized: slippage_cap")
    assert rr.quote_pool(out[0].pool_state, "buy", out[0].amount_in).impact_bps <= LIMITS.max_slippage_bps
    assert state.pending[out[0].id].amount_in == out[0].amount_in < 875_000_000


def test_a_buy_refused_on_slippage_reserves_nothing() -> None:
    # 500-deep pools: within 100 bps a buy is ~5 USDC, under the 10 USDC minimum order.
    state = fresh()
    thin = rr.RiskLimits(min_pool_liquidity_usdc=0.0)
    out = rr.decide_all(state, signal("JUP/USDC", 1.0, sid="c", pools=two_pools(500)), thin, 7)
    assert len(out) == 1 and isinstance(out[0], Rejection)
    assert rr.reason_code(out[0].reason) == rr.SLIPPAGE and out[0].id == "rej:sig:c"
    assert not state.pending and state.order_ts == []


def test_decide_never_splits() -> None:
    state = fresh()
    out = rr.decide(state, signal("JUP/USDC", 1.0, sid="d", pools=two_pools(60_000)), LIMITS, 7)
    # one pool would move 143.7 bps: not split, shrunk to fit the cap on one pool
    assert isinstance(out, Order) and out.reason.startswith("resized: slippage_cap")


def test_best_net_pool_wins_on_the_paper_venue() -> None:
    # Equal depth, different fees: the 5 bps pool returns more than the 30 bps one for the same input.
    pools = [
        pool("JUP/USDC", 1.0, 1_000_000, fee_bps=30, name="dear"),
        pool("JUP/USDC", 1.0, 1_000_000, fee_bps=5, venue="orca", name="cheap"),
    ]
    state = fresh()
    (order,) = orders_of(rr.decide_all(state, signal("JUP/USDC", 1.0, sid="e", pools=pools), LIMITS, 7))
    assert (order.id, order.pool) == ("ord:sig:e", "cheap")
    assert rr.route_candidates(pools, LIMITS)[0].costs.lamports() == 0
    assert rr.route_candidates(pools, rr.RiskLimits(paper_venue=False))[0].costs.lamports() == 7_000


def test_risk_agent_step_publishes_every_leg() -> None:
    state = fresh()
    sig = signal("JUP/USDC", 1.0, sid="f", pools=two_pools(60_000))
    out = apply_message(state, SIGNALS.name, 0, 0, encode(sig), now_ms=7, limits=LIMITS)
    assert [o.id for o in out if isinstance(o, Order)] == ["ord:sig:f/leg0", "ord:sig:f/leg1"]


def test_leg_ids_lead_back_to_one_decision_and_the_snapshot() -> None:
    assert decision_id("ord:sig:SOL/USDC@1700000002500/leg1") == "ord:sig:SOL/USDC@1700000002500"
    assert decision_id("ord:sig:SOL/USDC@1700000002500") == "ord:sig:SOL/USDC@1700000002500"
    assert correlation_of("ord:sig:SOL/USDC@1700000002500:trend/leg0") == "SOL/USDC@1700000002500"
    assert correlation_of("fill:ord:sig:SOL/USDC@1700000002500/leg1") == "SOL/USDC@1700000002500"
