"""Routing: best net execution across pools and a Jupiter quote, and splitting a large order."""

from __future__ import annotations

from fractions import Fraction

import pytest

from streams.records import PoolState
from venues.fees import PriorityFeePolicy, TipPolicy
from venues.jupiter.schemas import QuoteResponse as Quote
from venues.routing import Candidate, Intent, TxCosts, best_route, single_routes, split_route

NO_PRIORITY = PriorityFeePolicy(micro_lamports_per_unit=0)


def pool(name: str, base: int, quote: int, fee_bps: int, venue: str = "raydium", real: int = 0) -> PoolState:
    return PoolState(
        venue=venue,
        pool=name,
        base_mint="BASE",
        quote_mint="QUOTE",
        base_decimals=6,
        quote_decimals=6,
        base_reserve=base,
        quote_reserve=quote,
        fee_bps=fee_bps,
        real_base_reserve=real,
    )


def cand(state: PoolState, costs: TxCosts | None = None) -> Candidate:
    return Candidate(state.venue, state.pool, costs or TxCosts(priority=NO_PRIORITY), state=state)


def quote(in_amount: int, out_amount: int, impact_pct: str = "0.001") -> Quote:
    body = {
        "inputMint": "QUOTE",
        "outputMint": "BASE",
        "inAmount": str(in_amount),
        "outAmount": str(out_amount),
        "otherAmountThreshold": str(out_amount),
        "swapMode": "ExactIn",
        "slippageBps": 50,
        "priceImpactPct": impact_pct,
        "routePlan": [],
    }
    return Quote.parse(body)


def test_tx_costs_add_signature_priority_fee_and_tip() -> None:
    # 5,000 per signature; 200,000 units x 10,000 micro-lamports = 2,000 lamports; tip 10,000.
    assert TxCosts(priority=PriorityFeePolicy(10_000), tip=TipPolicy(10_000)).lamports() == 17_000
    assert TxCosts(signatures=2, priority=NO_PRIORITY).lamports() == 10_000


def test_better_pool_wins_on_gross_output() -> None:
    # A: 1e6/1e6, no fee: out = 1e6*1000 // 1_001_000 = 999.
    # B: 2e6/2e6, 30 bps: net in = 1000 - 3 = 997; out = 2e6*997 // 2_000_997 = 996.
    a, b = cand(pool("A", 1_000_000, 1_000_000, 0)), cand(pool("B", 2_000_000, 2_000_000, 30))
    routes = single_routes(Intent("X/Q", "buy", 1_000), [b, a])
    assert [(r.legs[0].candidate.pool, r.amount_out) for r in routes] == [("A", 999), ("B", 996)]


def test_costs_can_reverse_the_choice() -> None:
    # Output is worth 1 per 1,000 lamports. A: 999 out - (2 x 5,000 + 10,000 tip = 20,000 lamports = 20)
    # = 979; B: 996 - 5 = 991, so B wins net though A pays more gross.
    a = cand(
        pool("A", 1_000_000, 1_000_000, 0), TxCosts(signatures=2, priority=NO_PRIORITY, tip=TipPolicy(10_000))
    )
    b = cand(pool("B", 2_000_000, 2_000_000, 30))
    route = best_route(Intent("X/Q", "buy", 1_000, Fraction(1, 1_000)), [a, b])
    assert route is not None
    assert route.legs[0].candidate.pool == "B"
    assert route.net_out == 991
    assert route.cost_out == 5


def test_jupiter_quote_competes_as_a_single_fill() -> None:
    a = cand(pool("A", 1_000_000, 1_000_000, 0))
    jup = Candidate("jupiter", "route", TxCosts(priority=NO_PRIORITY), quote=quote(1_000, 1_000))
    route = best_route(Intent("X/Q", "buy", 1_000), [a, jup])
    assert route is not None and route.legs[0].candidate.venue == "jupiter" and route.amount_out == 1_000
    # A quote for another amount cannot fill this order.
    assert jup.amount_out("buy", 999) == 0


def test_sell_side_uses_base_as_input() -> None:
    # Sell 1,000 base into 1e6 base / 4e6 quote, no fee: out = 4e6*1000 // 1_001_000 = 3996.
    c = cand(pool("A", 1_000_000, 4_000_000, 0))
    assert c.amount_out("sell", 1_000) == 3_996


def test_large_order_is_split_across_two_equal_pools() -> None:
    # Single: 1e6*200_000 // 1_200_000 = 166,666 (impact ~1,667 bps). Split 100k + 100k:
    # 2 x (1e6*100_000 // 1_100_000) = 2 x 90,909 = 181,818.
    a, b = cand(pool("A", 1_000_000, 1_000_000, 0)), cand(pool("B", 1_000_000, 1_000_000, 0))
    route = best_route(Intent("X/Q", "buy", 200_000), [a, b], max_impact_bps=100, chunks=2)
    assert route is not None and route.split
    assert sorted(leg.amount_in for leg in route.legs) == [100_000, 100_000]
    assert route.amount_out == 181_818
    assert route.amount_in == 200_000


def test_split_favours_the_deeper_pool() -> None:
    deep, shallow = (
        cand(pool("deep", 9_000_000, 9_000_000, 0)),
        cand(pool("shallow", 1_000_000, 1_000_000, 0)),
    )
    route = split_route(Intent("X/Q", "buy", 1_000_000), [deep, shallow], chunks=10)
    assert route is not None
    by_pool = {leg.candidate.pool: leg.amount_in for leg in route.legs}
    # Equal marginal prices: the deep pool takes ~9x as much; with 10 chunks, 9 and 1.
    assert by_pool == {"deep": 900_000, "shallow": 100_000}
    assert route.amount_out == 9_000_000 * 900_000 // 9_900_000 + 1_000_000 * 100_000 // 1_100_000


def test_small_order_is_not_split() -> None:
    a, b = cand(pool("A", 1_000_000, 1_000_000, 0)), cand(pool("B", 1_000_000, 1_000_000, 0))
    route = best_route(Intent("X/Q", "buy", 1_000), [a, b], max_impact_bps=100)
    assert route is not None and not route.split


def test_split_only_when_it_nets_more_after_the_extra_transaction() -> None:
    # Impact is over the bound, but the second leg's 100,000-lamport tip (worth 100 out) exceeds the
    # split's gain: single = 1e6*20_000 // 1_020_000 = 19,607; split = 2 x 9,900 = 19,800 (+193).
    costs = TxCosts(priority=NO_PRIORITY, tip=TipPolicy(100_000, 100_000))
    a, b = cand(pool("A", 1_000_000, 1_000_000, 0), costs), cand(pool("B", 1_000_000, 1_000_000, 0), costs)
    route = best_route(Intent("X/Q", "buy", 20_000, Fraction(1, 1_000)), [a, b], max_impact_bps=50, chunks=2)
    assert route is not None and route.split  # +193 gross against +105 more cost: still better
    assert route.net_out == 19_800 - 210
    dear = TxCosts(priority=NO_PRIORITY, tip=TipPolicy(300_000, 300_000))
    a, b = cand(pool("A", 1_000_000, 1_000_000, 0), dear), cand(pool("B", 1_000_000, 1_000_000, 0), dear)
    route = best_route(Intent("X/Q", "buy", 20_000, Fraction(1, 1_000)), [a, b], max_impact_bps=50, chunks=2)
    assert route is not None and not route.split
    assert route.net_out == 19_607 - 305


def test_bonding_curve_buy_matches_the_curve_maths() -> None:
    # net = 1_010_000 * 10_000 // 10_100 = 1_000_000; tokens = 1e6 * 1e9 // (30e9 + 1e6) = 33,332.
    curve = pool("curve", 1_000_000_000, 30_000_000_000, 100, venue="pumpfun", real=800_000_000)
    assert cand(curve).amount_out("buy", 1_010_000) == 1_000_000 * 1_000_000_000 // 30_001_000_000


def test_nothing_fills_gives_none() -> None:
    empty = cand(pool("E", 0, 0, 0))
    assert best_route(Intent("X/Q", "buy", 1_000), [empty]) is None


def test_bad_intent_is_refused() -> None:
    with pytest.raises(ValueError):
        Intent("X/Q", "hold", 1)
    with pytest.raises(ValueError):
        Intent("X/Q", "buy", 0)
