"""System status: can the API reach Postgres, Redis and the broker, and how much is recorded."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel
from redis.exceptions import RedisError

from store.latest_prices import PRICES_KEY
from streams.broker_compat import bootstrap_of
from web.alerts import ALERTS_KEY
from web.api.deps import StateDep, rate_limited, require
from web.api.errors import ErrorResponse
from web.api.security import Permission, Principal

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/system",
    tags=["system"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
CHECK_TIMEOUT_S = 2.0
_COUNTED = ("orders", "executions", "positions", "risk_decisions")


class ComponentStatus(BaseModel):
    reachable: bool
    error: str | None = None


class SystemStatus(BaseModel):
    status: str  # "ok" when every component is reachable, else "degraded"
    postgres: ComponentStatus
    redis: ComponentStatus
    broker: ComponentStatus
    counts: dict[str, int]
    websocket_clients: int


async def _broker_reachable(broker_url: str | None) -> ComponentStatus:
    if broker_url is None:
        return ComponentStatus(reachable=False, error="BROKER_URL not set")
    host, _, port = bootstrap_of(broker_url).split(",")[0].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), CHECK_TIMEOUT_S)
    except (OSError, ValueError, TimeoutError) as exc:
        return ComponentStatus(reachable=False, error=type(exc).__name__)
    writer.close()
    await writer.wait_closed()
    return ComponentStatus(reachable=True)


@router.get("/status", response_model=SystemStatus, summary="Reachability of Postgres, Redis and the broker")
async def system_status(
    state: StateDep,
    _: Annotated[Principal, Depends(require(Permission.VIEW_ANALYTICS))],
    __: Annotated[None, Depends(rate_limited("default"))],
) -> SystemStatus:
    counts: dict[str, int] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            row = await state.pool.fetchrow(
                "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in _COUNTED)
            )
        assert row is not None
        counts.update({t: int(row[t]) for t in _COUNTED})
        postgres = ComponentStatus(reachable=True)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        postgres = ComponentStatus(reachable=False, error=type(exc).__name__)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            pipe = state.redis.pipeline(transaction=False)
            pipe.hlen(PRICES_KEY)
            pipe.llen(ALERTS_KEY)
            prices, alerts = await pipe.execute()
        counts.update({"prices": int(prices), "alerts": int(alerts)})
        redis = ComponentStatus(reachable=True)
    except (OSError, RedisError, TimeoutError) as exc:
        redis = ComponentStatus(reachable=False, error=type(exc).__name__)
    broker = await _broker_reachable(state.settings.broker_url)
    ok = postgres.reachable and redis.reachable and broker.reachable
    return SystemStatus(
        status="ok" if ok else "degraded",
        postgres=postgres,
        redis=redis,
        broker=broker,
        counts=counts,
        websocket_clients=state.bridge.clients,
    )
