"""`POST /orders`: the dashboard's manual requests (close a position, cancel an order).

The API never writes orders itself: the risk agent is their single writer. A request becomes a
`ManualRequest` on `control.manual` and the answer is 202 with its id; the risk agent turns a close into
an exit order for the pair, and the outcome arrives on the usual `orders` / `fills` channels of `/ws`.

A cancel is enforced where the order would execute: an order already terminal (it has an execution row)
answers 409 `already_filled`; otherwise the order id is marked cancelled in Redis (`store.order_gate`)
and the execution sink, which checks that mark inside its transaction before executing, records the
terminal outcome `cancelled` instead. The mark is set, then the order re-read: one that executed in
between answers 409 too. (A 202 whose order was executing at that very instant still ends `filled`; its
fill says so.)
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator
from redis.exceptions import RedisError

from core.errors import ServiceError
from store.order_gate import request_cancel
from store.trades import terminal_status
from streams.records import ManualRequest
from streams.topics import CONTROL_MANUAL
from web.api.action_log import audit
from web.api.deps import PoolDep, PublisherDep, RedisDep, SettingsDep, rate_limited, require_signed
from web.api.errors import ApiError, ErrorResponse
from web.api.security import Permission, Principal

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/orders",
    tags=["orders"],
    responses={
        400: {"model": ErrorResponse},
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        409: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)


class ManualOrderRequest(BaseModel):
    action: Literal["close", "cancel"]
    pair: str | None = Field(None, max_length=40, description="For `close`: the position's pair, BASE/QUOTE")
    order_id: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",
        description="For `cancel`: printable ASCII, as every order id is (Postgres text cannot hold NUL)",
    )

    @model_validator(mode="after")
    def _needs_its_target(self) -> ManualOrderRequest:
        if self.action == "close" and not self.pair:
            raise ValueError("close needs `pair`")
        if self.action == "cancel" and not self.order_id:
            raise ValueError("cancel needs `order_id`")
        return self


class ManualOrderAccepted(BaseModel):
    id: str = Field(description="The `ManualRequest` id on the `control.manual` topic")
    action: str
    pair: str | None
    order_id: str | None
    topic: str


def _already(order_id: str, status: str) -> ApiError:
    return ApiError(409, "already_filled", f"order {order_id} is already terminal: {status}")


@router.post(
    "",
    status_code=202,
    response_model=ManualOrderAccepted,
    summary="Ask the risk agent to close a position or cancel an order",
)
async def manual_order(
    body: ManualOrderRequest,
    settings: SettingsDep,
    publisher: PublisherDep,
    pool: PoolDep,
    redis: RedisDep,
    principal: Annotated[Principal, Depends(require_signed(Permission.EXECUTE_TRADES))],
    _: Annotated[None, Depends(rate_limited("orders"))],
) -> ManualOrderAccepted:
    if body.action == "close" and body.pair not in settings.pairs:
        raise ApiError(400, "unknown_pair", f"not a traded pair: {body.pair}")
    if body.action == "cancel":
        assert body.order_id is not None
        try:
            status = await terminal_status(pool, body.order_id)
        except (OSError, asyncpg.PostgresError) as exc:
            raise ApiError(503, "unavailable", f"order status unknown: {type(exc).__name__}") from None
        if status is not None:
            raise _already(body.order_id, status)
    target = body.pair if body.action == "close" else body.order_id
    await audit(pool, principal, f"order.{body.action}", target or "")
    request = ManualRequest(
        id=f"manual:{uuid.uuid4().hex}",
        action=body.action,
        portfolio=settings.portfolio,
        pair=(body.pair or "") if body.action == "close" else "",
        order_id=(body.order_id or "") if body.action == "cancel" else "",
        wallet=principal.wallet,
        ts_ms=int(time.time() * 1000),
    )
    try:
        await publisher.send(CONTROL_MANUAL.name, settings.portfolio, request.dumps())
    except ServiceError as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    if body.action == "cancel":
        try:
            await request_cancel(redis, request.order_id, f"by {principal.wallet}")
            status = await terminal_status(pool, request.order_id)
        except (OSError, RedisError, asyncpg.PostgresError) as exc:
            raise ApiError(503, "unavailable", f"cancel not recorded: {type(exc).__name__}") from None
        if status is not None and status != "cancelled":
            raise _already(request.order_id, status)
    log.info("manual %s %s published by %s", request.action, request.id, principal.wallet)
    return ManualOrderAccepted(
        id=request.id,
        action=request.action,
        pair=request.pair or None,
        order_id=request.order_id or None,
        topic=CONTROL_MANUAL.name,
    )
