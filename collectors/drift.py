"""Drift v2 perp order books (DLOB server `/l2`) and funding (data API `/fundingRates`) onto raw.perps.

The L2 shape is drift-common's `RawL2Output` (PROTOCOLS.md §5): prices and sizes are integer strings in
PRICE (1e6) and BASE (1e9) precision, and stay integers here; only the derived features (spread in bps,
imbalance, hourly funding) are floats. No captured real L2 response was at hand when this was written:
the parser follows the documented shape and refuses anything else with a DecodeError naming the field.

Book features are pure functions of integers:
- spread_bps = (ask - bid) / mid * 1e4 with mid = (bid + ask) / 2;
- depth within N bps: the size of bids priced at or above mid * (1 - N/1e4), and of asks at or below
  mid * (1 + N/1e4), compared in integers (2 * price * 1e4 against (bid + ask) * (1e4 -/+ N));
- imbalance = (bid_depth - ask_depth) / (bid_depth + ask_depth), 0 when both are empty.

Funding changes hourly, so it is fetched at most once a minute and the latest record is carried on
every book. Hourly fraction = (fundingRate / 1e9) / (oraclePriceTwap / 1e6) (the docs disagree about a
further x100; this is the fraction, not a percentage).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from collectors.http import JsonHttp
from collectors.metrics import COLLECTOR_EVENTS, COLLECTOR_LAG
from collectors.polling import poll_forever
from collectors.sink import RecordSink, observe_produced
from core.errors import DecodeError, SolbotError
from streams.codec import encode
from streams.records import PerpBook
from streams.topics import RAW_PERPS

log = logging.getLogger(__name__)

SOURCE = "drift"
PRICE_PRECISION = 10**6
BASE_PRECISION = 10**9
FUNDING_RATE_PRECISION = 10**9
DEFAULT_DEPTH = 20  # levels asked of the DLOB per side
DEFAULT_DEPTH_BPS = 25  # the band depth is summed within
FUNDING_REFRESH_S = 60.0


def _int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise DecodeError(f"{where}: expected an integer (string), got {value!r}")


@dataclass(frozen=True, slots=True)
class L2Level:
    price: int  # PRICE precision
    size: int  # BASE precision
    sources: dict[str, int]  # "dlob", "vamm", ... -> size


@dataclass(frozen=True, slots=True)
class OracleData:
    price: int
    slot: int
    confidence: int
    twap: int | None


@dataclass(frozen=True, slots=True)
class L2Book:
    market_name: str
    market_type: str
    market_index: int
    slot: int
    bids: tuple[L2Level, ...]  # best first
    asks: tuple[L2Level, ...]
    oracle: OracleData | None

    @classmethod
    def parse(cls, data: Any) -> L2Book:
        if not isinstance(data, dict):
            raise DecodeError("l2: expected an object")
        sides: dict[str, tuple[L2Level, ...]] = {}
        for side in ("bids", "asks"):
            raw = data.get(side)
            if not isinstance(raw, list):
                raise DecodeError(f"l2.{side}: expected a list")
            levels = []
            for i, level in enumerate(raw):
                where = f"l2.{side}[{i}]"
                if not isinstance(level, dict):
                    raise DecodeError(f"{where}: expected an object")
                sources = level.get("sources") or {}
                if not isinstance(sources, dict):
                    raise DecodeError(f"{where}.sources: expected an object")
                levels.append(
                    L2Level(
                        price=_int(level.get("price"), f"{where}.price"),
                        size=_int(level.get("size"), f"{where}.size"),
                        sources={str(k): _int(v, f"{where}.sources.{k}") for k, v in sources.items()},
                    )
                )
            sides[side] = tuple(levels)
        oracle = None
        raw_oracle = data.get("oracleData")
        if isinstance(raw_oracle, dict):
            twap = raw_oracle.get("twap")
            oracle = OracleData(
                price=_int(raw_oracle.get("price"), "l2.oracleData.price"),
                slot=_int(raw_oracle.get("slot"), "l2.oracleData.slot"),
                confidence=_int(raw_oracle.get("confidence", 0), "l2.oracleData.confidence"),
                twap=None if twap is None else _int(twap, "l2.oracleData.twap"),
            )
        name = data.get("marketName")
        return cls(
            market_name=name if isinstance(name, str) else "",
            market_type=str(data.get("marketType", "perp")),
            market_index=_int(data.get("marketIndex"), "l2.marketIndex"),
            slot=_int(data.get("slot", data.get("marketSlot", 0)), "l2.slot"),
            bids=sides["bids"],
            asks=sides["asks"],
            oracle=oracle,
        )


@dataclass(frozen=True, slots=True)
class FundingRate:
    slot: int
    ts: int  # unix seconds
    market_index: int
    funding_rate: int  # FUNDING_RATE precision
    oracle_price_twap: int  # PRICE precision
    mark_price_twap: int

    @property
    def hourly_fraction(self) -> float:
        if self.oracle_price_twap == 0:
            return 0.0
        return (self.funding_rate / FUNDING_RATE_PRECISION) / (self.oracle_price_twap / PRICE_PRECISION)


def parse_funding(data: Any) -> list[FundingRate]:
    """`{fundingRates: [...]}`, oldest or newest first (the order is not documented; callers take max ts)."""
    rows = data.get("fundingRates") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise DecodeError("fundingRates: expected an object with a fundingRates list")
    out = []
    for i, row in enumerate(rows):
        where = f"fundingRates[{i}]"
        if not isinstance(row, dict):
            raise DecodeError(f"{where}: expected an object")
        out.append(
            FundingRate(
                slot=_int(row.get("slot"), f"{where}.slot"),
                ts=_int(row.get("ts"), f"{where}.ts"),
                market_index=_int(row.get("marketIndex"), f"{where}.marketIndex"),
                funding_rate=_int(row.get("fundingRate"), f"{where}.fundingRate"),
                oracle_price_twap=_int(row.get("oraclePriceTwap"), f"{where}.oraclePriceTwap"),
                mark_price_twap=_int(row.get("markPriceTwap"), f"{where}.markPriceTwap"),
            )
        )
    return out


# -- pure book features ------------------------------------------------------------------------------


def spread_bps(best_bid: int, best_ask: int) -> float:
    """(ask - bid) / mid in basis points; 0.0 when a side is missing (0)."""
    if best_bid <= 0 or best_ask <= 0:
        return 0.0
    return (best_ask - best_bid) * 20_000 / (best_bid + best_ask)


def depth_within(bids: tuple[L2Level, ...], asks: tuple[L2Level, ...], band_bps: int) -> tuple[int, int]:
    """Size resting within `band_bps` of the mid on each side (BASE precision); (0, 0) without a mid."""
    if not bids or not asks:
        return 0, 0
    mid2 = bids[0].price + asks[0].price  # twice the mid: keeps the comparison in integers
    bid_floor = mid2 * (10_000 - band_bps)
    ask_ceiling = mid2 * (10_000 + band_bps)
    bid_depth = sum(level.size for level in bids if 2 * level.price * 10_000 >= bid_floor)
    ask_depth = sum(level.size for level in asks if 2 * level.price * 10_000 <= ask_ceiling)
    return bid_depth, ask_depth


def imbalance(bid_depth: int, ask_depth: int) -> float:
    total = bid_depth + ask_depth
    return 0.0 if total == 0 else (bid_depth - ask_depth) / total


def book_to_record(
    market: str,
    book: L2Book,
    funding: FundingRate | None,
    *,
    band_bps: int,
    ts_ms: int,
    received_ms: int,
    levels: int = 10,
) -> PerpBook:
    best_bid = book.bids[0].price if book.bids else 0
    best_ask = book.asks[0].price if book.asks else 0
    bid_depth, ask_depth = depth_within(book.bids, book.asks, band_bps)
    return PerpBook(
        market=market,
        market_index=book.market_index,
        slot=book.slot,
        best_bid=best_bid,
        best_ask=best_ask,
        oracle_price=book.oracle.price if book.oracle else 0,
        spread_bps=spread_bps(best_bid, best_ask),
        depth_bps=band_bps,
        bid_depth=bid_depth,
        ask_depth=ask_depth,
        imbalance=imbalance(bid_depth, ask_depth),
        bids=[[lv.price, lv.size] for lv in book.bids[:levels]],
        asks=[[lv.price, lv.size] for lv in book.asks[:levels]],
        funding_rate_hourly=funding.hourly_fraction if funding else 0.0,
        funding_ts_ms=funding.ts * 1000 if funding else 0,
        ts_ms=ts_ms,
        received_ms=received_ms,
    )


class DriftClient:
    def __init__(self, dlob_url: str, data_url: str, *, timeout_s: float = 5.0, **http: Any) -> None:
        self.dlob = JsonHttp(dlob_url, timeout_s=timeout_s, **http)
        self.data = JsonHttp(data_url, timeout_s=timeout_s, **http)

    async def start(self) -> None:
        await self.dlob.start()
        await self.data.start()

    async def close(self) -> None:
        await self.dlob.close()
        await self.data.close()

    async def l2(self, market: str, *, depth: int = DEFAULT_DEPTH) -> L2Book:
        params: dict[str, str | int] = {"marketName": market, "depth": depth, "includeOracle": "true"}
        return L2Book.parse(await self.dlob.get("/l2", params))

    async def funding_rates(self, market: str) -> list[FundingRate]:
        return parse_funding(await self.data.get("/fundingRates", {"marketName": market}))


class DriftCollector:
    """Polls each market's book every `poll_s` (funding once a minute) and produces `PerpBook`s."""

    def __init__(
        self,
        client: DriftClient,
        sink: RecordSink,
        markets: tuple[str, ...],
        *,
        poll_s: float = 2.0,
        band_bps: int = DEFAULT_DEPTH_BPS,
        funding_refresh_s: float = FUNDING_REFRESH_S,
    ) -> None:
        self.client = client
        self.sink = sink
        self.markets = markets
        self.poll_s = poll_s
        self.band_bps = band_bps
        self.funding_refresh_s = funding_refresh_s
        self._funding: dict[str, tuple[float, FundingRate | None]] = {}
        self.polls = 0
        self.errors = 0
        self.produced = 0

    async def _latest_funding(self, market: str) -> FundingRate | None:
        fetched = self._funding.get(market)
        if fetched is not None and time.monotonic() - fetched[0] < self.funding_refresh_s:
            return fetched[1]
        try:
            rates = await self.client.funding_rates(market)
        except SolbotError as exc:  # a book without fresh funding is still worth sending
            log.warning("drift funding for %s failed: %s", market, exc)
            return fetched[1] if fetched else None
        latest = max(rates, key=lambda r: r.ts) if rates else None
        self._funding[market] = (time.monotonic(), latest)
        return latest

    async def poll_once(self) -> list[PerpBook]:
        out = []
        for market in self.markets:
            started_ns = time.monotonic_ns()
            book = await self.client.l2(market)
            funding = await self._latest_funding(market)
            now_ms = int(time.time() * 1000)
            record = book_to_record(
                market, book, funding, band_bps=self.band_bps, ts_ms=now_ms, received_ms=now_ms
            )
            fut = await self.sink.send(RAW_PERPS.name, market.encode(), encode(record))
            observe_produced(fut, SOURCE, started_ns)
            COLLECTOR_LAG.labels(SOURCE).observe((time.monotonic_ns() - started_ns) / 1e9)
            COLLECTOR_EVENTS.labels(SOURCE, RAW_PERPS.name).inc()
            out.append(record)
        self.polls += 1
        self.produced += len(out)
        return out

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and counted, and the next one goes ahead."""
        await poll_forever(self.poll_once, source=SOURCE, poll_s=self.poll_s, on_error=self._failed)

    def _failed(self, _exc: SolbotError) -> None:
        self.errors += 1
