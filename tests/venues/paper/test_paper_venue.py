"""The paper venue against hand-computed fills: constant product and Pump.fun bonding curve."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from core.errors import VenueRejected
from market.fills import mint_flows
from streams.records import Order, PoolState
from venues.interface import Venue
from venues.paper.execution import PaperVenue, b58encode, paper_signature

BASE, QUOTE = "TokenMint111", "So11111111111111111111111111111111111111112"


def cp_pool(**overrides: int) -> PoolState:
    fields: dict = dict(
        venue="raydium",
        pool="pool-cp",
        base_mint=BASE,
        quote_mint=QUOTE,
        base_decimals=6,
        quote_decimals=9,
        base_reserve=1_000_000_000,  # 1,000 tokens
        quote_reserve=10_000_000_000,  # 10 SOL
        fee_bps=25,
    )
    fields.update(overrides)
    return PoolState(**fields)


def curve_pool(**overrides: int) -> PoolState:
    fields: dict = dict(
        venue="pumpfun",
        pool="curve-1",
        base_mint=BASE,
        quote_mint=QUOTE,
        base_decimals=6,
        quote_decimals=9,
        base_reserve=1_073_000_000_000_000,  # the initial virtual reserves
        quote_reserve=30_000_000_000,
        real_base_reserve=793_100_000_000_000,
        fee_bps=100,
    )
    fields.update(overrides)
    return PoolState(**fields)


def order(state: PoolState, side: str, amount_in: int, min_out: int = 0, oid: str = "ord:1") -> Order:
    return Order(
        id=oid,
        signal_id="sig:1",
        pair="TOK/SOL",
        side=side,
        amount_in=amount_in,
        min_amount_out=min_out,
        venue=state.venue,
        pool=state.pool,
        pool_state=state,
        kind="entry",
        reason="test",
        ts_ms=1_000,
        origin_ms=900,
        decided_ms=950,
    )


RICH = MappingProxyType({BASE: 10**15, QUOTE: 10**12})


def test_paper_venue_is_a_venue() -> None:
    assert isinstance(PaperVenue(), Venue)


async def test_constant_product_buy_hand_computed() -> None:
    # fee = ceil(1e9 * 25 / 1e4) = 2_500_000; net = 997_500_000
    # out = floor(1e9 * 997_500_000 / (1e10 + 997_500_000)) = 90_702_432
    o = order(cp_pool(), "buy", 1_000_000_000, min_out=90_000_000)
    fill = await PaperVenue().execute(o, RICH, now_ms=5_000)
    assert (fill.status, fill.reason) == ("filled", "")
    assert fill.base_amount == 90_702_432
    assert fill.quote_amount == 1_000_000_000
    assert fill.fee_quote == 2_500_000
    assert fill.price == pytest.approx(1.0 / 90.702432)
    assert (fill.id, fill.order_id, fill.filled_ms, fill.ts_ms, fill.origin_ms) == (
        "fill:ord:1",
        "ord:1",
        5_000,
        1_000,
        900,
    )
    assert mint_flows(o, fill) == {QUOTE: -1_000_000_000, BASE: 90_702_432}


async def test_constant_product_sell_charges_fee_in_base_reported_in_quote() -> None:
    # fee = ceil(1e8 * 25 / 1e4) = 250_000 base; net = 99_750_000
    # out = floor(1e10 * 99_750_000 / (1e9 + 99_750_000)) = 907_024_323
    # fee_quote = floor(250_000 * 1e10 / 1e9) = 2_500_000 (at the pre-trade spot price)
    o = order(cp_pool(), "sell", 100_000_000)
    fill = await PaperVenue().execute(o, RICH, now_ms=5_000)
    assert fill.status == "filled"
    assert (fill.base_amount, fill.quote_amount, fill.fee_quote) == (100_000_000, 907_024_323, 2_500_000)
    assert fill.price == pytest.approx(0.907024323 / 100.0)
    assert mint_flows(o, fill) == {BASE: -100_000_000, QUOTE: 907_024_323}


async def test_bonding_curve_buy_hand_computed() -> None:
    # net = floor(1e9 * 1e4 / 10_100) = 990_099_009; fee = ceil(net / 100) = 9_900_991
    # tokens = floor(net * 1_073e12 / (30e9 + net)) = 34_281_150_129_545; paid = net + fee = 1e9
    fill = await PaperVenue().execute(order(curve_pool(), "buy", 1_000_000_000), RICH, now_ms=1)
    assert fill.status == "filled"
    assert (fill.base_amount, fill.quote_amount, fill.fee_quote) == (
        34_281_150_129_545,
        1_000_000_000,
        9_900_991,
    )


async def test_bonding_curve_sell_hand_computed() -> None:
    # gross = floor(1e13 * 30e9 / (1_073e12 + 1e13)) = 277_008_310; fee = ceil(gross / 100) = 2_770_084
    fill = await PaperVenue().execute(order(curve_pool(), "sell", 10_000_000_000_000), RICH, now_ms=1)
    assert fill.status == "filled"
    assert (fill.base_amount, fill.quote_amount, fill.fee_quote) == (
        10_000_000_000_000,
        274_238_226,
        2_770_084,
    )


async def test_bonding_curve_buy_capped_by_real_reserve_pays_only_for_what_is_left() -> None:
    # 1,000 tokens left on the curve: cost = floor(1e9 * 30e9 / (1_073e12 - 1e9)) + 1 = 27_960
    state = curve_pool(real_base_reserve=1_000_000_000)
    fill = await PaperVenue().execute(order(state, "buy", 10_000_000_000), RICH, now_ms=1)
    assert fill.base_amount == 1_000_000_000
    assert fill.quote_amount == 27_960 + 280  # fee = ceil(27_960 / 100)
    assert fill.fee_quote == 280


@pytest.mark.parametrize(
    ("state", "side", "amount_in", "min_out", "wallet", "reason"),
    [
        (cp_pool(), "buy", 1_000_000_000, 90_702_433, RICH, "slippage"),
        (cp_pool(), "buy", 1_000_000_000, 0, {QUOTE: 999_999_999}, "insufficient_balance"),
        (cp_pool(), "sell", 5, 0, {QUOTE: 10**12}, "insufficient_balance"),
        (cp_pool(base_reserve=0), "buy", 1_000, 0, RICH, "no_liquidity"),
        (cp_pool(), "buy", 1, 0, RICH, "no_liquidity"),  # rounds to zero out
        (curve_pool(real_base_reserve=0), "buy", 1_000, 0, RICH, "curve_complete"),
        (curve_pool(), "sell", 10_000_000_000_000, 274_238_227, RICH, "slippage"),
    ],
)
async def test_failures_move_nothing(
    state: PoolState, side: str, amount_in: int, min_out: int, wallet: dict, reason: str
) -> None:
    o = order(state, side, amount_in, min_out)
    before = dict(wallet)
    fill = await PaperVenue().execute(o, wallet, now_ms=7)
    assert (fill.status, fill.reason) == ("failed", reason)
    assert (fill.base_amount, fill.quote_amount, fill.fee_quote, fill.signature) == (0, 0, 0, "")
    assert mint_flows(o, fill) == {}
    assert dict(wallet) == before


async def test_malformed_order_is_rejected() -> None:
    with pytest.raises(VenueRejected):
        await PaperVenue().execute(order(cp_pool(), "hold", 1_000), RICH, now_ms=1)
    bad = order(cp_pool(), "buy", 1_000)
    bad.pool = "another-pool"
    with pytest.raises(VenueRejected):
        await PaperVenue().execute(bad, RICH, now_ms=1)


async def test_deterministic_with_base58_signature() -> None:
    venue = PaperVenue()
    a = await venue.execute(order(cp_pool(), "buy", 10**9), RICH, now_ms=3)
    b = await venue.execute(order(cp_pool(), "buy", 10**9), dict(RICH), now_ms=3)
    assert a.asdict() == b.asdict()
    assert a.signature == paper_signature("ord:1") != paper_signature("ord:2")
    assert b58encode(b"\0\0\x01") == "112"
    assert set(a.signature) <= set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
