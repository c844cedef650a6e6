"""Versioned schema migrations: `store/migrations/NNNN_name.sql`, applied in order, each exactly once.

Each file runs in its own transaction under a transaction-level advisory lock, so workers that start
together apply it once and the others wait, then find nothing to do. The file's sha256 is recorded; a
released migration is never edited (a database already migrated would silently diverge from a new one),
so a changed checksum stops start-up with a `ServiceError` instead.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from core.errors import ServiceError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any fixed bigint works; this one is b"solbotMG" read as an integer, so it is unlikely to collide.
_LOCK_KEY = int.from_bytes(b"solbotMG", "big", signed=True)

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    checksum: str  # sha256 of the file's bytes, hex


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; a stray or duplicated version is a `ServiceError`."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise ServiceError(f"migration file {path.name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ServiceError(f"two migrations share version {version}: {found[version].name}, {path.name}")
        data = path.read_bytes()
        found[version] = Migration(
            version=version,
            name=path.stem,
            sql=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [found[v] for v in sorted(found)]


async def _check_applied(conn: asyncpg.Connection, migrations: list[Migration]) -> set[int]:
    """Versions already applied; refuses if any applied file was edited since."""
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    known = {m.version: m for m in migrations}
    for row in rows:
        migration = known.get(row["version"])
        if migration is None:
            # A newer release migrated this database; older code may still run against it.
            log.warning(
                "database has migration %s (%s) that this code does not know", row["version"], row["name"]
            )
        elif migration.checksum != row["checksum"]:
            raise ServiceError(
                f"migration {migration.name} was edited after it was applied (checksum {row['checksum'][:12]}"
                f" in the database, {migration.checksum[:12]} on disk): migrations are never edited after"
                " release; add a new migration instead"
            )
    return {row["version"] for row in rows}


async def migrate(database_url: str, *, migrations_dir: Path | None = None) -> list[str]:
    """Apply the pending migrations; returns the names applied (empty when the schema is current)."""
    migrations = load_migrations(migrations_dir or MIGRATIONS_DIR)
    try:
        conn = await asyncpg.connect(database_url)
    except (OSError, asyncpg.PostgresError) as exc:
        raise ServiceError(f"cannot connect to Postgres to migrate: {exc}") from exc
    applied_now: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(_CREATE_TABLE)
            await _check_applied(conn, migrations)
        for migration in migrations:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                # Re-read under the lock: another worker may have applied it while we waited.
                done = await conn.fetchval(
                    "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
                )
                if done:
                    continue
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
                applied_now.append(migration.name)
                log.info("applied migration %s", migration.name)
    finally:
        await conn.close()
    return applied_now
