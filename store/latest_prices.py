"""Latest price per pair in Redis (hash `solbot:prices`), for the dashboard, the API and run summaries.

Written by the features agent once per batch; a Redis outage must never stop the pipeline, so write
failures are logged and dropped (the next batch writes again).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.logs import OutageLog
from streams.records import FeatureSnapshot

log = logging.getLogger(__name__)
_outage = OutageLog(log, "latest prices not written to Redis")

PRICES_KEY = "solbot:prices"
PRICES_TTL_S = 3600  # a bot that stopped writing prices an hour ago must not show them as latest
_client: aioredis.Redis | None = None


def _redis() -> aioredis.Redis | None:
    global _client
    if _client is None:
        from core.config import get_settings

        url = get_settings().redis_url
        if url is None:
            return None
        _client = aioredis.Redis.from_url(url)
    return _client


async def publish(snapshots: Iterable[FeatureSnapshot]) -> None:
    client = _redis()
    if client is None:
        return
    mapping = {s.pair: repr(s.price) for s in snapshots}
    try:
        async with client.pipeline(transaction=False) as pipe:
            pipe.hset(PRICES_KEY, mapping=mapping)  # type: ignore[arg-type]
            pipe.expire(PRICES_KEY, PRICES_TTL_S)
            await pipe.execute()
    except (RedisError, OSError) as exc:
        _outage.failed(exc)
    else:
        _outage.succeeded()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def read_prices(redis: aioredis.Redis) -> dict[str, float]:
    """Latest price per pair (quote per base); empty when nothing was written in the last hour."""
    raw = await redis.hgetall(PRICES_KEY)
    return {_text(k): float(v) for k, v in raw.items()}


async def read_price(redis: aioredis.Redis, pair: str) -> float | None:
    """The pair's latest price, or None when none is recorded."""
    value = await redis.hget(PRICES_KEY, pair)
    return None if value is None else float(value)


async def read(redis_url: str) -> dict[str, float]:
    """`read_prices` on a client of its own (for one-off readers such as the run summary)."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        return await read_prices(client)
    finally:
        await client.aclose()
