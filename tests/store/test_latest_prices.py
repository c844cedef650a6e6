"""`store.latest_prices`: the readers the API, its WebSocket bridge and the run summary share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis

from store.latest_prices import PRICES_KEY, read, read_price, read_prices

PRICES_REDIS_DB = 12  # other suites use db 0 (the web suite 11)


@pytest.fixture
async def prices_url(redis_url: str) -> AsyncIterator[str]:
    url = urlunsplit(urlsplit(redis_url)._replace(path=f"/{PRICES_REDIS_DB}"))
    client = aioredis.Redis.from_url(url)
    await client.flushdb()
    try:
        yield url
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.mark.parametrize("decode_responses", [True, False])
async def test_prices_read_as_floats_from_either_kind_of_client(
    prices_url: str, decode_responses: bool
) -> None:
    redis = aioredis.Redis.from_url(prices_url, decode_responses=decode_responses)
    try:
        assert await read_prices(redis) == {}
        assert await read_price(redis, "SOL/USDC") is None
        await redis.hset(PRICES_KEY, mapping={"SOL/USDC": repr(150.25), "BONK/SOL": repr(2e-07)})
        assert await read_prices(redis) == {"SOL/USDC": 150.25, "BONK/SOL": 2e-07}
        assert await read_price(redis, "BONK/SOL") == 2e-07
        assert await read_price(redis, "JUP/USDC") is None
        assert await read(prices_url) == {"SOL/USDC": 150.25, "BONK/SOL": 2e-07}
    finally:
        await redis.aclose()
