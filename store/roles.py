"""Wallet roles of the web API (`wallet_roles`): owner, trader or viewer, granted by an owner.

A wallet without a row has no role and may read nothing. Every grant and revocation is written to the
audit log in the same transaction, so the record and the change cannot part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

import asyncpg

from store.audit_log import Source, record_action
from store.db import Queryable

Role = Literal["owner", "trader", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)


class LastOwner(Exception):
    """Refused: the change would leave no owner, and then no one could grant a role again."""


@dataclass(frozen=True, slots=True)
class RoleGrant:
    wallet: str
    role: Role
    granted_by: str
    granted_at: datetime


async def role_of(db: Queryable, wallet: str) -> Role | None:
    value = await db.fetchval("SELECT role FROM wallet_roles WHERE wallet = $1", wallet)
    return value if value in ROLES else None


async def list_roles(db: Queryable) -> list[RoleGrant]:
    rows = await db.fetch("SELECT wallet, role, granted_by, granted_at FROM wallet_roles ORDER BY wallet")
    return [RoleGrant(r["wallet"], r["role"], r["granted_by"], r["granted_at"]) for r in rows]


async def _owners_besides(conn: asyncpg.Connection, wallet: str) -> int:
    # FOR UPDATE on the owners' rows: two concurrent demotions of the last two owners cannot both pass.
    rows = await conn.fetch("SELECT wallet FROM wallet_roles WHERE role = 'owner' FOR UPDATE")
    return sum(1 for r in rows if r["wallet"] != wallet)


async def grant_role(pool: asyncpg.Pool, wallet: str, role: Role, *, actor: str, source: Source) -> RoleGrant:
    """Give `wallet` the role (replacing any other); audited. `LastOwner` if it demotes the last owner."""
    async with pool.acquire() as conn, conn.transaction():
        current = await conn.fetchval("SELECT role FROM wallet_roles WHERE wallet = $1 FOR UPDATE", wallet)
        if current == "owner" and role != "owner" and await _owners_besides(conn, wallet) == 0:
            raise LastOwner(f"{wallet} is the last owner")
        row = await conn.fetchrow(
            "INSERT INTO wallet_roles (wallet, role, granted_by) VALUES ($1, $2, $3) ON CONFLICT (wallet)"
            " DO UPDATE SET role = EXCLUDED.role, granted_by = EXCLUDED.granted_by, granted_at = now()"
            " RETURNING wallet, role, granted_by, granted_at",
            wallet,
            role,
            actor,
        )
        await record_action(
            conn, actor=actor, source=source, action="role.grant", target=wallet,
            detail={"role": role, "previous": current},
        )  # fmt: skip
    return RoleGrant(row["wallet"], row["role"], row["granted_by"], row["granted_at"])


async def revoke_role(pool: asyncpg.Pool, wallet: str, *, actor: str, source: Source) -> Role | None:
    """Remove `wallet`'s role; returns what it was (None: it had none). `LastOwner` for the last owner."""
    async with pool.acquire() as conn, conn.transaction():
        current = await conn.fetchval("SELECT role FROM wallet_roles WHERE wallet = $1 FOR UPDATE", wallet)
        if current is None:
            return None
        if current == "owner" and await _owners_besides(conn, wallet) == 0:
            raise LastOwner(f"{wallet} is the last owner")
        await conn.execute("DELETE FROM wallet_roles WHERE wallet = $1", wallet)
        await record_action(
            conn,
            actor=actor,
            source=source,
            action="role.revoke",
            target=wallet,
            detail={"previous": current},
        )
    role: Role = current
    return role


async def grant_first_owner(pool: asyncpg.Pool, wallet: str, *, actor: str, source: Source) -> bool:
    """Make `wallet` owner only while there is no owner at all (bootstrap); True when it did."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE wallet_roles IN SHARE ROW EXCLUSIVE MODE")
        if await conn.fetchval("SELECT count(*) FROM wallet_roles WHERE role = 'owner'"):
            return False
        await conn.execute(
            "INSERT INTO wallet_roles (wallet, role, granted_by) VALUES ($1, 'owner', $2)"
            " ON CONFLICT (wallet) DO UPDATE"
            " SET role = 'owner', granted_by = EXCLUDED.granted_by, granted_at = now()",
            wallet,
            actor,
        )
        await record_action(
            conn, actor=actor, source=source, action="role.grant", target=wallet,
            detail={"role": "owner", "first_owner": True},
        )  # fmt: skip
    return True
