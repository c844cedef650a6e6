"""The execution agent: risk-approved orders -> the venue -> fills, exactly once on any broker.

Each batch is applied by the execution sink in one Postgres transaction that also stores the consumed
offsets, so a re-delivered order is skipped whatever the broker redelivers; fills are written to an
outbox in that transaction and published after it commits (re-sent after a crash, same ids).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

from faust.transport.consumer import Consumer as FaustConsumer

from agents.dead_letters import send_dead_letter
from market.tokens import initial_wallet
from solbot.errors import DecodeError
from solbot.logs import correlation_of
from store.db import create_pool
from store.execution import ExecutionSink
from store.order_gate import OrderGate
from streams.app import app, dlq_orders_topic, fills_topic, orders_topic, settings
from streams.codec import decode, encode
from streams.records import Fill, Order
from venues.paper import PaperVenue
from web import metrics

log = logging.getLogger(__name__)

_sink: ExecutionSink | None = None
_sink_lock = asyncio.Lock()


async def get_sink() -> ExecutionSink:
    global _sink
    async with _sink_lock:
        if _sink is None:
            if settings.database_url is None:
                raise RuntimeError("DATABASE_URL is not set for this worker")
            pool = await create_pool(settings.database_url)
            sink = ExecutionSink(
                pool,
                consumer=f"{settings.app_id}.execution",
                portfolio=settings.portfolio,
                venue=PaperVenue(),
            )
            await sink.ensure_wallet(initial_wallet(settings.paper_start_usdc, settings.paper_start_sol))
            if settings.redis_url is not None:  # the fast halt and manual cancels (store.order_gate)
                sink.gate = OrderGate(settings.redis_url, settings.portfolio)
            _sink = sink
        return _sink


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
        stored = await (await get_sink()).next_offsets(topic)
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
            try:
                fills: list[Fill] = await sink.apply(orders_topic.get_topic_name(), partition, batch, now_ms)
            except Exception:
                metrics.VENUE_ERRORS.labels("paper").inc()
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
