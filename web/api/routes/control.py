"""`POST /orders`: the dashboard's manual requests (close a position, cancel an order).

The API never writes orders itself: the risk agent is their single writer. A request becomes a
`ManualRequest` on `control.manual` and the answer is 202 with its id; the risk agent turns a close into
an exit order for the pair (and a cancel into the order's cancellation when it is still open), and the
outcome arrives on the usual `orders` / `fills` channels of `/ws`.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from solbot.errors import ServiceError
from streams.records import ManualRequest
from streams.topics import CONTROL_MANUAL
from web.api.deps import PublisherDep, SettingsDep, rate_limited, require
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
        429: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)


class ManualOrderRequest(BaseModel):
    action: Literal["close", "cancel"]
    pair: str | None = Field(None, max_length=40, description="For `close`: the position's pair, BASE/QUOTE")
    order_id: str | None = Field(None, min_length=1, max_length=200, description="For `cancel`")

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
    principal: Annotated[Principal, Depends(require(Permission.EXECUTE_TRADES))],
    _: Annotated[None, Depends(rate_limited("orders"))],
) -> ManualOrderAccepted:
    if body.action == "close" and body.pair not in settings.pairs:
        raise ApiError(400, "unknown_pair", f"not a traded pair: {body.pair}")
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
    log.info("manual %s %s published by %s", request.action, request.id, principal.wallet)
    return ManualOrderAccepted(
        id=request.id,
        action=request.action,
        pair=request.pair or None,
        order_id=request.order_id or None,
        topic=CONTROL_MANUAL.name,
    )
