"""Alerts raised by any part of solbot (`store.alerts.raise_alert`), newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from store.alerts import read_alerts
from web.api.deps import RedisDep, rate_limited, require
from web.api.errors import ErrorResponse
from web.api.security import Permission, Principal

router = APIRouter(
    prefix="/alerts",
    tags=["alerts"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)


class AlertOut(BaseModel):
    id: str
    ts_ms: int
    level: str
    code: str
    message: str


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    next_offset: int | None


@router.get("", response_model=AlertPage, summary="Alerts, newest first")
async def list_alerts(
    redis: RedisDep,
    _: Annotated[Principal, Depends(require(Permission.READ_PORTFOLIO, Permission.VIEW_ANALYTICS))],
    __: Annotated[None, Depends(rate_limited("default"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AlertPage:
    raw, total = await read_alerts(redis, offset=offset, limit=limit)
    items = [AlertOut.model_validate(a) for a in raw if _well_formed(a)]
    end = offset + len(raw)
    return AlertPage(items=items, total=total, next_offset=end if end < total else None)


def _well_formed(alert: dict[str, object]) -> bool:
    return all(k in alert for k in AlertOut.model_fields)
