"""The polling collectors of venues' market-data clients: Jupiter quotes onto raw.quotes, Drift books
onto raw.perps. The clients and their payloads are the venues' (`venues.jupiter.data`,
`venues.drift.data`); these loops only poll them, stamp the records and produce them.

Funding changes hourly, so Drift's is fetched at most once a minute and the latest record is carried on
every book.
"""

from __future__ import annotations

import logging
import time

from collectors.metrics import COLLECTOR_EVENTS, COLLECTOR_LAG
from collectors.polling import poll_forever
from collectors.sink import RecordSink, observe_produced
from core.errors import SolbotError
from features.market_signals import perp_pair
from market.venues import VenueName
from streams.codec import encode
from streams.records import JupiterQuote, PerpBook
from streams.topics import RAW_PERPS, RAW_QUOTES
from venues.drift.data import DriftClient
from venues.drift.schemas import FundingRate
from venues.jupiter.data import JupiterClient, tracked_pairs

log = logging.getLogger(__name__)

JUPITER, DRIFT = VenueName.JUPITER.value, VenueName.DRIFT.value  # the metrics' `source` labels
DEFAULT_DEPTH_BPS = 25  # the band Drift book depth is summed within
FUNDING_REFRESH_S = 60.0


class JupiterCollector:
    """Polls prices and quotes every `poll_s` and produces `JupiterQuote`s keyed by pair."""

    def __init__(
        self, client: JupiterClient, sink: RecordSink, pairs: tuple[str, ...], *, poll_s: float = 5.0
    ) -> None:
        self.client = client
        self.sink = sink
        self.pairs = tracked_pairs(pairs)
        self.poll_s = poll_s
        self.polls = 0
        self.errors = 0
        self.produced = 0

    async def poll_once(self) -> list[JupiterQuote]:
        started_ns = time.monotonic_ns()
        mints = sorted({m for p in self.pairs for m in (p.base_mint, p.quote_mint)})
        prices = await self.client.prices(mints)
        out = []
        for p in self.pairs:
            quote = await self.client.quote(p.base_mint, p.quote_mint, 10**p.base_decimals)
            now_ms = int(time.time() * 1000)
            record = quote.parse_to_quote(p.pair, prices, ts_ms=now_ms, received_ms=now_ms)
            fut = await self.sink.send(RAW_QUOTES.name, p.pair.encode(), encode(record))
            observe_produced(fut, JUPITER, started_ns)
            COLLECTOR_EVENTS.labels(JUPITER, RAW_QUOTES.name).inc()
            out.append(record)
        COLLECTOR_LAG.labels(JUPITER).observe((time.monotonic_ns() - started_ns) / 1e9)
        self.polls += 1
        self.produced += len(out)
        return out

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and counted, and the next one goes ahead."""
        await poll_forever(self.poll_once, source=JUPITER, poll_s=self.poll_s, on_error=self._failed)

    def _failed(self, _exc: SolbotError) -> None:
        self.errors += 1


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
            record = book.parse_to_perp_book(
                market, funding, band_bps=self.band_bps, ts_ms=now_ms, received_ms=now_ms
            )
            # keyed by the spot pair it prices: the features agent reads it with that pair's swaps
            fut = await self.sink.send(RAW_PERPS.name, perp_pair(market).encode(), encode(record))
            observe_produced(fut, DRIFT, started_ns)
            COLLECTOR_LAG.labels(DRIFT).observe((time.monotonic_ns() - started_ns) / 1e9)
            COLLECTOR_EVENTS.labels(DRIFT, RAW_PERPS.name).inc()
            out.append(record)
        self.polls += 1
        self.produced += len(out)
        return out

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and counted, and the next one goes ahead."""
        await poll_forever(self.poll_once, source=DRIFT, poll_s=self.poll_s, on_error=self._failed)

    def _failed(self, _exc: SolbotError) -> None:
        self.errors += 1
