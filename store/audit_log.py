"""The append-only record of state-changing actions (`audit_log`): who, when, what, on what.

Rows are only ever inserted; the table's trigger refuses UPDATE, DELETE and TRUNCATE, so an action once
recorded stays, whoever holds the database credentials the application uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from store.db import Queryable

Source = Literal["api", "cli"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    source: str
    action: str
    target: str
    detail: dict[str, Any]


async def record_action(
    db: Queryable,
    *,
    actor: str,
    source: Source,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one action; returns its id."""
    row_id = await db.fetchval(
        "INSERT INTO audit_log (actor, source, action, target, detail) VALUES ($1, $2, $3, $4, $5::jsonb)"
        " RETURNING id",
        actor,
        source,
        action,
        target,
        json.dumps(detail or {}, sort_keys=True),
    )
    return int(row_id)


async def read_actions(db: Queryable, *, limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    """Newest first; `before_id` pages to older rows."""
    rows = await db.fetch(
        "SELECT id, at, actor, source, action, target, detail::text AS detail FROM audit_log"
        " WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        before_id,
        limit,
    )
    return [
        AuditEntry(
            id=int(r["id"]),
            at=r["at"],
            actor=r["actor"],
            source=r["source"],
            action=r["action"],
            target=r["target"],
            detail=json.loads(r["detail"]),
        )
        for r in rows
    ]
