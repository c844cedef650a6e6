"""A model checkpoint is written only once the signals it covers are durable for readers (committed under
exactly-once, acknowledged under at-least-once: `Compat.outputs_settled`), never before; a transaction that
will not commit writes none (issue 16, item 3)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg
from agent_fakes import context
from faust.types import TP
from test_reconciler import DatabaseConnections
from test_recovery import model_batch
from test_runners import settings

from agents.model import ModelRunner
from core.errors import TransactionLost
from streams.compat import Compat


class GatedCompat(Compat):
    """Outputs settle when the test says so, or are lost (a fenced transaction)."""

    def __init__(self) -> None:
        super().__init__("kafka")
        self.gate = asyncio.Event()
        self.lost = False
        self.asked: list[TP] = []

    async def outputs_settled(self, tps: Iterable[TP]) -> None:
        self.asked.extend(tps)
        await self.gate.wait()
        if self.lost:
            raise TransactionLost("fenced")


async def test_checkpoints_wait_for_their_signals_to_settle(
    migrated_url: str, migrated_pool: asyncpg.Pool
) -> None:
    ctx = context(settings().model_copy(update={"database_url": migrated_url}))
    compat = GatedCompat()
    ctx.compat = compat
    ctx.connections = DatabaseConnections(migrated_pool)  # type: ignore[assignment]
    r = ModelRunner(ctx)
    await r.process(model_batch())
    payloads = r.checkpoint_payloads([1])
    assert [p for p, _, _ in payloads] == [1]
    write = asyncio.create_task(r.write_checkpoints(payloads))
    await asyncio.sleep(0.2)
    assert not write.done() and compat.asked == [TP("features", 1)]
    assert await migrated_pool.fetchval("SELECT count(*) FROM model_checkpoints") == 0  # not before
    compat.gate.set()
    assert await write == 1
    assert await migrated_pool.fetchval("SELECT count(*) FROM model_checkpoints") == 1

    compat.lost = True  # the signals' transaction was fenced: the checkpoint would name uncommitted signals
    await migrated_pool.execute("DELETE FROM model_checkpoints")
    assert await r.write_checkpoints(r.checkpoint_payloads([1])) == 0
    assert await migrated_pool.fetchval("SELECT count(*) FROM model_checkpoints") == 0


async def test_a_database_gone_under_the_write_skips_the_interval(migrated_url: str) -> None:
    ctx = context(settings().model_copy(update={"database_url": migrated_url}))
    compat = GatedCompat()
    compat.gate.set()
    ctx.compat = compat
    closed = await asyncpg.create_pool(migrated_url, min_size=1, max_size=1)
    await closed.close()  # acquiring raises asyncpg.InterfaceError, as a connection lost to a restart does
    ctx.connections = DatabaseConnections(closed)  # type: ignore[assignment]
    r = ModelRunner(ctx)
    await r.process(model_batch())
    assert await r.write_checkpoints(r.checkpoint_payloads([1])) == 0  # the next interval retries
