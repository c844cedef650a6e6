"""The owner epoch of a portfolio's risk state (`risk_owners`): claimed at assignment, checked at writes."""

from __future__ import annotations

from core.errors import StaleOwner
from store.db import Queryable


async def claim_epoch(db: Queryable, portfolio: str, owner: str, now_ms: int) -> int:
    """Take the next epoch of `portfolio`'s risk state for `owner`; returns it."""
    epoch = await db.fetchval(
        """
        INSERT INTO risk_owners (portfolio, epoch, owner, claimed_ms) VALUES ($1, 1, $2, $3)
        ON CONFLICT (portfolio) DO UPDATE
            SET epoch = risk_owners.epoch + 1, owner = EXCLUDED.owner, claimed_ms = EXCLUDED.claimed_ms
        RETURNING epoch
        """,
        portfolio,
        owner,
        now_ms,
    )
    return int(epoch)


async def current_owner(db: Queryable, portfolio: str, *, lock: bool = False) -> tuple[int, int] | None:
    """(epoch, claimed_ms) of the portfolio's current owner, None before any claim; `lock` holds the row
    (FOR SHARE) until the caller's transaction ends, so no claim can slip in between check and write."""
    row = await db.fetchrow(
        "SELECT epoch, claimed_ms FROM risk_owners WHERE portfolio = $1" + (" FOR SHARE" if lock else ""),
        portfolio,
    )
    return None if row is None else (int(row["epoch"]), int(row["claimed_ms"]))


async def check_epoch(db: Queryable, portfolio: str, epoch: int) -> None:
    """StaleOwner unless `epoch` is the current one (call inside the transaction it guards)."""
    current = await current_owner(db, portfolio, lock=True)
    if current is not None and current[0] != epoch:
        raise StaleOwner(f"risk state of {portfolio}: epoch {epoch} is stale (current {current[0]})")
