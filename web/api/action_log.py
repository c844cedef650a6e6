"""The API's side of the audit log: every state-changing request is recorded with its wallet.

Recorded before the action is carried out, so nothing happens unrecorded: when the database cannot take
the row the request is refused (503). The kill switch alone is recorded after it was sent, and goes ahead
without its row when the database fails (stopping trading matters more than the record of who stopped
it), saying so in the log.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from store.audit_log import record_action
from store.db import Queryable
from web.api.errors import ApiError
from web.api.security import Principal

log = logging.getLogger(__name__)


async def audit(
    db: Queryable,
    principal: Principal,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    *,
    required: bool = True,
) -> None:
    try:
        await record_action(
            db, actor=principal.wallet, source="api", action=action, target=target, detail=detail
        )
    except (OSError, asyncpg.PostgresError) as exc:
        if required:
            raise ApiError(503, "unavailable", f"audit log unavailable: {type(exc).__name__}") from None
        log.error("%s by %s NOT audited (%s): going ahead", action, principal.wallet, type(exc).__name__)
