"""Watches the pipeline's topics from outside, as an operator would: counts per hop and latency.

Latency is measured end to end from the topics themselves: an order's broker timestamp minus the
broker timestamp of the raw event that led to it (carried as `origin_ms`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import orjson
from aiokafka import AIOKafkaConsumer

from streams.broker import true_end_offsets
from streams.broker_auth import NO_AUTH, BrokerAuth
from streams.inspect import broker_partitions
from streams.topics import DLQ_TOPICS, FILLS, ORDERS, ORDERS_REJECTED, SIGNALS


@dataclass
class PipelineCounts:
    signals: int = 0
    orders: int = 0
    fills: int = 0
    failed_fills: int = 0
    rejected: int = 0
    rejected_by: Counter[str] = field(default_factory=Counter)  # by reason code ("total_cap_full", ...)
    dead_letters: int = 0
    latencies_ms: list[float] = field(default_factory=list)  # raw record published -> order published
    # raw record published -> decision (order or rejection) published: risk's every answer, not only the few
    # that trade, so a short run still has enough for a p99
    decision_latencies_ms: list[float] = field(default_factory=list)
    fill_latencies_ms: list[float] = field(default_factory=list)  # order published -> fill published
    order_ts: dict[str, int] = field(default_factory=dict)
    order_ids: set[str] = field(default_factory=set)
    fill_order_ids: set[str] = field(default_factory=set)
    signal_ids: set[str] = field(default_factory=set)
    decided_signal_ids: set[str] = field(default_factory=set)

    def latency(self) -> dict[str, float]:
        if not self.latencies_ms:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0, "n": 0}
        arr = np.asarray(self.latencies_ms)
        return {
            "p50": round(float(np.percentile(arr, 50)), 1),
            "p99": round(float(np.percentile(arr, 99)), 1),
            "max": round(float(arr.max()), 1),
            "n": len(arr),
        }


class TopicMonitor:
    """Consumes the decision topics (not raw: that is the simulator's count) and keeps counts."""

    def __init__(self, bootstrap: str, *, from_end: bool = False, auth: BrokerAuth = NO_AUTH) -> None:
        self.bootstrap = bootstrap
        self.auth = auth
        self.from_end = from_end  # count only what comes after `start()`: this run, not earlier ones
        self.counts = PipelineCounts()
        self._task: asyncio.Task[None] | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        topics = [SIGNALS.name, ORDERS.name, ORDERS_REJECTED.name, FILLS.name, *(t.name for t in DLQ_TOPICS)]
        self._consumer = AIOKafkaConsumer(
            *(() if self.from_end else topics),
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            **self.auth,
        )
        await self._consumer.start()
        if self.from_end:
            await self._seek_to_ends(topics)
        self._task = asyncio.create_task(self._run())

    async def _seek_to_ends(self, topics: list[str]) -> None:
        """Assign every partition of `topics` at its true end now (the broker keeps earlier runs' data)."""
        assert self._consumer is not None
        tps = await broker_partitions(self._consumer, topics)
        listed = await self._consumer.end_offsets(tps)
        ends = await true_end_offsets(self.bootstrap, tps, listed, self.auth)
        self._consumer.assign(tps)
        for tp in tps:
            self._consumer.seek(tp, ends[tp])

    async def _run(self) -> None:
        assert self._consumer is not None
        c = self.counts
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                for rec in records:
                    if tp.topic.startswith("dlq."):
                        c.dead_letters += 1
                        continue
                    try:
                        value = orjson.loads(rec.value or b"null")
                    except orjson.JSONDecodeError:
                        continue
                    if not isinstance(value, dict):
                        continue
                    if tp.topic == SIGNALS.name:
                        if "id" not in value or str(value["id"]).startswith("mark:"):
                            continue  # a model's progress record, or a price mark for risk's stops
                        c.signals += 1
                        c.signal_ids.add(str(value.get("id")))
                    elif tp.topic == ORDERS.name:
                        if value.get("id") in c.order_ids:
                            continue  # an identical re-publication after a restart
                        c.orders += 1
                        c.order_ids.add(str(value.get("id")))
                        c.order_ts[str(value.get("id"))] = rec.timestamp
                        if value.get("kind") == "entry" or value.get("signal_id"):
                            c.decided_signal_ids.add(str(value.get("signal_id")))
                        c.latencies_ms.append(
                            float(rec.timestamp - int(value.get("origin_ms", rec.timestamp)))
                        )
                        c.decision_latencies_ms.append(c.latencies_ms[-1])
                    elif tp.topic == ORDERS_REJECTED.name:
                        c.rejected += 1
                        c.rejected_by[str(value.get("reason", "")).split(":", 1)[0] or "unknown"] += 1
                        c.decided_signal_ids.add(str(value.get("signal_id")))
                        if "origin_ms" in value:
                            c.decision_latencies_ms.append(float(rec.timestamp - int(value["origin_ms"])))
                    elif tp.topic == FILLS.name:
                        if value.get("order_id") in c.fill_order_ids:
                            continue
                        c.fill_order_ids.add(str(value.get("order_id")))
                        placed = c.order_ts.get(str(value.get("order_id")))
                        if placed is not None:
                            c.fill_latencies_ms.append(float(rec.timestamp - placed))
                        if value.get("status") == "filled":
                            c.fills += 1
                        else:
                            c.failed_fills += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
