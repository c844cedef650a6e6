"""The simulator's contract: deterministic, and every trade exactly what the pool maths say."""

from __future__ import annotations

import itertools

import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature

from market import amm
from market import bonding_curve as bc
from market.simulator import MAX_LIVE_LAUNCHES, MarketSimulator
from streams.records import Launch, Swap

START_MS = 1_750_000_000_000
RUN_RATE_EPS = 100.0


def take(sim: MarketSimulator, n: int) -> list[Swap | Launch]:
    return list(itertools.islice(sim.events(), n))


@pytest.fixture(scope="module")
def run() -> tuple[MarketSimulator, list[Swap | Launch], dict[str, tuple[int, int]]]:
    """~10 min of event time at 100 events/s; seed 9 happens to include rugs and completed curves."""
    sim = MarketSimulator(seed=9, start_ms=START_MS, rate_eps=RUN_RATE_EPS)
    initial = {p.pool: (p.base_reserve, p.quote_reserve) for p in sim.pools()}
    return sim, take(sim, 60_000), initial


def test_same_seed_and_start_give_identical_events() -> None:
    a = take(MarketSimulator(seed=7, start_ms=START_MS), 5_000)
    b = take(MarketSimulator(seed=7, start_ms=START_MS), 5_000)
    assert [e.asdict() for e in a] == [e.asdict() for e in b]


def test_different_seed_gives_different_events() -> None:
    a = take(MarketSimulator(seed=7, start_ms=START_MS), 5_000)
    b = take(MarketSimulator(seed=8, start_ms=START_MS), 5_000)
    assert [e.asdict() for e in a] != [e.asdict() for e in b]


def test_unknown_pair_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"DOGE/USDC.*SOL/USDC"):
        MarketSimulator(seed=1, start_ms=START_MS, pairs=("SOL/USDC", "DOGE/USDC"))


def test_event_times_advance_at_the_configured_rate(run) -> None:
    _, events, _ = run
    ts = [e.ts_ms for e in events]
    assert ts[0] >= START_MS and ts == sorted(ts)
    rate = len(ts) / ((ts[-1] - START_MS) / 1000)
    assert rate == pytest.approx(RUN_RATE_EPS, rel=0.03)
    slots = [e.slot for e in events]
    assert slots == sorted(slots)
    assert slots[-1] - slots[0] == pytest.approx((ts[-1] - ts[0]) / 400, abs=2)


def test_identifiers_are_valid_base58(run) -> None:
    _, events, _ = run
    for e in events[:500]:
        assert str(Signature.from_string(e.signature)) == e.signature
        assert received_is_event_time(e)
    swap = next(e for e in events if isinstance(e, Swap))
    assert str(Pubkey.from_string(swap.pool)) == swap.pool
    assert len({e.signature for e in events}) == len(events)


def received_is_event_time(e: Swap | Launch) -> bool:
    return e.received_ms == e.ts_ms


def test_amm_swaps_follow_the_constant_product_maths(run) -> None:
    _, events, initial = run
    reserves = dict(initial)
    checked = 0
    for e in events:
        if not isinstance(e, Swap) or e.venue == "pumpfun":
            continue
        base, quote = reserves[e.pool]
        assert e.fee_bps == {"raydium": 25, "orca": 30}[e.venue]
        if e.side == "buy":
            res = amm.swap(e.quote_amount, quote, base, e.fee_bps)
            assert (res.amount_out, res.reserve_in_after, res.reserve_out_after) == (
                e.base_amount,
                e.quote_reserve,
                e.base_reserve,
            )
        else:
            res = amm.swap(e.base_amount, base, quote, e.fee_bps)
            assert (res.amount_out, res.reserve_in_after, res.reserve_out_after) == (
                e.quote_amount,
                e.base_reserve,
                e.quote_reserve,
            )
        assert e.base_amount > 0 and e.quote_amount > 0
        reserves[e.pool] = (e.base_reserve, e.quote_reserve)
        checked += 1
    assert checked > 50_000


def test_pumpfun_trades_follow_the_bonding_curve(run) -> None:
    _, events, _ = run
    curves: dict[str, bc.Curve] = {}
    completed: set[str] = set()
    rugs = 0
    for e in events:
        if isinstance(e, Launch):
            assert e.symbol.startswith("PUMP") and e.total_supply == bc.TOKEN_TOTAL_SUPPLY
            curves[e.bonding_curve] = bc.Curve(
                e.virtual_base_reserve, e.virtual_quote_reserve, e.real_base_reserve
            )
            continue
        if e.venue != "pumpfun":
            continue
        assert e.pool not in completed, "a completed curve traded"
        assert e.pair.endswith("/SOL") and e.fee_bps == 125 and e.base_decimals == 6
        prev = curves[e.pool]
        if e.side == "buy":
            net = e.quote_amount
            expected = net * prev.virtual_token_reserves // (prev.virtual_sol_reserves + net)
            assert e.base_amount == min(expected, prev.real_token_reserves)
            new = bc.apply_buy(prev, e.base_amount, net)
        else:
            gross, _ = bc.sell_proceeds(prev, e.base_amount, e.fee_bps)
            assert e.quote_amount == gross
            new = bc.apply_sell(prev, e.base_amount, gross)
            # a rug: one sell that gives back most of what the curve had taken in
            rugs += gross > 0.8 * prev.real_sol_reserves and prev.real_sol_reserves > 3 * 10**9
        assert (e.base_reserve, e.quote_reserve, e.real_base_reserve) == (
            new.virtual_token_reserves,
            new.virtual_sol_reserves,
            new.real_token_reserves,
        )
        curves[e.pool] = new
        if new.complete:
            completed.add(e.pool)
    assert len(curves) >= 6
    assert completed, "expected at least one curve to complete in this run"
    assert rugs >= 1


def test_launches_appear_and_live_ones_stay_bounded(run) -> None:
    sim, events, _ = run
    launches = [e for e in events if isinstance(e, Launch)]
    gaps = [(b.ts_ms - a.ts_ms) / 1000 for a, b in itertools.pairwise(launches)]
    assert len(launches) >= 6 and all(29 <= g <= 92 for g in gaps)
    assert len([p for p in sim.pools() if p.venue == "pumpfun"]) <= MAX_LIVE_LAUNCHES
    # pairs trading in any one minute stay bounded too
    minute: dict[int, set[str]] = {}
    for e in events:
        if isinstance(e, Swap):
            minute.setdefault(e.ts_ms // 60_000, set()).add(e.pair)
    assert max(len(p) for p in minute.values()) <= 3 + MAX_LIVE_LAUNCHES + 2


def test_no_launches_when_disabled() -> None:
    events = take(MarketSimulator(seed=1, start_ms=START_MS, launches=False, rate_eps=30), 6_000)
    assert all(isinstance(e, Swap) and e.venue in ("raydium", "orca") for e in events)


def test_arbitrage_keeps_venues_close_to_each_other_and_to_fair(run) -> None:
    sim, events, _ = run
    last: dict[tuple[str, str], float] = {}
    worst_bps = 0.0
    for e in events[20_000:]:
        if isinstance(e, Swap) and e.venue != "pumpfun":
            last[(e.pair, e.venue)] = e.quote_reserve / e.base_reserve
            if (e.pair, "raydium") in last and (e.pair, "orca") in last:
                gap = abs(last[(e.pair, "raydium")] / last[(e.pair, "orca")] - 1) * 1e4
                worst_bps = max(worst_bps, gap)
    # each venue stays near its no-arbitrage band around fair; noise trades can push a little past it
    assert worst_bps < 3 * 30
    for pool in sim.pools():
        if pool.venue == "pumpfun":
            continue
        pair = next(p for p in sim.pairs if p.startswith(_symbol(pool.base_mint)))
        human = pool.quote_reserve / 10**pool.quote_decimals / (pool.base_reserve / 10**pool.base_decimals)
        assert abs(human / sim.fair_price(pair) - 1) * 1e4 < 2 * pool.fee_bps


def _symbol(mint: str) -> str:
    return {"So1": "SOL", "JUP": "JUP", "Dez": "BONK"}[mint[:3]]


def test_realistic_starting_pools() -> None:
    sim = MarketSimulator(seed=1, start_ms=START_MS)
    for pool in sim.pools():
        human = pool.quote_reserve / 10**pool.quote_decimals / (pool.base_reserve / 10**pool.base_decimals)
        assert human == pytest.approx({"So1": 150.0, "JUP": 0.8, "Dez": 1.5e-7}[pool.base_mint[:3]], rel=1e-6)
        usd_per_quote = 150.0 if pool.quote_mint.startswith("So1") else 1.0
        assert 1e6 < 2 * pool.quote_reserve / 10**pool.quote_decimals * usd_per_quote < 1e7
