"""Jupiter quotes and Drift books reach the features: the pure maths, then through the fold."""

from __future__ import annotations

import math

import pytest

from backtest.memory_tables import feature_tables
from backtest.recording import RecordedMessage as Message  # a consumed record's shape
from features.folding import FeatureFolder, ProgressMarks, fold_batch
from features.market_signals import (
    PERP_FEATURES,
    QUOTE_FEATURES,
    market_features,
    perp_context,
    quote_context,
)
from market.simulator import MarketSimulator
from market.tokens import USDC, WSOL
from streams.codec import encode
from streams.records import JupiterQuote, PerpBook, PoolState, Swap

T0 = 1_700_000_000_000
HOUR = 3_600_000
POOL = PoolState(
    venue="raydium", pool="p", base_mint=WSOL, quote_mint=USDC, base_decimals=9, quote_decimals=6,
    base_reserve=1_000 * 10**9, quote_reserve=150_000 * 10**6, fee_bps=25,
)  # fmt: skip


def quote(ts_ms: int, *, buy: bool, price: float, received_ms: int = 0) -> JupiterQuote:
    """A quote at `price` USDC per SOL: 150 USDC in (a buy) or 1 SOL in (a sell)."""
    if buy:
        ins, outs, in_amount, out_amount = USDC, WSOL, 150 * 10**6, round(150 / price * 10**9)
    else:
        ins, outs, in_amount, out_amount = WSOL, USDC, 10**9, round(price * 10**6)
    return JupiterQuote(
        pair="SOL/USDC", input_mint=ins, output_mint=outs, in_amount=in_amount, out_amount=out_amount,
        other_amount_threshold=out_amount, swap_mode="ExactIn", slippage_bps=50, price_impact_pct=0.0,
        route=["Raydium"], context_slot=0, usd_price_in=0.0, usd_price_out=0.0, ts_ms=ts_ms,
        received_ms=received_ms or ts_ms,
    )  # fmt: skip


def book(ts_ms: int, bid: float, ask: float, *, imbalance: float = 0.25, funding: float = 2e-5) -> PerpBook:
    return PerpBook(
        market="SOL-PERP", market_index=0, slot=1, best_bid=round(bid * 1e6), best_ask=round(ask * 1e6),
        oracle_price=0, spread_bps=0.0, depth_bps=50, bid_depth=1, ask_depth=1, imbalance=imbalance,
        bids=[], asks=[], funding_rate_hourly=funding, funding_ts_ms=0, ts_ms=ts_ms, received_ms=ts_ms,
    )  # fmt: skip


def test_the_quote_says_what_the_aggregator_costs_against_the_pools_either_way() -> None:
    mid = 150.0
    buy = market_features({"quote": quote_context(quote(T0, buy=True, price=150.3))}, mid, T0 + 2_000, [POOL])
    assert buy["quote_cost_bps"] == pytest.approx(math.log(150.3 / 150) * 1e4, abs=0.01)
    assert (buy["quote_age_s"], buy["has_quote"]) == (2.0, 1.0)
    sell = market_features({"quote": quote_context(quote(T0, buy=False, price=149.7))}, mid, T0, [POOL])
    assert sell["quote_cost_bps"] == pytest.approx(-math.log(149.7 / 150) * 1e4, abs=0.01)  # a cost: > 0
    better = market_features({"quote": quote_context(quote(T0, buy=True, price=149.9))}, mid, T0, [POOL])
    assert better["quote_cost_bps"] < 0  # the aggregator finds a better price than the pools the bot sees


def test_the_perp_book_gives_basis_spread_imbalance_and_funding() -> None:
    got = market_features({"perp": perp_context(book(T0, 150.9, 151.1))}, 150.0, T0 + 500, [POOL])
    assert got["perp_basis_bps"] == pytest.approx(math.log(151.0 / 150.0) * 1e4)
    assert got["perp_spread_bps"] == pytest.approx(0.2 / 151.0 * 1e4)
    assert (got["perp_imbalance"], got["perp_funding_bps_h"], got["perp_age_s"], got["has_perp"]) == (
        0.25, pytest.approx(0.2), 0.5, 1.0,
    )  # fmt: skip
    assert perp_context(book(T0, 0.0, 151.0)) is None  # an empty side: no mid


def test_stale_or_future_data_is_neutral_and_a_pair_without_any_gets_no_such_features() -> None:
    context = {
        "quote": quote_context(quote(T0, buy=True, price=150.3)),
        "perp": perp_context(book(T0, 150, 151)),
    }
    stale = market_features(context, 150.0, T0 + 30_001, [POOL])
    assert stale == dict.fromkeys(QUOTE_FEATURES + PERP_FEATURES, 0.0)
    ahead = market_features(context, 150.0, T0 - 1, [POOL])  # read ahead of the swaps: never seen early
    assert ahead["has_quote"] == 0.0 and ahead["has_perp"] == 0.0
    assert market_features({}, 150.0, T0, [POOL]) == {}
    other = {**quote_context(quote(T0, buy=True, price=150.3)), "input_mint": "SomeOtherMint"}  # type: ignore[dict-item]
    assert market_features({"quote": other}, 150.0, T0, [POOL])["has_quote"] == 0.0  # no pool trades it


def sol_swaps(n: int) -> list[Swap]:
    sim = MarketSimulator(seed=5, pairs=("SOL/USDC",), rate_eps=200.0, start_ms=T0, launches=False)
    return [e for e, _ in zip((e for e in sim.events() if isinstance(e, Swap)), range(n), strict=False)]


def fold(messages: list[Message]) -> tuple[list[dict[str, float]], list[tuple[int, str]]]:
    folder = FeatureFolder(snapshot_interval_ms=1000, **feature_tables())  # type: ignore[arg-type]
    batch = fold_batch(folder, ProgressMarks(step_ms=20), messages, skew_ms=5_000)
    return [s.features for s in batch.snapshots], batch.dead


def test_quotes_and_books_reach_the_snapshots_through_the_fold_and_garbage_is_a_dead_letter() -> None:
    swaps = sol_swaps(8_000)  # 40 s of event time
    as_messages = [
        Message("raw.swaps", 0, i, b"SOL/USDC", encode(s), s.ts_ms / 1000) for i, s in enumerate(swaps)
    ]
    plain, _ = fold(as_messages)
    assert plain and not any("has_quote" in f or "has_perp" in f for f in plain)  # nothing added without data
    t = swaps[0].ts_ms
    future = encode(quote(t + HOUR, buy=True, price=1.0, received_ms=t))  # an hour after its receipt
    market = [
        Message("raw.quotes", 0, 0, b"SOL/USDC", encode(quote(t, buy=True, price=200.0)), t / 1000),
        Message("raw.perps", 0, 0, b"SOL/USDC", encode(book(t, 150.0, 150.2)), t / 1000),
        Message("raw.quotes", 0, 1, b"SOL/USDC", b"{not json", t / 1000),
        Message("raw.perps", 0, 1, b"SOL/USDC", encode(book(t, 151.0, 150.0)), t / 1000),  # crossed
        Message("raw.quotes", 0, 2, b"SOL/USDC", future, 0),
    ]
    features, dead = fold(market + as_messages)
    assert [i for i, _ in dead] == [2, 3, 4]
    assert "crossed book" in dead[1][1] and "after its receipt" in dead[2][1]
    first = features[0]
    assert first["has_quote"] == 1.0 and first["has_perp"] == 1.0 and first["quote_cost_bps"] > 1_000
    assert {k: v for k, v in first.items() if k in plain[0]} == plain[0]  # the swap features are unchanged
    assert features[-1]["has_quote"] == 0.0  # 30 s on, the one quote is stale
    elsewhere = [
        Message("raw.perps", 1, 0, b"SOL/USDC", encode(book(t, 150.0, 150.2)), t / 1000),  # not its partition
        Message("raw.quotes", 0, 0, b"SOL-PERP", encode(quote(t, buy=True, price=150.0)), t / 1000),
    ]
    _, dead = fold(as_messages[:10] + elsewhere)
    assert [reason.split(":")[0] for _, reason in dead] == ["partition", "key"]
