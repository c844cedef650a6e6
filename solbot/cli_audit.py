"""The CLI's rows in the audit log: actor `cli:<OS user>`, source `cli`.

The CLI runs with the operator's own access to the stack, so its record is best effort: halt, resume and
rebalance go ahead when the database cannot take the row (the kill switch must never wait on it) and say
so on stderr. Role changes are different: `store.roles` writes the change and its row in one transaction.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import Any

import asyncpg

from core.settings import Settings
from services.stack import services_status
from store.audit_log import record_action


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "unknown"
    return f"cli:{user}"


def database_url(settings: Settings) -> str | None:
    url, running = services_status(settings)["postgres"]
    return url if url and running else None


async def _record(url: str, action: str, target: str, detail: dict[str, Any]) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await record_action(
            conn, actor=cli_actor(), source="cli", action=action, target=target, detail=detail
        )
    finally:
        await conn.close()


def audit_cli_action(
    settings: Settings, action: str, target: str = "", detail: dict[str, Any] | None = None
) -> str | None:
    """Append the row; None when written, else why not (for one stderr line)."""
    url = database_url(settings)
    if url is None:
        return "not audited: no database (DATABASE_URL or `solbot services up`)"
    try:
        asyncio.run(_record(url, action, target, detail or {}))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"not audited: {type(exc).__name__}"
    return None
