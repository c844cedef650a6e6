"""The risk agent's audit trail (`risk_decisions`): written once per signal, re-deliveries ignored."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from risk.audit import RiskDecisionRow  # what a row says is risk's; writing it is ours


async def record_decisions(conn: asyncpg.Connection, rows: Sequence[RiskDecisionRow]) -> int:
    """Insert decisions in one statement; a signal already decided is skipped. Returns rows inserted.

    Takes a connection, not a pool, so the caller can make it part of its own transaction.
    """
    if not rows:
        return 0
    inserted = await conn.fetch(
        """
        INSERT INTO risk_decisions
            (decision_id, signal_id, portfolio, pair, action, order_id, reason, ts_ms, decided_ms)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::text[], $8::bigint[], $9::bigint[])
        ON CONFLICT (signal_id) DO NOTHING
        RETURNING decision_id
        """,
        [r.decision_id for r in rows],
        [r.signal_id for r in rows],
        [r.portfolio for r in rows],
        [r.pair for r in rows],
        [r.action for r in rows],
        [r.order_id for r in rows],
        [r.reason for r in rows],
        [r.ts_ms for r in rows],
        [r.decided_ms for r in rows],
    )
    return len(inserted)
