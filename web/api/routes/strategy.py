"""Strategy parameters: read, validate, persist (`strategy_params`) and publish (`strategy.params`).

"Deploy" on the dashboard is a PUT with `enabled: true`; "Test" is `POST /strategy/test`, which runs a
backtest when the backtest engine is installed and otherwise answers 501 saying so.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import re
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictBool, field_validator

from core.errors import ServiceError
from core.settings import Settings
from models.strategies import STRATEGIES as STRATEGY_REGISTRY
from models.strategies import GridParams, GridStrategy
from store.strategy_params import read_strategy_params, save_strategy_params
from streams.records import StrategyParams
from streams.topics import STRATEGY_PARAMS
from web.api.action_log import audit
from web.api.deps import PoolDep, PublisherDep, SettingsDep, rate_limited, require, require_signed
from web.api.errors import ApiError, ErrorResponse
from web.api.security import Permission, Principal

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/strategy",
    tags=["strategy"],
    responses={
        400: {"model": ErrorResponse},
        401: {"model": ErrorResponse},
        403: {"model": ErrorResponse},
        429: {"model": ErrorResponse},
    },
)
Configure = Annotated[Principal, Depends(require(Permission.CONFIGURE_BOT))]
DefaultLimit = Annotated[None, Depends(rate_limited("default"))]

# The strategies the model agent runs (`models.strategies.STRATEGIES`); any other name would reach no one.
STRATEGIES = tuple(sorted(STRATEGY_REGISTRY))
BACKTEST_MODULE = "backtest.engine"
BACKTEST_SAMPLE = Path(__file__).resolve().parents[3] / "samples" / "sim-seed1.jsonl.gz"
_PAIR = re.compile(r"^[A-Za-z0-9]{1,20}/[A-Za-z0-9]{1,20}$")


class StrategyIn(BaseModel):
    name: str = Field(description="One of the strategies the bot runs")
    enabled: StrictBool
    max_position_pct: float = Field(gt=0, le=100, description="Largest position, % of equity")
    stop_loss_pct: float = Field(gt=0, le=100)
    take_profit_pct: float = Field(gt=0, le=1000)
    grid_levels: int = Field(ge=0, le=100, description="0 for a strategy that is not a grid")
    pairs: list[str] = Field(min_length=1, max_length=50)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy; one of: {', '.join(STRATEGIES)}")
        return value

    @field_validator("pairs")
    @classmethod
    def _pairs(cls, value: list[str]) -> list[str]:
        for pair in value:
            if not _PAIR.match(pair):
                raise ValueError(f"not a BASE/QUOTE pair: {pair[:40]!r}")
        if len(set(value)) != len(value):
            raise ValueError("pairs repeat")
        return value


class StrategyOut(StrategyIn):
    updated_by: str | None = Field(description="Wallet of the last change; null for the defaults")
    updated_ms: int | None


class StrategyList(BaseModel):
    strategies: list[StrategyOut]


class BacktestOut(BaseModel):
    name: str
    sample: str
    result: dict[str, Any]


def defaults(name: str, settings: Settings) -> StrategyOut:
    """What a strategy runs with before anyone saves parameters: the risk settings of the process.

    There is no take-profit setting yet; the default is twice the stop loss (a 2:1 reward to risk).
    """
    return StrategyOut(
        name=name,
        enabled=True,
        max_position_pct=settings.max_position_pct,
        stop_loss_pct=settings.stop_loss_pct,
        take_profit_pct=min(1000.0, 2 * settings.stop_loss_pct),
        grid_levels=GridParams().levels if name == GridStrategy.name else 0,
        pairs=list(settings.pairs),
        updated_by=None,
        updated_ms=None,
    )


@router.get("", response_model=StrategyList, summary="Every strategy's parameters")
async def get_strategies(
    pool: PoolDep, settings: SettingsDep, _: Configure, __: DefaultLimit
) -> StrategyList:
    stored = {params.name: StrategyOut(**params.asdict()) for params in await read_strategy_params(pool)}
    return StrategyList(strategies=[stored.get(name) or defaults(name, settings) for name in STRATEGIES])


@router.put(
    "",
    response_model=StrategyOut,
    summary="Save one strategy's parameters (deploy: enabled=true) and publish them to the agents",
    responses={503: {"model": ErrorResponse}},
)
async def put_strategy(
    body: StrategyIn,
    pool: PoolDep,
    settings: SettingsDep,
    publisher: PublisherDep,
    principal: Annotated[Principal, Depends(require_signed(Permission.CONFIGURE_BOT))],
    _: DefaultLimit,
) -> StrategyOut:
    unknown = [p for p in body.pairs if p not in settings.pairs]
    if unknown:
        raise ApiError(400, "unknown_pair", f"not traded by this bot: {', '.join(unknown)}")
    saved = StrategyOut(**body.model_dump(), updated_by=principal.wallet, updated_ms=int(time.time() * 1000))
    record = StrategyParams(**saved.model_dump())
    action = "strategy.deploy" if body.enabled else "strategy.update"
    await audit(pool, principal, action, saved.name, body.model_dump())
    await save_strategy_params(pool, record)
    try:
        await publisher.send(STRATEGY_PARAMS.name, saved.name, record.dumps())
    except ServiceError as exc:  # saved but not announced: say so; a retry of the PUT is safe
        raise ApiError(503, "unavailable", f"saved, but not published to the agents: {exc}") from None
    log.info("strategy %s parameters saved by %s", saved.name, principal.wallet)
    return saved


@router.post(
    "/test",
    response_model=BacktestOut,
    summary="Backtest parameters on the recorded simulator sample (501 while no engine is installed)",
    responses={501: {"model": ErrorResponse}},
)
async def test_strategy(body: StrategyIn, _: Configure, __: DefaultLimit) -> BacktestOut:
    """Runs `backtest.engine.run_backtest(sample_path, params)` in a thread when that exists."""
    if importlib.util.find_spec(BACKTEST_MODULE.partition(".")[0]) is None or (
        importlib.util.find_spec(BACKTEST_MODULE) is None
    ):
        raise ApiError(
            501, "not_implemented", "backtests are not wired yet: backtest.engine is not installed"
        )
    engine = importlib.import_module(BACKTEST_MODULE)
    run = getattr(engine, "run_backtest", None)
    if not callable(run):
        raise ApiError(501, "not_implemented", "backtest.engine has no run_backtest(sample, params)")
    if not BACKTEST_SAMPLE.exists():
        raise ApiError(501, "not_implemented", f"the backtest sample {BACKTEST_SAMPLE.name} is missing")
    result = await asyncio.to_thread(run, BACKTEST_SAMPLE, body.model_dump())
    return BacktestOut(name=body.name, sample=BACKTEST_SAMPLE.name, result=dict(result))
