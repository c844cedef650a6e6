"""Drift market data: the DLOB server's `/l2` books and the data API's `/fundingRates` (the venue's data
client). `collectors.feeds.DriftCollector` polls it onto raw.perps.
"""

from __future__ import annotations

from typing import Any

from venues.drift.schemas import FundingRate, L2Book, parse_funding
from venues.http import JsonHttp

DEFAULT_DEPTH = 20  # levels asked of the DLOB per side


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
