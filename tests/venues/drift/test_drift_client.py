"""Drift L2 and funding parsing, book features by hand, and the collector against a local aiohttp server
answering like Drift's DLOB and data APIs (shapes per PROTOCOLS.md §5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from collectors.feeds import DriftCollector
from core.errors import DecodeError
from streams.codec import decode
from streams.records import PerpBook
from venues.drift.data import DriftClient
from venues.drift.schemas import L2Book, L2Level, depth_within, imbalance, parse_funding, spread_bps

SOL = 10**9  # BASE precision


def lvl(price: str, size: str, **sources: str) -> dict[str, Any]:
    return {"price": price, "size": size, "sources": sources or {"dlob": size}}


# RawL2Output: integer strings, PRICE 1e6, BASE 1e9.
L2 = {
    "marketName": "SOL-PERP",
    "marketType": "perp",
    "marketIndex": 0,
    "marketSlot": 348004020,
    "slot": 348004021,
    "bids": [
        lvl("150000000", "10000000000", dlob="4000000000", vamm="6000000000"),
        lvl("149900000", "20000000000"),
        lvl("149500000", "50000000000"),
    ],
    "asks": [
        lvl("150030000", "5000000000"),
        lvl("150200000", "15000000000"),
        lvl("151000000", "40000000000"),
    ],
    "oracleData": {
        "price": "150012000",
        "slot": "348004019",
        "confidence": "15000",
        "hasSufficientNumberOfDataPoints": True,
        "twap": "149980000",
        "twapConfidence": "20000",
        "maxPrice": "165013200",
    },
}
FUNDING = {
    "fundingRates": [
        {
            "txSig": "5Yq1",
            "slot": 348000000,
            "ts": "1763780400",
            "recordId": "4100",
            "marketIndex": 0,
            "fundingRate": "1000000",
            "fundingRateLong": "1000000",
            "fundingRateShort": "1000000",
            "cumulativeFundingRateLong": "123456789000",
            "cumulativeFundingRateShort": "123456789000",
            "oraclePriceTwap": "100000000",
            "markPriceTwap": "100100000",
            "periodRevenue": "0",
        },
        {
            "txSig": "5Yq2",
            "slot": 348009000,
            "ts": "1763784000",
            "recordId": "4101",
            "marketIndex": 0,
            "fundingRate": "1500000",
            "fundingRateLong": "1500000",
            "fundingRateShort": "1500000",
            "cumulativeFundingRateLong": "123458289000",
            "cumulativeFundingRateShort": "123458289000",
            "oraclePriceTwap": "150000000",
            "markPriceTwap": "150040000",
            "periodRevenue": "0",
        },
    ]
}


def test_l2_parses_integers_in_their_precisions() -> None:
    book = L2Book.parse(L2)
    assert (book.market_name, book.market_index, book.slot) == ("SOL-PERP", 0, 348004021)
    assert book.bids[0] == L2Level(150_000_000, 10 * SOL, {"dlob": 4 * SOL, "vamm": 6 * SOL})
    assert [a.price for a in book.asks] == [150_030_000, 150_200_000, 151_000_000]
    assert book.oracle is not None and (book.oracle.price, book.oracle.twap) == (150_012_000, 149_980_000)


def test_book_features_by_hand() -> None:
    book = L2Book.parse(L2)
    # mid = 150.015; spread 0.03 / 150.015 * 1e4 = 1.99980002 bps
    assert spread_bps(book.bids[0].price, book.asks[0].price) == pytest.approx(1.9998000199980002, rel=1e-12)
    # 25 bps band: bids >= 149.6399625 (150.0, 149.9), asks <= 150.3900375 (150.03, 150.2)
    bid_depth, ask_depth = depth_within(book.bids, book.asks, 25)
    assert (bid_depth, ask_depth) == (30 * SOL, 20 * SOL)
    assert imbalance(bid_depth, ask_depth) == 0.2
    # 100 bps reaches 149.5 (>= 148.514850) and 151.0 (<= 151.51515)
    assert depth_within(book.bids, book.asks, 100) == (80 * SOL, 60 * SOL)


def test_band_edges_are_exact_integers() -> None:
    bids = (L2Level(99_000_000, 1 * SOL, {}), L2Level(98_999_999, 7 * SOL, {}))
    asks = (L2Level(101_000_000, 2 * SOL, {}), L2Level(101_000_001, 9 * SOL, {}))
    # mid 100.0; 100 bps -> exactly 99.0 and 101.0 are inside, one micro-dollar further is not
    assert depth_within(bids, asks, 100) == (1 * SOL, 2 * SOL)
    assert spread_bps(99_000_000, 101_000_000) == 200.0


def test_empty_sides() -> None:
    assert spread_bps(0, 101_000_000) == 0.0
    assert depth_within((), (L2Level(1, 1, {}),), 25) == (0, 0)
    assert imbalance(0, 0) == 0.0


def test_funding_hourly_fraction() -> None:
    rates = parse_funding(FUNDING)
    latest = max(rates, key=lambda r: r.ts)
    # (1_500_000 / 1e9) / (150_000_000 / 1e6) = 0.0015 / 150 = 1e-5 per hour
    assert latest.hourly_fraction == pytest.approx(1e-5, rel=1e-12)
    assert rates[0].hourly_fraction == pytest.approx(1e-5, rel=1e-12)  # 0.001 / 100


def test_malformed_answers_name_the_field() -> None:
    with pytest.raises(DecodeError, match=r"l2.asks\[0\].price"):
        L2Book.parse({**L2, "asks": [{"price": 150.03, "size": "1"}]})
    with pytest.raises(DecodeError, match=r"l2\.bids"):
        L2Book.parse({**L2, "bids": None})
    with pytest.raises(DecodeError, match="fundingRates"):
        parse_funding({"data": []})


class FakeDrift:
    def __init__(self) -> None:
        self.l2_queries: list[dict[str, str]] = []
        self.funding_queries: list[dict[str, str]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def l2(self, request: web.Request) -> web.Response:
        self.l2_queries.append(dict(request.query))
        return web.json_response(L2)

    async def funding(self, request: web.Request) -> web.Response:
        self.funding_queries.append(dict(request.query))
        return web.json_response(FUNDING)

    async def __aenter__(self) -> FakeDrift:
        app = web.Application()
        app.router.add_get("/l2", self.l2)
        app.router.add_get("/fundingRates", self.funding)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


class MemorySink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


@pytest.fixture
async def drift() -> AsyncIterator[FakeDrift]:
    async with FakeDrift() as server:
        yield server


async def test_collector_polls_books_and_caches_funding(drift: FakeDrift) -> None:
    client = DriftClient(drift.url, drift.url)
    await client.start()
    sink = MemorySink()
    collector = DriftCollector(client, sink, ("SOL-PERP",), poll_s=0.01, band_bps=25)
    try:
        await collector.poll_once()
        await collector.poll_once()
    finally:
        await client.close()
    assert drift.l2_queries[0] == {"marketName": "SOL-PERP", "depth": "20", "includeOracle": "true"}
    assert len(drift.l2_queries) == 2 and len(drift.funding_queries) == 1  # funding once a minute
    assert drift.funding_queries[0] == {"marketName": "SOL-PERP"}
    topic, key, value = sink.sent[0]
    assert (topic, key) == ("raw.perps", b"SOL/USDC")  # keyed by the spot pair: it meets that pair's swaps
    rec = decode(PerpBook, value)
    assert (rec.best_bid, rec.best_ask, rec.oracle_price, rec.slot) == (
        150_000_000,
        150_030_000,
        150_012_000,
        348004021,
    )
    assert (rec.bid_depth, rec.ask_depth, rec.depth_bps, rec.imbalance) == (30 * SOL, 20 * SOL, 25, 0.2)
    assert rec.spread_bps == pytest.approx(1.9998000199980002)
    assert rec.funding_rate_hourly == pytest.approx(1e-5) and rec.funding_ts_ms == 1_763_784_000_000
    assert rec.bids[0] == [150_000_000, 10 * SOL]
