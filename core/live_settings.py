"""Live trading's opt-in, caps and endpoints (`solbot run --live`, docs/live.md): declared apart from
`Settings` (which inherits them, environment keys = field names). Off unless set; the run still asks for
a typed confirmation at a terminal, or `--yes`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LiveSettings(BaseModel):
    """Whether live orders may be sent, how large they may be, and where they go."""

    model_config = ConfigDict(frozen=True)

    live_trading: bool = Field(
        False,
        description="allow `solbot run --live` to sign and send real transactions with the keystore's key",
    )
    live_dry_run: bool = Field(
        False,
        description="live orders are built, signed and simulated, never sent (`solbot run --live --dry-run`)",
    )
    live_max_order_usdc: float = Field(
        100.0,
        gt=0.0,
        le=1e9,
        description="largest notional (USDC) of one live order; a larger one is refused unsent",
    )
    live_max_day_usdc: float = Field(
        1_000.0,
        gt=0.0,
        le=1e10,
        description="notional (USDC) live orders may reach per UTC day; then refused unsent",
    )
    live_reconcile_s: float = Field(
        60.0,
        ge=1.0,
        le=86_400.0,
        description="seconds between two reconciliations of the database with the chain",
    )
    live_venue: Literal["jupiter", "jito"] = Field(
        "jupiter",
        description=(
            "how live orders reach the chain: `jupiter` its route sent to the RPC node; `jito` that route "
            "sent as a Jito bundle (`jito_url`) with a tip to one of the block engine's tip accounts inside "
            "the transaction, landed atomically or dropped"
        ),
    )
    live_fee_reserve_sol: float = Field(
        0.05,
        ge=0.0,
        le=1_000.0,
        description=(
            "native SOL kept for fees and rent: the risk state sizes live orders from the wallet's on-chain "
            "balances, its native SOL above this counted as wrapped SOL"
        ),
    )
    jupiter_url: str | None = Field(
        None, description="Jupiter swap API base of live orders (`/swap/v1/...`); default: `jupiter_api_url`"
    )
    wallet_path: Path | None = Field(
        None, description="the keystore live orders sign with; default <data dir>/wallet.json"
    )
