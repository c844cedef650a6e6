"""Pump.fun prices follow the program's fee rounding: protocol and creator fee each rounded up
(pump-public-docs `docs/bondingCurve.ts`), wherever the bot prices a curve from a pool state.

The vector (`tests/venues/vectors/pumpfun_fees.json`) holds sells where one round-up of the total fee pays
the seller a lamport more than the program does; the pool state carries the split (`creator_fee_bps`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from market import bonding_curve as bc
from risk.pricing import quote_pool
from streams.records import Order, PoolState
from venues.fees import PriorityFeePolicy
from venues.paper.execution import _bonding_curve
from venues.pumpfun.execution import quote_sell
from venues.routing import Candidate, TxCosts

FEES = json.loads((Path(__file__).parents[1] / "venues/vectors/pumpfun_fees.json").read_text())
CURVE = FEES["curve"]
CASES = [c for c in FEES["cases"] if c["kind"] == "sell"]


def state(case: dict[str, Any], split: bool) -> PoolState:
    return PoolState(
        venue="pumpfun",
        pool="CURVE",
        base_mint="MINT",
        quote_mint="So11111111111111111111111111111111111111112",
        base_decimals=6,
        quote_decimals=9,
        base_reserve=CURVE["virtual_token_reserves"],
        quote_reserve=CURVE["virtual_quote_reserves"],
        fee_bps=case["protocol_fee_bps"] + case["creator_fee_bps"],
        creator_fee_bps=case["creator_fee_bps"] if split else 0,
        real_base_reserve=CURVE["real_token_reserves"],
    )


def sell_order(pool: PoolState, tokens: int) -> Order:
    return Order(
        id="o",
        signal_id="s",
        pair="MINT/SOL",
        side="sell",
        amount_in=tokens,
        min_amount_out=0,
        venue="pumpfun",
        pool=pool.pool,
        pool_state=pool,
        kind="exit",
        reason="t",
        ts_ms=1,
        origin_ms=1,
        decided_ms=1,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c["token_amount"]))
def test_every_pricer_pays_the_seller_what_the_program_pays(case: dict[str, Any]) -> None:
    pool, tokens = state(case, split=True), case["token_amount"]
    assert quote_pool(pool, "sell", tokens).amount_out == case["user_receives"]
    candidate = Candidate("pumpfun", pool.pool, TxCosts(priority=PriorityFeePolicy(0)), state=pool)
    assert candidate.amount_out("sell", tokens) == case["user_receives"]
    paper = _bonding_curve(sell_order(pool, tokens))
    assert (paper.out, paper.fee_quote) == (case["user_receives"], case["protocol_fee"] + case["creator_fee"])
    curve = bc.Curve(pool.base_reserve, pool.quote_reserve, pool.real_base_reserve)
    assert (
        quote_sell(curve, tokens, pool.fee_bps, 0, creator_fee_bps=pool.creator_fee_bps).expected_out
        == (case["user_receives"])
    )


@pytest.mark.parametrize("case", CASES[:1], ids=lambda c: str(c["token_amount"]))
def test_a_state_without_the_split_keeps_the_single_round_up(case: dict[str, Any]) -> None:
    """Older records (no `creator_fee_bps`) price as before: the total rounded once, a lamport more."""
    pool = state(case, split=False)
    assert (
        quote_pool(pool, "sell", case["token_amount"]).amount_out
        == (case["combined_rounding_result_as_code_today"])
    )
    assert case["differs_by"] == 1


def test_a_buy_prices_with_the_split_too() -> None:
    case = CASES[0]
    pool = state(case, split=True)
    curve = bc.Curve(pool.base_reserve, pool.quote_reserve, pool.real_base_reserve)
    tokens, _, _ = bc.buy_with_sol(curve, 10**9, pool.fee_bps, pool.creator_fee_bps)
    assert quote_pool(pool, "buy", 10**9).amount_out == tokens
