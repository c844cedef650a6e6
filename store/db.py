"""Connection pools for the store: one place that says how solbot talks to Postgres."""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from core.errors import ServiceError

# What the store's read and write functions take: a pool, a connection acquired from one, or a plain
# connection. All three answer fetch/fetchrow/fetchval/execute, so a caller holding a connection can run
# several reads on it, or make a write part of its own transaction.
Queryable = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy

# What a Postgres that is restarting, unreachable or slow raises at a caller: worth a retry, not a crash.
# An InterfaceError is a connection closed under a query (a server restart); a TimeoutError a pool that
# waited too long for a connection.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    ServiceError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 5) -> asyncpg.Pool:
    """Open an asyncpg pool; a Postgres that cannot be reached is a `ServiceError`, not a raw OSError."""
    try:
        pool = await asyncpg.create_pool(database_url, min_size=min_size, max_size=max_size)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ServiceError(f"cannot open a Postgres pool: {exc}") from exc
    if pool is None:  # asyncpg's stubs allow it; it never happens when awaited
        raise ServiceError("asyncpg returned no pool")
    return pool
