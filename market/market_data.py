"""Market data for the simulated market, as the live collectors publish it: a Jupiter-shaped quote per
major pair and a Drift-shaped SOL-PERP book, every `interval_ms` of event time (`SIM_MARKET_DATA`).

What they carry, and why: the quote is the best route over the simulator's own pools for one unit of
base (what Jupiter would answer if they were the only venues), so it adds no information the pools do not
already hold. The perp's mid is the pair's hidden fair price with a few bps of noise: a perp market (like
a centralised exchange) is where a major's price is discovered, and the DEX pools follow it as
arbitrageurs close the gap; its funding is the premium over the pools spread over a day, as Drift's
premium-based funding is. Its book imbalance is noise. `models.evaluate --ablation` measures what each adds.

Noise comes from its own seeded stream, so switching market data on never changes the swaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from features.market_signals import PRICE_PRECISION, perp_pair
from features.maths import pair_price
from market import amm
from market.simulator import PAIRS, MarketSimulator
from streams.records import JupiterQuote, Launch, PerpBook, PoolState, Swap
from streams.topics import RAW_LAUNCHES, RAW_PERPS, RAW_QUOTES, RAW_SWAPS

PERP_PAIRS = {"SOL/USDC": "SOL-PERP"}  # the majors Drift lists a perp for, by the spot pair it prices
PERP_NOISE_BPS = 3.0  # the perp mid's deviation from the fair price (one standard deviation)
PERP_HALF_SPREAD_BPS = 1.0
DEFAULT_INTERVAL_MS = 2_000
BASE_PRECISION = 10**9  # Drift's (venues/drift/schemas.py; market may not import venues)

MarketEvent = Swap | Launch | JupiterQuote | PerpBook


class MarketData:
    """Quotes and perp books of one simulator, due every `interval_ms` of its event time."""

    def __init__(self, sim: MarketSimulator, interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        if interval_ms <= 0:
            raise ValueError(f"interval_ms must be positive, got {interval_ms}")
        self.sim = sim
        self.interval_ms = interval_ms
        self._next_ms = sim.start_ms + interval_ms
        stream = np.random.SeedSequence(sim.seed, spawn_key=(0x4D44,))  # "MD": apart from the market's
        self._rng = np.random.Generator(np.random.PCG64(stream))

    def due(self, ts_ms: int) -> list[JupiterQuote | PerpBook]:
        """After the event at `ts_ms`: the records due by then, stamped `ts_ms` and taken from the market
        as that event left it (never from a later one)."""
        if ts_ms < self._next_ms:
            return []
        out: list[JupiterQuote | PerpBook] = []
        pools = self.sim.pools()
        for pair in self.sim.pairs:
            of_pair = _pools_of(pair, pools)
            if not of_pair:
                continue
            quote = best_quote(pair, of_pair, ts_ms)
            if quote is not None:
                out.append(quote)
            if pair in PERP_PAIRS:
                out.append(self._perp_book(pair, of_pair, ts_ms))
        start = self.sim.start_ms
        self._next_ms = start + ((ts_ms - start) // self.interval_ms + 1) * self.interval_ms
        return out

    def _perp_book(self, pair: str, pools: list[PoolState], at: int) -> PerpBook:
        fair = self.sim.fair_price(pair)
        mid = fair * math.exp(float(self._rng.normal(0.0, PERP_NOISE_BPS)) / 1e4)
        bid = round(mid * (1 - PERP_HALF_SPREAD_BPS / 1e4) * PRICE_PRECISION)
        ask = round(mid * (1 + PERP_HALF_SPREAD_BPS / 1e4) * PRICE_PRECISION)
        spot = pair_price(pools)
        premium = mid / spot - 1.0 if spot > 0 else 0.0
        size = BASE_PRECISION * 100
        imbalance = float(np.clip(self._rng.normal(0.0, 0.3), -1.0, 1.0))
        bid_depth = round(size * (1 + imbalance))
        ask_depth = round(size * (1 - imbalance))
        return PerpBook(
            market=PERP_PAIRS[pair], market_index=0, slot=0, best_bid=bid, best_ask=ask,
            oracle_price=round(spot * PRICE_PRECISION), spread_bps=(ask - bid) / ((ask + bid) / 2) * 1e4,
            depth_bps=50, bid_depth=bid_depth, ask_depth=ask_depth,
            imbalance=(bid_depth - ask_depth) / (bid_depth + ask_depth),
            bids=[[bid, bid_depth]], asks=[[ask, ask_depth]], funding_rate_hourly=premium / 24.0,
            funding_ts_ms=at, ts_ms=at, received_ms=at,
        )  # fmt: skip


def with_market_data(sim: MarketSimulator, interval_ms: int = DEFAULT_INTERVAL_MS) -> Iterator[MarketEvent]:
    """The simulator's events with its quotes and perp books interleaved in event-time order."""
    data = MarketData(sim, interval_ms)
    for event in sim.events():
        yield event
        yield from data.due(event.ts_ms)


def destination(event: MarketEvent) -> tuple[str, str]:
    """The raw topic and key an event is published under, as the collectors publish them: swaps, quotes
    and perp books by the pair (a perp by the spot pair it prices), launches by mint."""
    if isinstance(event, Launch):
        return RAW_LAUNCHES.name, event.mint
    if isinstance(event, JupiterQuote):
        return RAW_QUOTES.name, event.pair
    if isinstance(event, PerpBook):
        return RAW_PERPS.name, perp_pair(event.market)
    return RAW_SWAPS.name, event.pair


def best_quote(pair: str, pools: list[PoolState], at: int) -> JupiterQuote | None:
    """Selling one unit of base over the pair's best pool (ExactIn), as Jupiter's `/quote` answers it."""
    first = pools[0]
    amount = 10**first.base_decimals
    outs = [(amm.quote_out(amount, p.base_reserve, p.quote_reserve, p.fee_bps), p) for p in pools]
    out, best = max(outs, key=lambda o: o[0])
    if out <= 0:
        return None
    impact_pct = amm.price_impact_bps(amount, best.base_reserve, best.quote_reserve, best.fee_bps) / 100
    return JupiterQuote(
        pair=pair, input_mint=first.base_mint, output_mint=first.quote_mint, in_amount=amount,
        out_amount=out, other_amount_threshold=out * 9_950 // 10_000, swap_mode="ExactIn", slippage_bps=50,
        price_impact_pct=impact_pct,
        route=[best.venue], context_slot=0, usd_price_in=0.0, usd_price_out=0.0, ts_ms=at, received_ms=at,
    )  # fmt: skip


def _pools_of(pair: str, pools: list[PoolState]) -> list[PoolState]:
    spec = PAIRS[pair]
    return [p for p in pools if (p.base_mint, p.quote_mint) == (spec.base_mint, spec.quote_mint)]
