"""Wallets that signed in to the web API (`wallets`): first and last seen, how often, owner or not."""

from __future__ import annotations

from store.db import Queryable


async def record_sign_in(db: Queryable, address: str, *, is_owner: bool) -> None:
    """Count one sign-in of `address` (creating its row the first time); `is_owner` is its current role."""
    await db.execute(
        "INSERT INTO wallets (address, is_owner, sign_ins) VALUES ($1, $2, 1) ON CONFLICT (address) DO UPDATE"
        " SET last_seen_at = now(), sign_ins = wallets.sign_ins + 1, is_owner = EXCLUDED.is_owner",
        address,
        is_owner,
    )
