"""One worker's context: its settings, app, topics, tables, connections and shared services, built once.

`agents.pipeline.build_worker` makes it at start-up and hands it to a runner per agent; nothing in
`agents/` keeps state at module level. Connections (Postgres pools, the Redis client) are opened on first
use, from the running event loop, never when the context is built.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import faust
import redis.asyncio as aioredis
from faust.types import TableT
from redis.exceptions import RedisError
from solders.keypair import Keypair

from chain.local import LocalChain
from core.faults import NO_FAULTS, FaultInjector
from core.settings import Settings
from notify.sender import Notifier
from risk.limits import RiskLimits
from store.alerts import Level, raise_alert
from store.db import create_pool
from streams.app import PipelineTopics
from streams.compat import Compat
from tables.features import FeatureTables

log = logging.getLogger(__name__)


class Connections:
    """The worker's Postgres pools (one per purpose, so one agent's queries never wait for another's), its
    Redis client, created on first use, and its notifier (None: no destination configured)."""

    def __init__(
        self, database_url: str | None, redis_url: str | None, *, notifier: Notifier | None = None
    ) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.notifier = notifier
        self._pools: dict[str, asyncpg.Pool] = {}
        self._lock = asyncio.Lock()
        self._redis: aioredis.Redis | None = None

    async def pool(self, name: str, *, max_size: int = 5) -> asyncpg.Pool:
        """The pool for `name` (opened now if it is not); ServiceError when Postgres cannot be reached."""
        pool = self._pools.get(name)
        if pool is not None:
            return pool
        if self.database_url is None:
            raise RuntimeError("DATABASE_URL is not set for this worker")
        async with self._lock:
            if name not in self._pools:
                self._pools[name] = await create_pool(self.database_url, max_size=max_size)
            return self._pools[name]

    def redis(self) -> aioredis.Redis | None:
        if self.redis_url is None:
            return None
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(self.redis_url)
        return self._redis

    async def alert(self, alerts: Iterable[tuple[Level, str, str]], what: str) -> None:
        """Best effort: each (level, code, message) as an alert in Redis and to the notifier; an outage
        only logs (the notifier still hears of the alerts Redis did not take)."""
        alerts = list(alerts)
        client = self.redis() if alerts else None
        notify = self.notifier.alert if self.notifier is not None else None
        pending = list(alerts)
        try:
            while client is not None and pending:
                level, code, message = pending[0]
                await raise_alert(client, level, code, message, on_raised=notify)
                pending.pop(0)
        except (RedisError, OSError) as exc:
            log.warning("%s alerts not raised: %s", what, exc)
        if notify is not None:
            for level, code, message in pending:
                notify({"ts_ms": int(time.time() * 1000), "level": level, "code": code, "message": message})

    async def close(self) -> None:
        if self.notifier is not None:
            await self.notifier.close(drain_s=2.0)
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


@dataclass
class WorkerContext:
    """What every runner of one worker shares; built once by `agents.pipeline.build_worker`."""

    settings: Settings
    app: faust.App
    topics: PipelineTopics
    tables: FeatureTables
    risk_table: TableT[Any, Any]
    compat: Compat
    limits: RiskLimits
    connections: Connections
    # The in-process LiteSVM chain paper fills settle on (PAPER_CHAIN), or None.
    chain: LocalChain | None = None
    # Exceptions raised on purpose at the side-effect boundaries (FAULT_INJECT; none by default).
    faults: FaultInjector = NO_FAULTS
    # The keystore's key, unlocked once at start, when `solbot run --live` started this worker; else None.
    keypair: Keypair | None = None
    started_s: float = field(default_factory=time.time)
