"""The broker the database's broker-bound state belongs to (`broker_identity`), and clearing that state.

Broker-bound: the execution sink's offsets (`sink_offsets`), the model checkpoints (each names the offset
of `features` it reflects) and the fills outbox (`executions` not yet published: fills for orders that the
old broker's risk state was waiting for). The books themselves (orders, fills, balances, positions,
decisions) are what happened and are never cleared here.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class BoundState:
    """How much broker-bound state the database holds; `sink_offsets` is (topic, partition, next offset)."""

    sink_offsets: tuple[tuple[str, int, int], ...]
    checkpoints: int
    unpublished_fills: int

    @property
    def empty(self) -> bool:
        return not self.sink_offsets and not self.checkpoints and not self.unpublished_fills


async def recorded_identity(conn: asyncpg.Connection) -> tuple[str, str] | None:
    """(cluster id, epoch) recorded, or None before the first run."""
    row = await conn.fetchrow("SELECT cluster_id, epoch FROM broker_identity")
    return None if row is None else (row["cluster_id"], row["epoch"])


async def record_identity(conn: asyncpg.Connection, cluster_id: str, epoch: str) -> tuple[str, str]:
    """Record the identity if none is; returns the one that is recorded (a concurrent first run may win)."""
    await conn.execute(
        "INSERT INTO broker_identity (cluster_id, epoch) VALUES ($1, $2) ON CONFLICT (singleton) DO NOTHING",
        cluster_id,
        epoch,
    )
    recorded = await recorded_identity(conn)
    assert recorded is not None
    return recorded


async def bound_state(conn: asyncpg.Connection) -> BoundState:
    rows = await conn.fetch(
        "SELECT topic, partition, max(next_offset) AS next_offset FROM sink_offsets"
        " GROUP BY topic, partition ORDER BY topic, partition"
    )
    checkpoints = await conn.fetchval("SELECT count(*) FROM model_checkpoints")
    unpublished = await conn.fetchval("SELECT count(*) FROM executions WHERE NOT published")
    return BoundState(
        tuple((r["topic"], r["partition"], r["next_offset"]) for r in rows),
        int(checkpoints),
        int(unpublished),
    )


async def reset(conn: asyncpg.Connection, cluster_id: str, epoch: str) -> BoundState:
    """In one transaction: drop the sink offsets and model checkpoints, retire the fills outbox (marked
    published: the risk state that awaited them is gone with the old broker) and record the new identity.
    Returns what was cleared."""
    async with conn.transaction():
        before = await bound_state(conn)
        await conn.execute("DELETE FROM sink_offsets")
        await conn.execute("DELETE FROM model_checkpoints")
        await conn.execute("UPDATE executions SET published = true WHERE NOT published")
        await conn.execute("DELETE FROM broker_identity")
        await conn.execute(
            "INSERT INTO broker_identity (cluster_id, epoch) VALUES ($1, $2)", cluster_id, epoch
        )
    return before
