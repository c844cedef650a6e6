import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.maths import (
    BAR_MS,
    BARS_1S,
    FEATURE_NAMES,
    HOP_10S_MS,
    HOP_60S_MS,
    Trade,
    buy_sell_ratio,
    compute_features,
    filled_closes,
    impact_per_unit,
    liquidity_quote,
    log_returns,
    order_flow_imbalance,
    pair_price,
    pool_state_from_swap,
    realised_vol,
    trade_from_swap,
    venue_spread_bps,
    vwap_distance,
)
from features.pair_state import PairFeatureState
from market import amm
from streams.records import PoolState, Swap
from tables.windows import (
    Bar,
    hopping_starts,
    reserve_price,
    snapshot_hop_start,
    tumbling_start,
    window_keys_for_range,
)

PAIR = "TOK/SOL"
REQUIRED = (
    "ret_1s ret_5s ret_10s ret_30s ret_60s vol_10s vol_60s vwap_dist_10s vwap_dist_60s volume_quote_10s "
    "volume_quote_60s trades_10s trades_60s ofi_10s ofi_60s buy_sell_ratio_60s impact_bps_60s "
    "liquidity_quote venue_spread_bps"
).split()


def pool(name: str, base_reserve: int, quote_reserve: int) -> PoolState:
    return PoolState(
        venue="raydium",
        pool=name,
        base_mint="TOK",
        quote_mint="SOL",
        base_decimals=6,
        quote_decimals=9,
        base_reserve=base_reserve,
        quote_reserve=quote_reserve,
        fee_bps=25,
    )


def make_swap(
    pool_name: str,
    side: str,
    base_amount: int,
    quote_amount: int,
    base_reserve: int,
    quote_reserve: int,
    ts: int,
) -> Swap:
    return Swap(
        venue="raydium",
        pool=pool_name,
        pair=PAIR,
        base_mint="TOK",
        quote_mint="SOL",
        base_decimals=6,
        quote_decimals=9,
        side=side,
        base_amount=base_amount,
        quote_amount=quote_amount,
        base_reserve=base_reserve,
        quote_reserve=quote_reserve,
        fee_bps=25,
        slot=ts // 400,
        ts_ms=ts,
        received_ms=ts + 50,
        signature=f"sig{ts}{pool_name}",
    )


def bar_closing_at(close: float, *, trades: int = 1) -> Bar:
    bar = Bar()
    for _ in range(trades):
        bar.add(close, 1.0, close, True, 0, None)
    return bar


def test_feature_names_cover_the_brief_in_a_fixed_order() -> None:
    assert set(REQUIRED) <= set(FEATURE_NAMES)
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert tuple(compute_features(0.0, [], None, None, [])) == FEATURE_NAMES


def test_empty_inputs_give_all_zeros() -> None:
    assert compute_features(0.0, [None] * BARS_1S, None, None, []) == dict.fromkeys(FEATURE_NAMES, 0.0)
    assert realised_vol([]) == 0.0 and log_returns([]) == [] and filled_closes([None, None]) == []


def test_log_returns_and_forward_fill() -> None:
    assert log_returns([1.0, math.e, math.e]) == pytest.approx([1.0, 0.0])
    # leading empties dropped, inner empties carry the previous close
    assert filled_closes([None, bar_closing_at(2.0), None, bar_closing_at(4.0)]) == [2.0, 2.0, 4.0]


def test_realised_vol_hand_computed() -> None:
    # closes 1, 2, 4, (empty -> 4), 2: returns ln2, ln2, 0, -ln2; mean = ln2/4
    # deviations (3/4, 3/4, -1/4, -5/4) ln2; squares (9 + 9 + 1 + 25)/16 = 44/16 ln2^2; / (n - 1 = 3)
    bars = [bar_closing_at(1.0), bar_closing_at(2.0), bar_closing_at(4.0), None, bar_closing_at(2.0)]
    assert realised_vol(bars) == pytest.approx(math.log(2) * math.sqrt(44 / 16 / 3))
    assert realised_vol([bar_closing_at(1.0), bar_closing_at(2.0)]) == 0.0  # one return: no std


def hand_bar() -> Bar:
    bar = Bar()
    bar.add(2.0, 1.0, 2.0, True, 100, None)
    bar.add(3.0, 2.0, 6.0, False, 300, 2.0)
    bar.add(1.0, 4.0, 3.0, True, 200, 3.0)
    return bar


def test_flow_features_hand_computed() -> None:
    bar = hand_bar()
    # vwap = (2*1 + 3*2 + 1*4) / 7 = 12/7, so distance at 2.0 = ln(2 * 7 / 12) = ln(7/6)
    assert vwap_distance(2.0, bar) == pytest.approx(math.log(7 / 6))
    # buy quote 2 + 3 = 5, sell 6: (5 - 6) / 11
    assert order_flow_imbalance(bar) == pytest.approx(-1 / 11)
    # 2 buys, 1 sell: ln(3 / 2)
    assert buy_sell_ratio(bar) == pytest.approx(math.log(1.5))
    # (ln 1.5 + ln 3) over 6 + 3 quote, in bps per 1,000 quote: * 1e4 * 1e3
    assert impact_per_unit(bar) == pytest.approx((math.log(1.5) + math.log(3)) / 9 * 1e7)
    for f in (order_flow_imbalance, buy_sell_ratio, impact_per_unit):
        assert f(None) == 0.0 and f(Bar()) == 0.0
    assert vwap_distance(2.0, None) == 0.0 and vwap_distance(2.0, Bar()) == 0.0
    assert vwap_distance(0.0, bar) == 0.0


def test_impact_unit_example() -> None:
    # 100 quote units moved the price ln(1.01) = 99.5 bps, so 1,000 units at that rate: ~995 bps
    bar = Bar()
    bar.add(1.01, 100.0, 100.0, True, 0, 1.0)
    assert impact_per_unit(bar) == pytest.approx(math.log(1.01) / 100 * 1e4 * 1e3)  # ~995 bps / 1,000


def test_pool_features_hand_computed() -> None:
    a = pool("a", 10**12, 10**11)  # 1e6 TOK vs 100 SOL: 1e-4 SOL per TOK
    b = pool("b", 10**12, 101 * 10**9)  # 101 SOL: 1.01e-4
    # 2 x (100 + 101) SOL
    assert liquidity_quote([a, b]) == pytest.approx(402.0)
    # (1.01e-4 - 1e-4) / 1.005e-4 * 1e4 = 99.50 bps
    assert venue_spread_bps([a, b]) == pytest.approx(0.01 / 1.005 * 1e4)
    assert venue_spread_bps([a]) == 0.0 and venue_spread_bps([]) == 0.0
    # quote-reserve weighted: (1e-4 * 100 + 1.01e-4 * 101) / 201
    assert pair_price([a, b]) == pytest.approx((1e-4 * 100 + 1.01e-4 * 101) / 201)
    assert pair_price([pool("empty", 0, 0)], fallback=7.0) == 7.0


def test_returns_over_61_bars() -> None:
    # closes 100 * exp(0.001 i), i = 0..60: every one-second return is exactly 0.001
    bars: list[Bar | None] = [bar_closing_at(100 * math.exp(0.001 * i)) for i in range(BARS_1S)]
    price = 100 * math.exp(0.06)
    f = compute_features(price, bars, None, None, [])
    for k in (1, 5, 10, 30, 60):
        assert f[f"ret_{k}s"] == pytest.approx(0.001 * k)
    assert f["vol_10s"] == pytest.approx(0.0, abs=1e-12) and f["vol_60s"] == pytest.approx(0.0, abs=1e-12)
    # with only 60 bars there is no close 60 s back: the 60 s return is 0, not a shorter one
    assert compute_features(price, bars[1:], None, None, [])["ret_60s"] == 0.0


def test_vol_10s_is_seeded_by_older_bars() -> None:
    # a jump inside the last 10 returns, whose window starts on empty seconds: the fill comes from bar 0
    bars: list[Bar | None] = [bar_closing_at(1.0)] + [None] * 55 + [bar_closing_at(2.0)] + [None] * 4
    f = compute_features(2.0, bars, None, None, [])
    rets = [0.0] * 9 + [math.log(2)]
    mean = math.log(2) / 10
    expected = math.sqrt(sum((r - mean) ** 2 for r in rets) / 9)
    assert f["vol_10s"] == pytest.approx(expected)
    assert f["ret_5s"] == pytest.approx(math.log(2)) and f["ret_10s"] == pytest.approx(math.log(2))


def test_bad_price_falls_back_to_latest_close() -> None:
    bars: list[Bar | None] = [bar_closing_at(1.0), bar_closing_at(2.0)]
    assert compute_features(0.0, bars, None, None, [])["ret_1s"] == pytest.approx(math.log(2))


FLOAT_FIELDS = [
    f for f in Bar().to_dict() if f not in ("trades", "buys", "sells", "first_ts_ms", "last_ts_ms", "offset")
]
finite_or_not = st.floats(allow_nan=True, allow_infinity=True)
bar_st = st.builds(
    lambda vals, ints: Bar.from_dict({**dict(zip(FLOAT_FIELDS, vals, strict=True)), **ints}),
    st.lists(finite_or_not, min_size=11, max_size=11),
    st.fixed_dictionaries({f: st.integers(-5, 10**6) for f in ("trades", "buys", "sells")}).map(
        lambda d: {**d, "first_ts_ms": 0, "last_ts_ms": 0}
    ),
)
u64 = st.integers(0, 2**64 - 1)
pool_st = st.builds(
    lambda b, q, bd, qd: PoolState(
        venue="v",
        pool="p",
        base_mint="B",
        quote_mint="Q",
        base_decimals=bd,
        quote_decimals=qd,
        base_reserve=b,
        quote_reserve=q,
        fee_bps=25,
    ),
    u64,
    u64,
    st.integers(0, 18),
    st.integers(0, 18),
)


@settings(max_examples=200, deadline=None)
@given(
    finite_or_not,
    st.lists(st.one_of(st.none(), bar_st), max_size=BARS_1S),
    st.one_of(st.none(), bar_st),
    st.one_of(st.none(), bar_st),
    st.lists(pool_st, max_size=4),
)
def test_compute_features_is_always_finite(
    price: float, bars: list[Bar | None], h10: Bar | None, h60: Bar | None, pools: list[PoolState]
) -> None:
    f = compute_features(price, bars, h10, h60, pools)
    assert tuple(f) == FEATURE_NAMES
    assert all(isinstance(v, float) and math.isfinite(v) for v in f.values())


def test_trade_from_swap_rebuilds_the_pre_trade_price() -> None:
    base, quote = 10**15, 10**13  # 1e9 TOK vs 10,000 SOL
    res = amm.swap(5 * 10**9, quote, base, 25)  # buy 5 SOL worth of TOK
    swap = make_swap(
        "a", "buy", res.amount_out, 5 * 10**9, res.reserve_out_after, res.reserve_in_after, 1_000
    )
    trade = trade_from_swap(swap)
    assert trade is not None
    assert trade.prev_price == reserve_price(base, quote, 6, 9)
    assert trade.price == reserve_price(res.reserve_out_after, res.reserve_in_after, 6, 9)
    assert trade.price > trade.prev_price  # a buy lifts the mark
    assert (trade.base_qty, trade.quote_qty, trade.is_buy) == (res.amount_out / 1e6, 5.0, True)
    # no reserves reported: execution price, no impact term
    blind = trade_from_swap(make_swap("a", "sell", 2_000_000, 30_000_000, 0, 0, 0))
    assert blind == Trade(
        price=pytest.approx(0.015), base_qty=2.0, quote_qty=0.03, is_buy=False, ts_ms=0, prev_price=None
    )
    assert trade_from_swap(make_swap("a", "buy", 0, 5, 1, 1, 0)) is None


def simulated_swaps(n: int, seed: int) -> list[Swap]:
    """Two constant-product pools traded at random, with event-time jitter of up to 300 ms backwards."""
    rng = random.Random(seed)
    reserves = {"ray": [10**15, 10**13], "orca": [10**15, 1002 * 10**10]}
    swaps, ts = [], 5_000
    for _ in range(n):
        ts += rng.randrange(0, 900)
        name = rng.choice(list(reserves))
        base, quote = reserves[name]
        if rng.random() < 0.5:
            q_in = rng.randrange(10**8, 50 * 10**9)
            res = amm.swap(q_in, quote, base, 25)
            reserves[name] = [res.reserve_out_after, res.reserve_in_after]
            swap = make_swap(name, "buy", res.amount_out, q_in, *reserves[name], ts - rng.randrange(0, 300))
        else:
            b_in = rng.randrange(10**10, 5 * 10**12)
            res = amm.swap(b_in, base, quote, 25)
            reserves[name] = [res.reserve_in_after, res.reserve_out_after]
            swap = make_swap(name, "sell", b_in, res.amount_out, *reserves[name], ts - rng.randrange(0, 300))
        swaps.append(swap)
    return swaps


def test_one_event_at_a_time_equals_the_agents_windowed_tables() -> None:
    """Bar.add into every hopping window a swap is in (the old agent path) vs the state's merged seconds."""
    state = PairFeatureState(PAIR)
    bars: dict[int, Bar] = {}
    hops: dict[tuple[int, int], dict[int, Bar]] = {HOP_10S_MS: {}, HOP_60S_MS: {}}
    pools: dict[str, PoolState] = {}
    last_price, max_ts, compared = 0.0, 0, 0
    for swap in simulated_swaps(400, seed=7):
        trade = trade_from_swap(swap)
        assert trade is not None
        bars.setdefault(tumbling_start(swap.ts_ms, BAR_MS), Bar()).add(*trade)
        for (size, step), table in hops.items():
            for start in hopping_starts(swap.ts_ms, size, step):
                table.setdefault(start, Bar()).add(*trade)
        if swap.ts_ms >= max_ts:
            max_ts, last_price = swap.ts_ms, trade.price
        if swap.pool not in pools or swap.ts_ms >= pools[swap.pool].ts_ms:
            pools[swap.pool] = pool_state_from_swap(swap)

        state.learn_one(swap)
        pool_list = list(pools.values())
        expected = compute_features(
            pair_price(pool_list, fallback=last_price),
            [bars.get(s) for s in window_keys_for_range(max_ts, BARS_1S, BAR_MS)],
            hops[HOP_10S_MS].get(snapshot_hop_start(max_ts, *HOP_10S_MS)),
            hops[HOP_60S_MS].get(snapshot_hop_start(max_ts, *HOP_60S_MS)),
            pool_list,
        )
        got = state.snapshot()
        # Counts, OHLC and returns are exact; hopping-window sums are added per second, not per trade.
        assert got.keys() == expected.keys()
        assert {k: got[k] for k in expected} == pytest.approx(expected, rel=1e-12, abs=1e-12)
        compared += 1
    assert compared == 400 and state.late_swaps == 0
    assert expected["trades_60s"] > 0 and expected["vol_60s"] > 0 and expected["venue_spread_bps"] > 0
    # bounded memory: at most 61 one-second bars (the hopping windows are merged from them)
    assert len(state._bars) <= BARS_1S


def test_state_ignores_swaps_older_than_every_live_window() -> None:
    state = PairFeatureState(PAIR)
    state.learn_one(make_swap("a", "buy", 10**6, 10**8, 10**12, 10**11, 200_000))
    before = state.snapshot()
    state.learn_one(make_swap("a", "sell", 10**6, 10**8, 10**12, 10**11, 100_000))  # 100 s late
    assert state.late_swaps == 1 and state.snapshot() == before
    state.learn_one(make_swap("a", "buy", 0, 10**8, 10**12, 10**11, 200_001))
    assert state.skipped_swaps == 1
    with pytest.raises(ValueError):
        state.learn_one(Swap(**{**make_swap("a", "buy", 1, 1, 1, 1, 0).asdict(), "pair": "X/Y"}))
