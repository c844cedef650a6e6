"""What an agent does when a batch fails at a side-effect boundary: nothing of it counts as processed.

A Postgres connection reset in the execution sink, a send the broker refused, an unexpected error while
deciding: left to Faust, the agent crashes, `take_events` acks the whole batch on its way out and the
consumer commits it; the partitions then read on from where the fetcher was, so the batch is never
applied (issue 16, item 1). Instead the runner catches the exception and hands the batch here:

1. the agent forgets what it holds in memory for those partitions (signals held for fills, models and the
   event-time merge), so nothing half-applied is acted on;
2. its partitions are *rewound*: sought to where its stored state says they resume (the resume hooks: the
   risk state's applied offsets, the sink's stored offsets, the model checkpoints), back as well as
   forward; if that fails too (the database is down) it is retried with a growing back-off, the agent
   doing nothing meanwhile (its partitions stopped, not skipped);
3. the batch's records at or past their resume point are withheld from the commit (`streams.compat.acks`),
   and records the consumer fetched before the rewind are dropped as they arrive (`stale`).

The batch is then read again from the log and applied once. A critical alert is raised once per streak of
failures, and `solbot_batch_failures_total{agent}` / `solbot_rewinds_total{agent}` count them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from agents.context import WorkerContext
from core import metrics
from core.errors import SolbotError
from streams.compat.consumer import assignment

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 5.0  # a database back after an outage is retried within 5 s


class BatchRecovery:
    """One agent's failure handling: forget, rewind (retried), withhold; see the module doc."""

    def __init__(
        self,
        ctx: WorkerContext,
        agent: str,
        topics: Collection[str],
        forget: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.agent = agent
        self.topics = frozenset(topics)
        self.forget = forget
        self.streak = 0  # consecutive failed batches
        self.failures = 0
        self.first_backoff_s = FIRST_BACKOFF_S

    def fresh(self, events: Sequence[Any]) -> list[Any]:
        """The events to process: those fetched before a rewind of their partition are dropped (and their
        acks withheld when they were not applied: they are read again)."""
        compat = self.ctx.compat
        keep: list[Any] = []
        stale: list[Any] = []
        for event in events:
            (stale if compat.stale(event.message) else keep).append(event)
        if stale and compat.guard is not None:
            compat.withhold_unapplied((e.message for e in stale), compat.guard.rewound_to)
        return keep

    def succeeded(self) -> None:
        self.streak = 0

    async def failed(self, events: Sequence[Any], exc: BaseException) -> None:
        """Handle a failed batch (call holding the agent's lock, so no timer acts meanwhile)."""
        self.streak += 1
        self.failures += 1
        metrics.BATCH_FAILURES.labels(self.agent).inc()
        log.error(
            "%s: a batch of %d records failed (%s: %s); its partitions go back to their stored offsets",
            self.agent,
            len(events),
            type(exc).__name__,
            exc,
            exc_info=self.streak == 1 and not _expected(exc),
        )
        if self.streak == 1:
            await self.ctx.connections.alert(
                [("critical", f"agent.{self.agent}.batch_failed", f"{self.agent}: {type(exc).__name__}")],
                self.agent,
            )
        if self.forget is not None:
            await self.forget()
        points = await self._rewind_until_done()
        self.ctx.compat.withhold_unapplied((e.message for e in events), points)
        metrics.REWINDS.labels(self.agent).inc(len(points))

    async def _rewind_until_done(self) -> dict[Any, Any]:
        delay = min(MAX_BACKOFF_S, self.first_backoff_s * 2 ** min(self.streak - 1, 10))
        while True:
            await asyncio.sleep(delay)
            mine = [tp for tp in assignment(self.ctx.app.consumer) if tp.topic in self.topics]
            try:
                return await self.ctx.compat.rewind(mine)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: rewind failed (%s: %s); retrying", self.agent, type(exc).__name__, exc)
                delay = min(MAX_BACKOFF_S, delay * 2)


def _expected(exc: BaseException) -> bool:
    """Failures with a known cause log one line; anything else also logs its traceback once."""
    return isinstance(exc, SolbotError | OSError | TimeoutError)
