"""Operator-set strategy parameters (`strategy_params`, one row per strategy), as the wire record.

The web API saves them (and publishes the same record on `strategy.params`); every model worker reads
them at start and on a timer, so workers that did not consume the topic's record converge too.
"""

from __future__ import annotations

from store.db import Queryable
from streams.records import StrategyParams


async def read_strategy_params(db: Queryable) -> list[StrategyParams]:
    """Every saved strategy's parameters, by name. `asyncpg.UndefinedTableError` before migration 0004."""
    rows = await db.fetch(
        "SELECT name, enabled, max_position_pct, stop_loss_pct, take_profit_pct, grid_levels, pairs,"
        " updated_by, updated_ms FROM strategy_params ORDER BY name"
    )
    return [
        StrategyParams(
            name=r["name"],
            enabled=r["enabled"],
            max_position_pct=r["max_position_pct"],
            stop_loss_pct=r["stop_loss_pct"],
            take_profit_pct=r["take_profit_pct"],
            grid_levels=r["grid_levels"],
            pairs=list(r["pairs"]),
            updated_by=r["updated_by"],
            updated_ms=r["updated_ms"],
        )
        for r in rows
    ]


async def save_strategy_params(db: Queryable, params: StrategyParams) -> None:
    """Insert or replace the strategy's row (the latest save wins, as on the topic)."""
    await db.execute(
        """
        INSERT INTO strategy_params (name, enabled, max_position_pct, stop_loss_pct, take_profit_pct,
                                     grid_levels, pairs, updated_by, updated_ms)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (name) DO UPDATE SET
            enabled = EXCLUDED.enabled, max_position_pct = EXCLUDED.max_position_pct,
            stop_loss_pct = EXCLUDED.stop_loss_pct, take_profit_pct = EXCLUDED.take_profit_pct,
            grid_levels = EXCLUDED.grid_levels, pairs = EXCLUDED.pairs,
            updated_by = EXCLUDED.updated_by, updated_ms = EXCLUDED.updated_ms
        """,
        params.name,
        params.enabled,
        params.max_position_pct,
        params.stop_loss_pct,
        params.take_profit_pct,
        params.grid_levels,
        list(params.pairs),
        params.updated_by,
        params.updated_ms,
    )
