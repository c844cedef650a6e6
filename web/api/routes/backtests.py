"""Backtests from the dashboard: start one on the bundled sample, list them, open a report.

A report is a whole HTML page the browser opens in a tab, where the page's bearer token cannot follow.
`POST /backtests/{id}/view` (bearer) therefore sets a view cookie for that one report: HttpOnly,
SameSite=Strict, scoped to `/reports/{id}`, living five minutes; its value is random and only its SHA-256
is kept in Redis. The token never goes into a URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from web.api.backtest_jobs import JOB_ID, BacktestJobs, Job, JobBusy
from web.api.deps import StateDep, rate_limited, require
from web.api.errors import ApiError, ErrorResponse
from web.api.security import Permission, Principal

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/backtests",
    tags=["backtests"],
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
reports = APIRouter(include_in_schema=False)
# Owners and traders: a backtest changes nothing, but it is seconds of CPU a viewer should not spend.
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE_BOT, Permission.EXECUTE_TRADES))]
DefaultLimit = Annotated[None, Depends(rate_limited("default"))]
JobPath = Annotated[str, Path(pattern=JOB_ID.pattern, description="A backtest id from POST /backtests")]
VIEW_COOKIE = "solbot_report"
VIEW_PREFIX = "solbot:web:report-view:"
VIEW_TTL_S = 300


class BacktestIn(BaseModel):
    seed: int = Field(1, ge=0, le=2**31 - 1, description="Seeds the backtest's random generators")
    max_position_pct: float | None = Field(None, gt=0, le=100, description="Override for this run")
    stop_loss_pct: float | None = Field(None, gt=0, le=100, description="Override for this run")


class BacktestOut(BaseModel):
    id: str
    seed: int
    overrides: dict[str, float]
    started_ms: int
    status: str = Field(description="running | done | failed")
    finished_ms: int | None
    error: str | None
    headline: dict[str, Any] = Field(
        description="orders, trades, PnL (total and trading), drawdown, win rate"
    )
    sample: str

    @classmethod
    def of(cls, job: Job, jobs: BacktestJobs) -> BacktestOut:
        return cls(**vars(job), sample=jobs.sample.name)


class BacktestList(BaseModel):
    items: list[BacktestOut]


class ReportView(BaseModel):
    url: str = Field(description="Open this in the same browser within five minutes")


def _jobs(state: StateDep) -> BacktestJobs:
    if state.backtests is None:
        raise ApiError(503, "unavailable", "backtests are not available here")
    return state.backtests


@router.post("", status_code=202, response_model=BacktestOut, summary="Backtest the bundled sample")
async def start(body: BacktestIn, state: StateDep, principal: Configure, _: DefaultLimit) -> BacktestOut:
    jobs = _jobs(state)
    overrides = {k: v for k, v in body.model_dump(exclude={"seed"}).items() if v is not None}
    try:
        job = jobs.start(body.seed, overrides)
    except JobBusy as exc:
        raise ApiError(409, "busy", str(exc)) from None
    log.info("backtest %s started by %s", job.id, principal.wallet)
    return BacktestOut.of(job, jobs)


@router.get("", response_model=BacktestList, summary="Backtests, newest first")
async def list_backtests(state: StateDep, _: Configure, __: DefaultLimit) -> BacktestList:
    jobs = _jobs(state)
    return BacktestList(items=[BacktestOut.of(j, jobs) for j in jobs.list()])


@router.get("/{job_id}", response_model=BacktestOut, summary="One backtest")
async def get_backtest(job_id: JobPath, state: StateDep, _: Configure, __: DefaultLimit) -> BacktestOut:
    jobs = _jobs(state)
    job = jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", "no such backtest")
    return BacktestOut.of(job, jobs)


@router.post("/{job_id}/view", response_model=ReportView, summary="Let this browser open the report")
async def view(
    job_id: JobPath,
    request: Request,
    response: Response,
    state: StateDep,
    principal: Configure,
    _: DefaultLimit,
) -> ReportView:
    if _jobs(state).report_path(job_id) is None:
        raise ApiError(404, "not_found", "no report for this backtest (still running, or failed)")
    ticket = secrets.token_urlsafe(32)
    record = json.dumps({"wallet": principal.wallet, "job": job_id})
    await state.redis.set(VIEW_PREFIX + _digest(ticket), record, ex=VIEW_TTL_S)
    url = f"/reports/{job_id}"
    response.set_cookie(
        VIEW_COOKIE, ticket, max_age=VIEW_TTL_S, path=url, httponly=True, samesite="strict",
        secure=request.url.scheme == "https" or state.settings.web_tls,
    )  # fmt: skip
    return ReportView(url=url)


@reports.get("/reports/{job_id}", response_class=HTMLResponse)
async def report(job_id: JobPath, request: Request, state: StateDep, _: DefaultLimit) -> HTMLResponse:
    ticket = request.cookies.get(VIEW_COOKIE)
    raw = await state.redis.get(VIEW_PREFIX + _digest(ticket)) if ticket else None
    if raw is None or json.loads(raw).get("job") != job_id:
        raise ApiError(401, "unauthorized", "open the report from the dashboard (its view lasts 5 minutes)")
    path = _jobs(state).report_path(job_id)
    if path is None:
        raise ApiError(404, "not_found", "no such report")
    return HTMLResponse(path.read_text(encoding="utf-8"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
