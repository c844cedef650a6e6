"""The risk agent's audit writer against a real PostgreSQL: a database error queues, never loses."""

from __future__ import annotations

import asyncpg

from agents.risk import AuditWriter
from risk.audit import RiskDecisionRow


def row(i: int) -> RiskDecisionRow:
    return RiskDecisionRow(f"rej:s{i}", f"s{i}", "main", "SOL/USDC", "reject", None, "halted: manual", i, i)


async def test_decisions_survive_a_database_outage_and_rewrites_are_harmless(migrated_url: str) -> None:
    writer = AuditWriter("postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    assert await writer.write([row(1), row(2)]) == 2  # queued, not lost
    writer._url = migrated_url  # the database is back
    assert await writer.write([row(3), row(2)]) == 0  # the queue and the new batch; s2 twice is fine
    conn = await asyncpg.connect(migrated_url)
    try:
        ids = [
            r["signal_id"] for r in await conn.fetch("SELECT signal_id FROM risk_decisions ORDER BY ts_ms")
        ]
    finally:
        await conn.close()
    assert ids == ["s1", "s2", "s3"]
