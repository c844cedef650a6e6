"""`store.wallets`: every sign-in counted once per wallet, its owner flag following the setting."""

from __future__ import annotations

import asyncpg

from store.wallets import record_sign_in


async def test_sign_ins_are_counted_and_the_role_follows(pool: asyncpg.Pool) -> None:
    await record_sign_in(pool, "WalletA", is_owner=True)
    first = await pool.fetchrow("SELECT * FROM wallets WHERE address = 'WalletA'")
    assert (first["sign_ins"], first["is_owner"]) == (1, True)
    await record_sign_in(pool, "WalletA", is_owner=False)  # OWNER_WALLET changed since
    await record_sign_in(pool, "WalletB", is_owner=False)
    again = await pool.fetchrow("SELECT * FROM wallets WHERE address = 'WalletA'")
    assert (again["sign_ins"], again["is_owner"]) == (2, False)
    assert again["first_seen_at"] == first["first_seen_at"]
    assert again["last_seen_at"] >= first["last_seen_at"]
    assert await pool.fetchval("SELECT count(*) FROM wallets") == 2
