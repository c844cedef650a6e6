"""`store.strategy_params`: the operator's parameters saved and read back as the wire record."""

from __future__ import annotations

import asyncpg
import pytest

from store.strategy_params import read_strategy_params, save_strategy_params
from streams.records import StrategyParams


def params(name: str = "grid", **changes: object) -> StrategyParams:
    fields: dict[str, object] = {
        "name": name,
        "enabled": True,
        "max_position_pct": 12.5,
        "stop_loss_pct": 3.0,
        "take_profit_pct": 6.0,
        "grid_levels": 8,
        "pairs": ["SOL/USDC", "BONK/SOL"],
        "updated_by": "Wallet111",
        "updated_ms": 1_700_000_000_000,
    }
    return StrategyParams(**{**fields, **changes})


async def test_nothing_saved_reads_empty(pool: asyncpg.Pool) -> None:
    assert await read_strategy_params(pool) == []


async def test_saved_parameters_read_back_equal(pool: asyncpg.Pool) -> None:
    await save_strategy_params(pool, params("momentum", grid_levels=0, enabled=False))
    await save_strategy_params(pool, params("grid"))
    got = await read_strategy_params(pool)
    assert [p.name for p in got] == ["grid", "momentum"]
    assert got[0].asdict() == params("grid").asdict()
    assert got[1].asdict() == params("momentum", grid_levels=0, enabled=False).asdict()
    assert isinstance(got[0].pairs, list)


async def test_the_latest_save_wins(pool: asyncpg.Pool) -> None:
    await save_strategy_params(pool, params())
    newer = params(stop_loss_pct=4.5, pairs=["SOL/USDC"], updated_by="Other", updated_ms=1_700_000_000_001)
    async with pool.acquire() as conn, conn.transaction():  # part of a caller's transaction
        await save_strategy_params(conn, newer)
    (got,) = await read_strategy_params(pool)
    assert got.asdict() == newer.asdict()


async def test_invalid_rows_are_refused_by_the_schema(pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await save_strategy_params(pool, params(stop_loss_pct=0.0))
    assert await read_strategy_params(pool) == []


async def test_before_the_migration_the_table_is_missing(fresh_database_url: str) -> None:
    """The model agent treats this error as 'nothing saved yet' (workers may start before migrating)."""
    conn = await asyncpg.connect(fresh_database_url)
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await read_strategy_params(conn)
    finally:
        await conn.close()
