"""The simulated market `solbot run` and `solbot simulate` feed (market/simulator.py,
market/market_data.py): declared apart from `Settings`, which inherits them (environment keys = field
names)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SimSettings(BaseModel):
    """The simulator's seed, rate and kind of market, and whether it publishes market data."""

    model_config = ConfigDict(frozen=True)

    sim_seed: int = Field(1, description="simulator seed (`--seed`)")
    sim_rate_eps: float = Field(300.0, gt=0.0, description="simulated raw events per second (`--rate`)")
    sim_random_walk: bool = Field(False, description="a market with no predictable component")
    sim_market_data_ms: int = Field(
        0,
        ge=0,
        le=600_000,
        description=(
            "publish a Jupiter-shaped quote per major pair and a Drift-shaped SOL-PERP book every this many "
            "ms of event time (raw.quotes, raw.perps; 0: none), as the live collectors do"
        ),
    )
