"""JupiterClient and JupiterCollector against a local aiohttp server answering like api.jup.ag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from collectors.feeds import JupiterCollector
from core.errors import ConfigError, DecodeError, RateLimited, ServiceError
from streams.codec import decode
from streams.records import JupiterQuote
from tests.collectors.solana_pubsub_server import eventually
from venues.http import retry_after_s
from venues.jupiter.data import JupiterClient, tracked_pairs
from venues.jupiter.schemas import QuoteResponse as Quote
from venues.jupiter.schemas import parse_prices

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"

# Shapes as documented (PROTOCOLS.md §2; jup-ag openapi swap/v1): amounts are integer strings.
PRICES = {
    SOL: {
        "usdPrice": 147.4789340738336,
        "blockId": 348004023,
        "decimals": 9,
        "priceChange24h": 1.2907622140620008,
    },
    USDC: {"usdPrice": 0.9998999, "blockId": 348004023, "decimals": 6, "priceChange24h": None},
    JUP: {"usdPrice": 0.4735, "blockId": None, "decimals": 6, "priceChange24h": -2.5},
}


def quote_body(input_mint: str, output_mint: str, amount: str, slippage: int) -> dict[str, Any]:
    out = 147_414_562 if input_mint == SOL else 473_112
    return {
        "inputMint": input_mint,
        "inAmount": amount,
        "outputMint": output_mint,
        "outAmount": str(out),
        "otherAmountThreshold": str(out - out * slippage // 10_000),
        "swapMode": "ExactIn",
        "slippageBps": slippage,
        "platformFee": None,
        "priceImpactPct": "0.0000123",
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2",
                    "label": "Raydium",
                    "inputMint": input_mint,
                    "outputMint": output_mint,
                    "inAmount": amount,
                    "outAmount": str(out),
                    "feeAmount": "2500000",
                    "feeMint": input_mint,
                },
                "percent": 100,
            }
        ],
        "contextSlot": 348004025,
        "timeTaken": 0.002301,
    }


class FakeJupiter:
    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.keys: list[str | None] = []
        self.throttle: list[dict[str, str]] = []  # headers of the next 429 answers, one per request
        self.delay_s = 0.0
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def price(self, request: web.Request) -> web.Response:
        return await self._answer(
            request, lambda: {m: PRICES[m] for m in request.query["ids"].split(",") if m in PRICES}
        )

    async def quote(self, request: web.Request) -> web.Response:
        q = request.query
        return await self._answer(
            request, lambda: quote_body(q["inputMint"], q["outputMint"], q["amount"], int(q["slippageBps"]))
        )

    async def _answer(self, request: web.Request, body: Any) -> web.Response:
        self.requests.append(request)
        self.keys.append(request.headers.get("x-api-key"))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.throttle:
            return web.json_response(
                {"message": "Rate limit exceeded"}, status=429, headers=self.throttle.pop(0)
            )
        return web.json_response(body())

    async def __aenter__(self) -> FakeJupiter:
        app = web.Application()
        app.router.add_get("/price/v3", self.price)
        app.router.add_get("/swap/v1/quote", self.quote)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def jup() -> AsyncIterator[FakeJupiter]:
    async with FakeJupiter() as server:
        yield server


async def _client(url: str, **kw: Any) -> JupiterClient:
    client = JupiterClient(url, **kw)
    await client.start()
    return client


async def test_prices_parse_and_missing_mints_are_left_out(jup: FakeJupiter) -> None:
    client = await _client(jup.url)
    try:
        prices = await client.prices([SOL, USDC, "Unknown1111111111111111111111111111111111"])
    finally:
        await client.close()
    assert set(prices) == {SOL, USDC}
    assert prices[SOL].usd_price == 147.4789340738336 and prices[SOL].block_id == 348004023
    assert prices[USDC].price_change_24h is None and prices[USDC].decimals == 6
    assert jup.requests[0].query["ids"] == f"{SOL},{USDC},Unknown1111111111111111111111111111111111"


async def test_quote_amounts_are_ints_and_the_key_is_sent(jup: FakeJupiter) -> None:
    client = await _client(jup.url, api_key=SecretStr("k-123"))
    try:
        quote = await client.quote(SOL, USDC, 1_000_000_000, slippage_bps=50)
    finally:
        await client.close()
    assert (quote.in_amount, quote.out_amount, quote.other_amount_threshold) == (
        1_000_000_000,
        147_414_562,
        147_414_562 - 737_072,
    )
    assert quote.price_impact_pct == 0.0000123 and quote.context_slot == 348004025
    assert quote.route_plan[0].label == "Raydium" and quote.route_plan[0].percent == 100
    assert jup.keys == ["k-123"]
    q = jup.requests[0].query
    assert (q["inputMint"], q["outputMint"], q["amount"], q["slippageBps"]) == (SOL, USDC, "1000000000", "50")


async def test_no_key_no_header(jup: FakeJupiter) -> None:
    client = await _client(jup.url)
    try:
        await client.prices([SOL])
    finally:
        await client.close()
    assert jup.keys == [None]


async def test_429_with_retry_after_is_honoured_then_succeeds(jup: FakeJupiter) -> None:
    jup.throttle = [{"Retry-After": "1"}]
    client = await _client(jup.url, backoff_initial_s=0.01)
    started = time.monotonic()
    try:
        prices = await client.prices([SOL])
    finally:
        await client.close()
    waited = time.monotonic() - started
    assert SOL in prices and len(jup.requests) == 2
    assert 0.95 <= waited < 3.0  # the server's Retry-After, not our 10 ms backoff
    assert client.http.rate_limited == 1


async def test_429_without_retry_after_backs_off_and_gives_up(jup: FakeJupiter) -> None:
    jup.throttle = [{}, {}, {}]
    client = await _client(jup.url, backoff_initial_s=0.01, max_attempts=3)
    try:
        with pytest.raises(RateLimited):
            await client.prices([SOL])
    finally:
        await client.close()
    assert len(jup.requests) == 3


async def test_timeouts_are_retried_then_reported(jup: FakeJupiter) -> None:
    jup.delay_s = 0.5
    client = await _client(jup.url, timeout_s=0.1, backoff_initial_s=0.01, max_attempts=2)
    try:
        with pytest.raises(ServiceError, match="gave up after 2 attempts"):
            await client.prices([SOL])
    finally:
        await client.close()


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_s("7") == 7.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:10 GMT", now_s=1445412480.0) == 10.0
    assert retry_after_s("soon") is None and retry_after_s(None) is None


def test_malformed_answers_are_decode_errors() -> None:
    with pytest.raises(DecodeError, match="inAmount"):
        Quote.parse({**quote_body(SOL, USDC, "1", 50), "inAmount": 1.5})
    with pytest.raises(DecodeError, match="usdPrice"):
        parse_prices({SOL: {"decimals": 9}})
    with pytest.raises(ConfigError, match="DOGE/USDC"):
        tracked_pairs(("DOGE/USDC",))


class MemorySink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


async def test_collector_polls_prices_and_one_quote_per_pair(jup: FakeJupiter) -> None:
    client = await _client(jup.url)
    sink = MemorySink()
    collector = JupiterCollector(client, sink, ("SOL/USDC", "JUP/USDC"), poll_s=0.01)
    try:
        records = await collector.poll_once()
    finally:
        await client.close()
    assert [r.pair for r in records] == ["SOL/USDC", "JUP/USDC"]
    assert [(t, k) for t, k, _ in sink.sent] == [("raw.quotes", b"SOL/USDC"), ("raw.quotes", b"JUP/USDC")]
    sol = decode(JupiterQuote, sink.sent[0][2])
    assert (sol.in_amount, sol.out_amount, sol.route, sol.context_slot) == (
        10**9,
        147_414_562,
        ["Raydium"],
        348004025,
    )
    assert sol.usd_price_in == PRICES[SOL]["usdPrice"] and sol.usd_price_out == PRICES[USDC]["usdPrice"]
    jup_q = decode(JupiterQuote, sink.sent[1][2])
    assert jup_q.in_amount == 10**6  # one whole JUP (6 decimals)
    assert len(jup.requests) == 3  # one price request for every mint, then one quote per pair


async def test_collector_run_survives_a_failed_poll(jup: FakeJupiter) -> None:
    jup.throttle = [{}, {}]
    client = await _client(jup.url, backoff_initial_s=0.01, max_attempts=2)
    sink = MemorySink()
    collector = JupiterCollector(client, sink, ("SOL/USDC",), poll_s=0.01)
    task = asyncio.create_task(collector.run())
    try:
        await eventually(lambda: collector.produced >= 1)
        assert collector.errors == 1 and collector.produced >= 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.close()
