"""The execution agent: risk-approved orders -> the venue -> fills, exactly once on any broker.

Each batch is applied by the execution sink in one Postgres transaction that also stores the consumed
offsets, so a re-delivered order is skipped whatever the broker redelivers; fills are written to an
outbox in that transaction and published after it commits (re-sent after a crash, same ids).

With `PAPER_CHAIN` (default) the paper venue settles every fill on an in-process LiteSVM chain. The
chain is process memory and the database is the record, so the chain is brought to the database's
balances whenever they may differ: when the sink starts, when this worker is assigned the orders
partition, and after a batch failed (its transaction rolled back, but its settlements had happened).
One lock serialises batches, those re-syncs and the balance check, so the check never sees a batch
settled on chain but not yet committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

from faust.transport.consumer import Consumer as FaustConsumer

from agents.dead_letters import send_dead_letter
from chain.local import LocalChain
from core import metrics
from core.errors import DecodeError
from core.logs import correlation_of
from market.tokens import DECIMALS, initial_wallet
from store.db import create_pool
from store.execution import ExecutionSink
from store.order_gate import OrderGate
from streams.app import app, dlq_orders_topic, fills_topic, orders_topic, settings
from streams.codec import decode, encode
from streams.records import Fill, Order
from venues.registry import execution_venue

log = logging.getLogger(__name__)

_sink: ExecutionSink | None = None
_chain: LocalChain | None = None
_chain_stale = False  # a failed batch could not re-sync the chain: the next batch must first
_sink_lock = asyncio.Lock()
# Held around every batch, chain re-sync and balance check: the chain and the database agree in between.
_chain_lock = asyncio.Lock()


async def get_sink() -> ExecutionSink:
    global _sink, _chain
    async with _sink_lock:
        if _sink is None:
            if settings.database_url is None:
                raise RuntimeError("DATABASE_URL is not set for this worker")
            pool = await create_pool(settings.database_url)
            chain = LocalChain() if settings.paper_chain else None
            sink = ExecutionSink(
                pool,
                consumer=f"{settings.app_id}.execution",
                portfolio=settings.portfolio,
                venue=execution_venue(settings, chain=chain),
            )
            await sink.ensure_wallet(initial_wallet(settings.paper_start_usdc, settings.paper_start_sol))
            if settings.redis_url is not None:  # the fast halt and manual cancels (store.order_gate)
                sink.gate = OrderGate(settings.redis_url, settings.portfolio)
            if chain is not None:
                async with _chain_lock:
                    await sync_chain(sink, chain, "start")
            _sink, _chain = sink, chain
        return _sink


async def sync_chain(sink: ExecutionSink, chain: LocalChain, why: str) -> dict[str, int]:
    """Bring the chain's wallet to the database's balances (call with `_chain_lock` held)."""
    balances = await sink.balances()
    decimals = dict(DECIMALS)
    for position in await sink.positions():
        decimals.setdefault(position["base_mint"], position["base_decimals"])
        decimals.setdefault(position["quote_mint"], position["quote_decimals"])
    global _chain_stale
    changes = chain.sync_wallet(balances, decimals)
    _chain_stale = False
    log.info(
        "local chain synced to the database's balances (%s): %d mints changed",
        why,
        len(changes),
        extra={"portfolio": sink.portfolio, "changes": {m: str(d) for m, d in changes.items()}},
    )
    return changes


async def _resync_after_failure(sink: ExecutionSink, chain: LocalChain) -> None:
    """Re-sync after a failed batch; if that fails too (database down), the next batch re-syncs first."""
    global _chain_stale
    _chain_stale = True
    try:
        await sync_chain(sink, chain, "batch failed")
    except Exception:
        log.exception("local chain re-sync after a failed batch failed; the next batch retries it first")
        return
    _chain_stale = False


def owns_orders() -> bool:
    """Whether this worker is assigned the orders partition (so its chain is the one that settles)."""
    topic = orders_topic.get_topic_name()
    try:
        return any(tp.topic == topic for tp in app.consumer.assignment())
    except Exception:  # consumer not started yet
        return False


async def balance_check() -> dict[str, Any]:
    """The database's balances next to the chain's, and every difference, taken under the batch lock."""
    from solbot.commands.check import compare_balances

    if _sink is None or _chain is None:
        return {"available": False, "reason": "no local chain here (PAPER_CHAIN off, or not started)"}
    if not owns_orders():
        return {"available": False, "reason": "this worker does not own the orders partition"}
    async with _chain_lock:
        db = await _sink.balances()
        on_chain = _chain.balances()
    differences = compare_balances(db, on_chain)
    return {
        "available": True,
        "portfolio": _sink.portfolio,
        "wallet": str(_chain.wallet),
        "transactions": _chain.transactions_sent,
        # Raw amounts as strings: JSON numbers lose precision past 2**53.
        "db": {mint: str(amount) for mint, amount in sorted(db.items())},
        "chain": {mint: str(amount) for mint, amount in sorted(on_chain.items())},
        "differences": differences,
        "ok": not differences,
    }


def seek_orders_to_sink_offsets() -> None:
    """After every assignment, start the orders partitions where the sink's last transaction ended.

    Faust seeks to the group's committed offsets, which trail the sink's (they are committed on an
    interval); the sink skips anything below its stored offset anyway, so this saves re-reading, and
    makes the stored offsets, not the broker's, the place consumption resumes from.
    """
    consumer_cls = FaustConsumer
    if getattr(consumer_cls.perform_seek, "_solbot_sink_seek", False):
        return
    original = consumer_cls.perform_seek

    async def perform_seek(self: Any) -> None:
        await original(self)
        from agents.risk import resume_offsets

        for tp, resume_at in resume_offsets(list(self.assignment())).items():
            await self.seek(tp, resume_at)
            log.info(
                "risk input resumes at the risk state's offset",
                extra={"topic": tp.topic, "partition": tp.partition, "offset": resume_at},
            )
        topic = orders_topic.get_topic_name()
        owned = [tp for tp in self.assignment() if tp.topic == topic]
        if not owned or settings.database_url is None:
            return
        sink = await get_sink()
        if _chain is not None:
            async with _chain_lock:
                await sync_chain(sink, _chain, "orders partition assigned")
        stored = await sink.next_offsets(topic)
        for tp in owned:
            offset = stored.get(tp.partition)
            if offset is not None and offset > (self._read_offset.get(tp) or 0):
                await self.seek(tp, offset)
                log.info(
                    "orders partition resumes at the sink's offset",
                    extra={"topic": topic, "partition": tp.partition, "offset": offset},
                )

    perform_seek._solbot_sink_seek = True  # type: ignore[attr-defined]
    consumer_cls.perform_seek = perform_seek  # type: ignore[method-assign]


async def publish_fills(sink: ExecutionSink) -> int:
    """Send every unpublished fill, wait for the broker's acks, then mark them published."""
    pending = await sink.unpublished()
    if not pending:
        return 0
    key = settings.portfolio.encode()
    acks = [await fills_topic.send(key=key, value=encode(fill)) for fill in pending]
    await asyncio.gather(*acks)
    await sink.mark_published([f.id for f in pending])
    return len(pending)


@app.agent(orders_topic)
async def execute_orders(stream: Any) -> None:
    """orders -> venue -> fills."""
    sink = await get_sink()
    await publish_fills(sink)  # whatever a crash left in the outbox
    async for events in stream.take_events(500, within=settings.batch_within_s):
        batches: dict[int, list[tuple[int, Order]]] = defaultdict(list)
        received_ms: dict[str, float] = {}
        metrics.EVENTS.labels("execute_orders").inc(len(events))
        for event in events:
            msg = event.message
            try:
                order = decode(Order, msg.value)
                batches[msg.partition].append((msg.offset, order))
                received_ms[order.id] = msg.timestamp * 1000.0
            except DecodeError as exc:
                await send_dead_letter(dlq_orders_topic, event, str(exc), "execute_orders")
        now_ms = int(time.time() * 1000)
        for partition, batch in batches.items():
            started = time.monotonic()
            async with _chain_lock:
                if _chain is not None and _chain_stale:
                    await sync_chain(sink, _chain, "after a failed re-sync")
                try:
                    fills: list[Fill] = await sink.apply(
                        orders_topic.get_topic_name(), partition, batch, now_ms
                    )
                except Exception:
                    metrics.VENUE_ERRORS.labels("paper").inc()
                    if _chain is not None:  # the batch rolled back; what it settled on chain must too
                        await _resync_after_failure(sink, _chain)
                    raise
            metrics.VENUE_LATENCY.labels("paper").observe(time.monotonic() - started)
            for fill in fills:
                metrics.ORDERS.labels(fill.status).inc()
                log.info(
                    "fill",
                    extra={
                        "correlation_id": correlation_of(fill.order_id),
                        "pair": fill.pair,
                        "order_id": fill.order_id,
                        "status": fill.status,
                        "reason": fill.reason,
                        "topic": "orders",
                        "partition": partition,
                        "signature": fill.signature,
                    },
                )
        await publish_fills(sink)
        for since in received_ms.values():
            metrics.observe_hop("orders_to_fills", since)
