"""How the backtest fills an order (backtest/fill_model.py): declared apart from `Settings` (which
inherits them, environment keys = field names) so the fill model's knobs read as one block."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BacktestSettings(BaseModel):
    """What a backtest fill costs and when it happens, offline."""

    model_config = ConfigDict(frozen=True)

    backtest_latency_ms: int = Field(
        520,
        ge=0,
        le=600_000,
        description=(
            "event time from a decision to its fill: the measured tick-to-order p50 (118 ms, `make bench`) "
            "plus one 400 ms slot to land; the fill takes the pool as it stands then"
        ),
    )
    backtest_own_impact: bool = Field(
        True,
        description="the bot's own fills move the pools they traded until that pool's next observed state",
    )
    backtest_network_fees: bool = Field(
        True,
        description=(
            "charge each sent transaction its signature fee, priority fee and Jito tip from the live fee "
            "policy (no market data: its defaults), in SOL, to risk and the ledger"
        ),
    )
    backtest_sandwich_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description=(
            "share of each order's slippage allowance (output at the fill state minus its floor) a sandwich "
            "takes; 0: no sandwiches, 1: every order filled at its floor"
        ),
    )
    backtest_pool_max_age_ms: int = Field(
        30_000,
        ge=0,
        description="a fill on a pool whose last observed state is older fails (`stale_pool`); 0: no check",
    )
