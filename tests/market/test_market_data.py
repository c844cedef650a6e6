"""The simulated market's quotes and perp book (`SIM_MARKET_DATA`): shaped as the collectors publish them,
in event-time order with the swaps, and never changing the swaps themselves."""

from __future__ import annotations

import itertools
import math

from market import amm
from market.market_data import PERP_NOISE_BPS, with_market_data
from market.simulator import MarketSimulator
from streams.records import JupiterQuote, PerpBook, Swap

T0 = 1_700_000_000_000


def test_quotes_and_books_come_every_interval_in_event_time_order_and_leave_the_swaps_alone() -> None:
    events = list(itertools.islice(with_market_data(MarketSimulator(seed=3, start_ms=T0), 1_000), 6_000))
    times = [e.ts_ms for e in events]
    assert times == sorted(times)
    quotes = [e for e in events if isinstance(e, JupiterQuote)]
    books = [e for e in events if isinstance(e, PerpBook)]
    seconds = (times[-1] - T0) // 1_000
    assert len(quotes) in (3 * seconds, 3 * seconds + 3) and len(books) * 3 == len(quotes)  # one perp
    assert {q.pair for q in quotes} == {"SOL/USDC", "JUP/USDC", "BONK/SOL"} and {b.market for b in books} == {
        "SOL-PERP"
    }
    swaps = [e for e in events if isinstance(e, Swap)]
    plain_events = itertools.islice(MarketSimulator(seed=3, start_ms=T0).events(), 6_000)
    plain = [e for e in plain_events if isinstance(e, Swap)]
    assert [s.signature for s in swaps] == [s.signature for s in plain[: len(swaps)]]


def test_a_quote_is_the_best_pool_for_one_unit_and_the_perp_tracks_the_fair_price() -> None:
    sim = MarketSimulator(seed=4, start_ms=T0)
    for event in with_market_data(sim, 500):
        if isinstance(event, JupiterQuote) and event.pair == "SOL/USDC":
            mints = (event.input_mint, event.output_mint)
            pools = [p for p in sim.pools() if (p.base_mint, p.quote_mint) == mints]
            best = max(amm.quote_out(10**9, p.base_reserve, p.quote_reserve, p.fee_bps) for p in pools)
            assert event.in_amount == 10**9 and event.out_amount == best
        if isinstance(event, PerpBook):
            mid = (event.best_bid + event.best_ask) / 2 / 1e6
            assert abs(math.log(mid / sim.fair_price("SOL/USDC"))) * 1e4 < 6 * PERP_NOISE_BPS
            premium = mid / (event.oracle_price / 1e6) - 1
            assert math.isclose(event.funding_rate_hourly, premium / 24, rel_tol=1e-3, abs_tol=1e-9)
            assert -1.0 <= event.imbalance <= 1.0 and event.best_bid < event.best_ask
            assert event.ts_ms == event.funding_ts_ms  # stamped with the event that left the market so
        if event.ts_ms > T0 + 20_000:
            break
