"""Versioned migrations: apply once, in order, under a lock; an edited migration is refused."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from core.errors import ServiceError
from risk.audit import RiskDecisionRow
from store.migrate import MIGRATIONS_DIR, load_migrations, migrate
from store.risk import record_decisions

TABLES = {
    "schema_migrations",
    "orders",
    "executions",
    "balances",
    "positions",
    "sink_offsets",
    "risk_decisions",
    "market_data",  # 0002: partitioned by day, with its default partition
    "market_data_default",
    "order_transitions",  # 0003: the live order life cycle
    "order_txs",
    "portfolios",  # 0006: the spec's wallet and portfolio entities
    "wallets",
    "model_checkpoints",  # 0005
    "strategy_params",  # 0004: the dashboard's strategy parameters
    "broker_identity",  # 0008: the broker the offsets and checkpoints belong to
    "wallet_roles",  # 0009: web API roles
    "audit_log",  # 0009: append-only record of state changes
    "risk_owners",  # 0010: the owner epoch of each risk state (fencing)
    "live_orders",  # 0011: live orders to re-drive, and their notionals against the day cap
}
ALL = [m.name for m in load_migrations()]


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["tablename"] for row in rows}


async def test_applies_on_empty_database_then_is_idempotent(fresh_database_url: str) -> None:
    assert await migrate(fresh_database_url) == ALL
    assert await _tables(fresh_database_url) == TABLES
    assert await migrate(fresh_database_url) == []
    conn = await asyncpg.connect(fresh_database_url)
    try:
        row = await conn.fetchrow("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    assert (row["version"], row["name"]) == (1, "0001_initial")
    assert row["checksum"] == load_migrations()[0].checksum


async def test_concurrent_workers_apply_once(fresh_database_url: str) -> None:
    results = await asyncio.gather(*(migrate(fresh_database_url) for _ in range(3)))
    # Each migration is applied exactly once; the lock is per migration, so workers may share the work.
    assert sorted(name for applied in results for name in applied) == ALL


async def test_later_migrations_apply_in_order(fresh_database_url: str, tmp_path: Path) -> None:
    shutil.copy(MIGRATIONS_DIR / "0001_initial.sql", tmp_path)
    assert await migrate(fresh_database_url, migrations_dir=tmp_path) == ["0001_initial"]
    (tmp_path / "0003_more.sql").write_text("ALTER TABLE orders ADD COLUMN tag2 text REFERENCES t2 (x);")
    (tmp_path / "0002_add.sql").write_text("CREATE TABLE t2 (x text PRIMARY KEY);")
    assert await migrate(fresh_database_url, migrations_dir=tmp_path) == ["0002_add", "0003_more"]


async def test_edited_migration_is_refused(fresh_database_url: str, tmp_path: Path) -> None:
    edited = tmp_path / "0001_initial.sql"
    shutil.copy(MIGRATIONS_DIR / "0001_initial.sql", edited)
    await migrate(fresh_database_url, migrations_dir=tmp_path)
    edited.write_text(edited.read_text() + "\n-- a harmless-looking edit\n")
    with pytest.raises(ServiceError, match="never edited after"):
        await migrate(fresh_database_url, migrations_dir=tmp_path)


async def test_failed_migration_rolls_back(fresh_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_bad.sql").write_text("CREATE TABLE ok (x int); SELECT no_such_function();")
    with pytest.raises(asyncpg.PostgresError):
        await migrate(fresh_database_url, migrations_dir=tmp_path)
    assert await _tables(fresh_database_url) == {"schema_migrations"}


async def test_badly_named_file_is_refused(fresh_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "1_initial.sql").write_text("SELECT 1;")
    with pytest.raises(ServiceError, match="NNNN_name"):
        await migrate(fresh_database_url, migrations_dir=tmp_path)


async def test_record_decisions_once_per_signal(migrated_url: str) -> None:
    def row(decision: str, signal: str) -> RiskDecisionRow:
        return RiskDecisionRow(decision, signal, "p1", "TOK/SOL", "approve", f"ord:{signal}", "", 1, 2)

    conn = await asyncpg.connect(migrated_url)
    try:
        assert await record_decisions(conn, [row("d1", "s1"), row("d2", "s2")]) == 2
        assert await record_decisions(conn, [row("d3", "s1"), row("d4", "s4"), row("d5", "s4")]) == 1
        assert await record_decisions(conn, []) == 0
        assert await conn.fetchval("SELECT count(*) FROM risk_decisions") == 3
    finally:
        await conn.close()
