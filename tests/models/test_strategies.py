"""Each strategy rule on hand-computed numbers, and the registry's serialisation."""

from __future__ import annotations

import math

import pytest

from core.errors import ConfigError
from models.online import Prediction
from models.strategies import (
    STRATEGIES,
    ArbitrageIntent,
    ArbitrageParams,
    ArbitrageStrategy,
    GridParams,
    GridStrategy,
    MeanReversionParams,
    MeanReversionStrategy,
    PumpLaunchStrategy,
    TrendFollowingStrategy,
    TrendParams,
    build,
    from_dict,
)
from models.strategies.pump_launch import END_VIRTUAL_SOL, progress_from_liquidity
from models.strategy import Intent, Strategy
from streams.records import PoolState


def pool(venue: str, base: int, quote: int, fee_bps: int, real_base: int = 0) -> PoolState:
    return PoolState(
        venue=venue,
        pool=f"{venue}-pool",
        base_mint="B",
        quote_mint="Q",
        base_decimals=6,
        quote_decimals=6,
        base_reserve=base,
        quote_reserve=quote,
        fee_bps=fee_bps,
        real_base_reserve=real_base,
    )


# -- trend -----------------------------------------------------------------------------------------


def test_trend_buys_a_move_of_more_than_entry_z_deviations_with_the_trend() -> None:
    # z = 0.01 / (0.001 * sqrt(10)) = 3.1623; confidence = 0.5 + 0.25 * (2 * Phi(1.1623) - 1) = 0.68872
    intent = TrendFollowingStrategy().on_features(
        "SOL/USDC", 0, 150.0, {"ret_10s": 0.01, "ret_60s": 0.02, "vol_10s": 0.001}, None
    )
    assert intent is not None
    assert intent.direction == 1
    assert intent.confidence == pytest.approx(0.688719, abs=1e-6)
    assert intent.expected_return == pytest.approx(0.005)  # carry 0.5 of the 10 s move


def test_trend_needs_the_long_trend_to_agree_and_the_move_to_stand_out() -> None:
    s = TrendFollowingStrategy()
    assert s.on_features("P", 0, 1.0, {"ret_10s": 0.01, "ret_60s": -0.001, "vol_10s": 0.001}, None) is None
    # z = 0.006 / 0.0031623 = 1.897 < 2
    assert s.on_features("P", 0, 1.0, {"ret_10s": 0.006, "ret_60s": 0.01, "vol_10s": 0.001}, None) is None
    assert s.on_features("P", 0, 1.0, {"ret_10s": 0.01, "ret_60s": 0.01, "vol_10s": 0.0}, None) is None
    down = s.on_features("P", 0, 1.0, {"ret_10s": -0.01, "ret_60s": -0.01, "vol_10s": 0.001}, None)
    assert down is not None and down.direction == -1


def test_trend_per_pair_parameters_override_the_default() -> None:
    s = TrendFollowingStrategy(TrendParams(), {"JUP/USDC": TrendParams(entry_z=4.0)})
    f = {"ret_10s": 0.01, "ret_60s": 0.02, "vol_10s": 0.001}  # z = 3.16
    assert s.on_features("SOL/USDC", 0, 1.0, f, None) is not None
    assert s.on_features("JUP/USDC", 0, 1.0, f, None) is None


# -- mean reversion --------------------------------------------------------------------------------


def test_mean_reversion_buys_below_vwap_and_sells_above() -> None:
    s = MeanReversionStrategy()
    # z = -0.006 / (0.0001 * sqrt(60)) = -7.746 <= -1.5: buy; expected return 0.5 * 0.006
    intent = s.on_features("P", 0, 1.0, {"vwap_dist_60s": -0.006, "vol_60s": 0.0001}, None)
    assert intent is not None and intent.direction == 1
    assert intent.expected_return == pytest.approx(0.003)
    assert intent.confidence == pytest.approx(0.7, abs=1e-9)  # Phi(6.25) ~ 1: the cap
    above = s.on_features("P", 0, 1.0, {"vwap_dist_60s": 0.006, "vol_60s": 0.0001}, None)
    assert above is not None and above.direction == -1
    # z = 0.001 / 0.00077460 = 1.29 < 1.5
    assert s.on_features("P", 0, 1.0, {"vwap_dist_60s": 0.001, "vol_60s": 0.0001}, None) is None
    looser = MeanReversionStrategy(MeanReversionParams(entry_z=1.2))
    sell = looser.on_features("P", 0, 1.0, {"vwap_dist_60s": 0.001, "vol_60s": 0.0001}, None)
    # z = 1.290994; confidence = 0.5 + 0.2 * (2 * Phi(0.090994) - 1) = 0.5 + 0.2 * 0.072503 = 0.514501
    assert sell is not None and sell.direction == -1
    assert sell.confidence == pytest.approx(0.514501, abs=1e-6)
    assert sell.expected_return == pytest.approx(-0.0005)


# -- grid ------------------------------------------------------------------------------------------


def test_grid_buys_down_the_levels_and_sells_each_lot_one_step_up() -> None:
    # centre 100, spacing 50 bps: L-1 = 99.5025, L-2 = 99.0075, L0 = 100
    s = GridStrategy(GridParams(levels=2, spacing_bps=50.0, center_price=100.0))
    step = math.log(1.005)
    assert s.on_features("P", 0, 99.6, {}, None) is None  # above L-1
    buy1 = s.on_features("P", 1, 99.50, {}, None)
    assert buy1 is not None and (buy1.direction, buy1.confidence, buy1.strategy) == (1, 0.6, "grid")
    assert buy1.expected_return == pytest.approx(step)
    assert s.filled_levels("P") == [-1]
    assert s.on_features("P", 2, 99.40, {}, None) is None  # L-1 filled, L-2 not reached
    buy2 = s.on_features("P", 3, 99.0, {}, None)
    assert buy2 is not None and buy2.direction == 1
    assert s.filled_levels("P") == [-2, -1]
    assert s.on_features("P", 4, 98.0, {}, None) is None  # below the grid: nothing left to buy
    sell = s.on_features("P", 5, 99.51, {}, None)  # >= L-1: the lot bought at L-2 takes profit
    assert sell is not None and sell.direction == -1 and s.filled_levels("P") == [-1]
    sell2 = s.on_features("P", 6, 100.0, {}, None)
    assert sell2 is not None and sell2.direction == -1 and s.filled_levels("P") == []


def test_grid_anchors_on_the_first_price_respects_bounds_and_releases_refused_levels() -> None:
    s = GridStrategy(GridParams(levels=3, spacing_bps=100.0, lower_bound_price=9.95))
    assert s.on_features("P", 0, 10.0, {}, None) is None  # centre = 10
    assert s.on_features("P", 1, 9.9, {}, None) is None  # 9.9 < lower bound: no buys
    s2 = GridStrategy(GridParams(levels=3, spacing_bps=100.0))
    s2.on_features("P", 0, 10.0, {}, None)
    assert s2.on_features("P", 1, 9.9, {}, None) is not None  # L-1 = 9.90099
    s2.release("P", s2.last_level["P"])
    assert s2.filled_levels("P") == []
    restored = GridStrategy(GridParams(levels=3, spacing_bps=100.0))
    s2.on_features("P", 2, 9.9, {}, None)
    restored.load_state(s2.state_dict())
    assert restored.filled_levels("P") == [-1]


# -- arbitrage -------------------------------------------------------------------------------------


def test_arbitrage_prices_both_legs_with_fees_and_impact() -> None:
    cheap = pool("raydium", 10**9, 100 * 10**9, 25)  # 100 quote per base, 100k quote deep
    dear = pool("orca", 10**9, 102 * 10**9, 30)  # 102
    spread = (102 - 100) / 101 * 10_000  # 198.02 bps
    s = ArbitrageStrategy(ArbitrageParams(size_quote=100.0))
    intent = s.on_features("B/Q", 0, 101.0, {"venue_spread_bps": spread}, None, pools=[dear, cheap])
    # buy leg: net = 1e8 - ceil(1e8 * 0.0025) = 99,750,000; base = 1e9 * net // (1e11 + net) = 996,505
    # sell leg: net = 996,505 - ceil(996,505 * 0.003) = 993,515
    #           out = 102e9 * net // (1e9 + net) = 101,237,948
    assert isinstance(intent, ArbitrageIntent)
    assert (intent.buy_venue, intent.sell_venue) == ("raydium", "orca")
    assert (intent.amount_in, intent.base_amount, intent.amount_out) == (10**8, 996_505, 101_237_948)
    assert intent.edge_bps == pytest.approx(123.7948)
    assert intent.expected_return == pytest.approx(math.log(1.01237948))


def test_arbitrage_refuses_when_impact_or_fees_eat_the_spread() -> None:
    cheap = pool("raydium", 10**9, 100 * 10**9, 25)
    dear = pool("orca", 10**9, 102 * 10**9, 30)
    spread = (102 - 100) / 101 * 10_000
    # 1,000 quote moves each pool ~1 %: the round trip returns 994,585,369 for 1e9, -54 bps
    big = ArbitrageStrategy(ArbitrageParams(size_quote=1_000.0))
    assert big.on_features("B/Q", 0, 101.0, {"venue_spread_bps": spread}, None, pools=[cheap, dear]) is None
    small = ArbitrageStrategy(ArbitrageParams(size_quote=100.0))
    # a 50 bps gap does not beat 25 + 30 bps of fees: the cheap gate refuses before any maths
    assert small.on_features("B/Q", 0, 101.0, {"venue_spread_bps": 50.0}, None, pools=[cheap, dear]) is None
    assert small.on_features("B/Q", 0, 101.0, {"venue_spread_bps": spread}, None) is None  # no pools
    curve = pool("pumpfun", 10**9, 102 * 10**9, 100)
    assert (
        small.on_features("B/Q", 0, 101.0, {"venue_spread_bps": spread}, None, pools=[cheap, curve]) is None
    )


# -- pump.fun launch -------------------------------------------------------------------------------


def test_pump_progress_from_liquidity_spans_the_curve() -> None:
    assert END_VIRTUAL_SOL == pytest.approx(115.0054, abs=1e-4)  # 30 * 1.073e15 / 0.2799e15
    assert progress_from_liquidity(60.0) == 0.0
    assert progress_from_liquidity(2 * 115.0054) == pytest.approx(1.0, abs=1e-5)
    assert progress_from_liquidity(2 * (30 + 0.25 * 85.0054)) == pytest.approx(0.25, abs=1e-6)


def test_pump_buys_a_young_curve_with_buyers_and_exits_on_a_dump() -> None:
    s = PumpLaunchStrategy()
    # liquidity 80 SOL: virtual 40 SOL, progress 10 / 85.005 = 0.118; velocity 30 / 10 * (1 + 0.6) / 2 = 2.4
    hot = {"trades_10s": 30.0, "ofi_10s": 0.6, "liquidity_quote": 80.0}
    entry = s.on_features("PEPE/SOL", 0, 1e-7, hot, None)
    assert entry is not None and entry.direction == 1 and entry.strategy == "pump_launch"
    again = s.on_features("PEPE/SOL", 1, 1e-7, hot, None)  # it cannot know risk bought: it asks again
    assert again is not None and again.direction == 1
    dump = {"trades_10s": 30.0, "ofi_10s": -0.5, "liquidity_quote": 78.0}
    exit_ = s.on_features("PEPE/SOL", 2, 1e-7, dump, None)
    assert exit_ is not None and exit_.direction == -1
    assert s.on_features("PEPE/SOL", 3, 1e-7, dump, None) is None  # nothing left to sell


def test_pump_never_sells_a_curve_it_did_not_ask_to_buy() -> None:
    s = PumpLaunchStrategy()
    dump = {"trades_10s": 30.0, "ofi_10s": -0.5, "liquidity_quote": 78.0}
    assert s.on_features("PEPE/SOL", 0, 1e-7, dump, None) is None  # no ask, nothing of its own to sell


def test_pump_ignores_majors_quiet_curves_and_non_curve_pools() -> None:
    s = PumpLaunchStrategy()
    hot = {"trades_10s": 30.0, "ofi_10s": 0.6, "liquidity_quote": 80.0}
    assert s.on_features("PEPE/USDC", 0, 1.0, hot, None) is None
    assert s.on_features("BONK/SOL", 0, 1.0, {**hot, "liquidity_quote": 40_000.0}, None) is None
    # velocity 10 / 10 * 1.2 / 2 = 0.6 < 1
    assert s.on_features("PEPE/SOL", 0, 1.0, {**hot, "trades_10s": 10.0}, None) is None
    assert s.on_features("PEPE/SOL", 0, 1.0, hot, None, pools=[pool("raydium", 1, 1, 25)]) is None
    # with the curve itself: 60 % of the sellable tokens gone is progress 0.6, still inside [0.02, 0.6]
    curve = pool("pumpfun", 1, 1, 100, real_base=int(793_100_000_000_000 * 0.4))
    assert s.on_features("PEPE/SOL", 0, 1.0, hot, None, pools=[curve]) is not None


# -- registry --------------------------------------------------------------------------------------


def test_registry_builds_every_strategy_and_round_trips_its_parameters() -> None:
    assert set(STRATEGIES) == {"trend", "mean_reversion", "grid", "arbitrage", "pump_launch", "ml_signal"}
    for name in STRATEGIES:
        strategy = build(name)
        as_protocol: Strategy = strategy  # checked by mypy: every strategy fits the protocol
        assert callable(as_protocol.on_features)
        assert strategy.name == name
        again = from_dict(strategy.to_dict())
        assert again.to_dict() == strategy.to_dict()
    grid = build("grid", {"levels": 3, "spacing_bps": 20.0}, {"SOL/USDC": {"levels": 7}})
    data = grid.to_dict()
    assert data["params"]["levels"] == 3 and data["pair_params"]["SOL/USDC"]["levels"] == 7
    assert from_dict(data).to_dict() == data


def test_registry_rejects_bad_names_unknown_keys_and_invalid_values() -> None:
    with pytest.raises(ConfigError, match="unknown strategy"):
        build("martingale")
    with pytest.raises(ConfigError, match="unknown parameter"):
        build("trend", {"entry_sigma": 2.0})
    with pytest.raises(ConfigError, match="spacing_bps"):
        build("grid", {"spacing_bps": -1.0})
    with pytest.raises(ConfigError):
        GridParams(lower_bound_price=10.0, upper_bound_price=5.0)


def test_ml_signal_from_the_registry_trades_the_prediction() -> None:
    s = build("ml_signal", {"min_confidence": 0.6, "cost_bps": 10.0})
    p = Prediction(p_up=0.7, expected_return=0.01, ready=True)
    intent = s.on_features("SOL/USDC", 0, 150.0, {}, p)
    assert intent == Intent("SOL/USDC", 1, 0.7, 0.01, "ml_signal")
