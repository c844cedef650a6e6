"""System status (can the API reach Postgres, Redis and the broker, how much is recorded) and the kill switch.

`POST /system/halt` and `POST /system/resume` do what `solbot halt` / `solbot resume` do: the `Control`
record is written to the Redis fast path first (the risk agent applies it at its next batch and the
execution sink refuses buys while it says halt) and then published on the `control` topic, the durable
source of truth.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictBool
from redis.exceptions import RedisError

from core.errors import ServiceError
from store.alerts import ALERTS_KEY
from store.latest_prices import PRICES_KEY
from store.order_gate import get_fast_control, set_fast_control
from store.row_counts import count_rows
from streams.broker import bootstrap_of
from streams.codec import encode
from streams.records import Control
from streams.topics import CONTROL
from web.api.action_log import audit
from web.api.deps import PublisherDep, RedisDep, SettingsDep, StateDep, rate_limited, require, require_signed
from web.api.errors import ApiError, ErrorResponse
from web.api.security import Permission, Principal

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/system",
    tags=["system"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
CHECK_TIMEOUT_S = 2.0


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
            counts.update(await count_rows(state.pool))
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


class TradingState(BaseModel):
    halted: bool = Field(
        description="A manual halt is in force on the fast path (breaker halts not included)"
    )
    reason: str | None = Field(description="The halt's reason")
    since_ms: int | None = Field(description="When the current halt or resume was sent")
    control_id: str | None
    pairs: list[str] = Field(description="The pairs this bot trades")


@router.get(
    "/trading", response_model=TradingState, summary="Whether trading is halted, and the pairs traded"
)
async def trading(
    redis: RedisDep,
    settings: SettingsDep,
    _: Annotated[Principal, Depends(require(Permission.READ_PORTFOLIO))],
    __: Annotated[None, Depends(rate_limited("default"))],
) -> TradingState:
    try:
        control = await get_fast_control(redis, settings.portfolio)
    except (OSError, RedisError) as exc:
        raise ApiError(503, "unavailable", f"halt state unreadable: {type(exc).__name__}") from None
    halted = control is not None and control.action == "halt"
    return TradingState(
        halted=halted,
        reason=control.reason if halted and control is not None else None,
        since_ms=control.ts_ms if control is not None else None,
        control_id=control.id if control is not None else None,
        pairs=list(settings.pairs),
    )


class HaltRequest(BaseModel):
    reason: str = Field("operator", min_length=1, max_length=200, description="Recorded in every rejection")
    flatten: StrictBool = Field(False, description="Also sell every position (true or false, nothing else)")


class ControlSent(BaseModel):
    id: str
    action: str
    reason: str
    flatten: bool
    ts_ms: int
    topic: str
    fast_path: bool  # False when Redis could not be written: the topic's copy applies, behind the backlog


async def _send_control(
    action: str, reason: str, flatten: bool, redis: RedisDep, publisher: PublisherDep, settings: SettingsDep
) -> ControlSent:
    ts = int(time.time() * 1000)
    control = Control(
        id=f"ctl:{action}:{ts}:{uuid.uuid4().hex[:8]}",
        action=action,
        reason=reason,
        flatten=flatten,
        ts_ms=ts,
    )
    fast = True
    try:
        await set_fast_control(redis, settings.portfolio, control)
    except (OSError, RedisError) as exc:
        log.warning("%s: fast path not set: %s", control.id, exc)
        fast = False
    try:
        await publisher.send(CONTROL.name, settings.portfolio, encode(control))
    except ServiceError as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    log.warning("%s sent (%s)", control.id, reason)
    return ControlSent(
        id=control.id,
        action=action,
        reason=reason,
        flatten=flatten,
        ts_ms=ts,
        topic=CONTROL.name,
        fast_path=fast,
    )


@router.post(
    "/halt",
    status_code=202,
    response_model=ControlSent,
    responses={400: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    summary="Kill switch: reject every new buy (optionally sell everything)",
)
async def halt(
    body: HaltRequest,
    state: StateDep,
    redis: RedisDep,
    publisher: PublisherDep,
    settings: SettingsDep,
    principal: Annotated[
        Principal, Depends(require_signed(Permission.CONFIGURE_BOT, Permission.EXECUTE_TRADES))
    ],
    _: Annotated[None, Depends(rate_limited("orders"))],
) -> ControlSent:
    sent = await _send_control("halt", body.reason, body.flatten, redis, publisher, settings)
    # The kill switch never waits on the audit log: recorded after it is sent, and a failure only logged.
    detail = {"reason": body.reason, "flatten": body.flatten, "id": sent.id}
    await audit(state.pool, principal, "halt", "", detail, required=False)
    return sent


@router.post(
    "/resume",
    status_code=202,
    response_model=ControlSent,
    responses={503: {"model": ErrorResponse}},
    summary="Clear a manual halt (breaker halts stay)",
)
async def resume(
    state: StateDep,
    redis: RedisDep,
    publisher: PublisherDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require_signed(Permission.CONFIGURE_BOT))],
    _: Annotated[None, Depends(rate_limited("orders"))],
) -> ControlSent:
    await audit(state.pool, principal, "resume")
    return await _send_control("resume", "", False, redis, publisher, settings)
