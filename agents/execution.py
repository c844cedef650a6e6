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
from collections.abc import Mapping, Sequence
from typing import Any

from faust.types import TP

from agents.context import WorkerContext
from agents.live_execution import LiveExecution, start_live
from agents.recovery import BatchRecovery
from chain.local import LocalChain
from core import metrics
from core.errors import DecodeError
from core.logs import correlation_of
from market.balances import compare_balances
from market.fills import FILLED
from market.tokens import DECIMALS, initial_wallet
from risk.codes import MARKET_FILL_REASONS, reason_code
from risk.fencing import epoch_of
from store.execution import ExecutionSink
from store.order_gate import OrderGate
from streams.codec import decode, encode
from streams.compat.consumer import assignment
from streams.compat.dead_letters import send_dead_letter
from streams.compat.seeks import ResumeAt, ResumePoint
from streams.compat.transactions import send_outside_transactions
from streams.records import Fill, Order
from venues.registry import execution_venue

log = logging.getLogger(__name__)


class ExecutionRunner:
    """The execution agent of one worker: its sink, the local chain it settles on, and their lock."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.chain: LocalChain | None = ctx.chain
        self.sink: ExecutionSink | None = None
        # Partition -> the sink's next offset when this worker's paper chain was last brought level with the
        # database (a sync, or an `apply` of its own): another value in the database means another worker
        # has settled orders since, on its own chain, and this one is no longer the record's mirror.
        self.chain_at: dict[int, int] = {}
        self.chain_stale = False  # a failed batch could not re-sync the chain: the next batch must first
        self._sink_lock = asyncio.Lock()
        # Held around every batch, chain re-sync and balance check: the chain and the database agree between.
        self.chain_lock = asyncio.Lock()
        self.orders_topic = ctx.topics.orders_topic.get_topic_name()
        self.faults = ctx.faults
        self.recovery = BatchRecovery(ctx, "execution", [self.orders_topic])
        self.live: LiveExecution | None = None  # `solbot run --live`: orders go to the chain, not paper
        self._reconciling: asyncio.Future[None] | None = None

    def register(self) -> None:
        ctx = self.ctx

        async def execute_orders(stream: Any) -> None:
            """orders -> venue -> fills."""
            sink = await self.get_sink()
            await self.publish_left_fills(sink)
            async for events in stream.take_events(500, within=ctx.settings.batch_within_s):
                await self.process_or_rewind(sink, self.recovery.fresh(events))

        ctx.app.agent(ctx.topics.orders_topic, name="agents.execution.execute_orders")(execute_orders)
        ctx.compat.hooks.register("execution sink offsets", [self.orders_topic], self.resume_points)

    async def process_or_rewind(self, sink: ExecutionSink, events: list[Any]) -> None:
        """Process a batch; if it fails (the sink's transaction rolled back, a send failed), nothing of it
        counts as applied: the orders partitions go back to the sink's stored offsets (`agents.recovery`)."""
        try:
            await self.process(sink, events)
        except Exception as exc:
            await self.recovery.failed(events, exc)
            await self.publish_left_fills(sink)  # another partition's batch may have committed before it
        else:
            self.recovery.succeeded()

    async def publish_left_fills(self, sink: ExecutionSink) -> None:
        """Whatever a crash left in the outbox; if the broker refuses now, the next batch sends them."""
        try:
            await self.publish_fills(sink)
        except Exception as exc:
            log.warning("fills left in the outbox not published yet (%s: %s)", type(exc).__name__, exc)

    async def get_sink(self) -> ExecutionSink:
        settings = self.ctx.settings
        async with self._sink_lock:
            if self.sink is None and self.ctx.keypair is not None:
                self.live = await start_live(self.ctx, self.ctx.keypair)
                self.sink = self.live.sink
                self._reconciling = asyncio.ensure_future(self.live.reconcile_forever())
            if self.sink is None:
                pool = await self.ctx.connections.pool("execution")
                chain = self.chain
                sink = ExecutionSink(
                    pool,
                    consumer=f"{settings.app_id}.execution",
                    portfolio=settings.portfolio,
                    venue=execution_venue(settings, chain=chain),
                )
                await sink.ensure_wallet(initial_wallet(settings.paper_start_usdc, settings.paper_start_sol))
                sink.faults = self.faults
                if settings.redis_url is not None:  # the fast halt and manual cancels (store.order_gate)
                    sink.gate = OrderGate(settings.redis_url, settings.portfolio)
                if chain is not None:
                    async with self.chain_lock:
                        await self.sync_chain(sink, chain, "start")
                self.sink = sink
            assert self.sink is not None
            return self.sink

    async def sync_chain(self, sink: ExecutionSink, chain: LocalChain, why: str) -> dict[str, int]:
        """Bring the chain's wallet to the database's balances (call with `chain_lock` held)."""
        balances = await sink.balances()
        decimals = dict(DECIMALS)
        for position in await sink.positions():
            decimals.setdefault(position["base_mint"], position["base_decimals"])
            decimals.setdefault(position["quote_mint"], position["quote_decimals"])
        changes = chain.sync_wallet(balances, decimals)
        self.chain_stale = False
        self.chain_at = await sink.next_offsets(self.orders_topic)
        log.info(
            "local chain synced to the database's balances (%s): %d mints changed",
            why,
            len(changes),
            extra={"portfolio": sink.portfolio, "changes": {m: str(d) for m, d in changes.items()}},
        )
        return changes

    async def _resync_after_failure(self, sink: ExecutionSink, chain: LocalChain) -> None:
        """Re-sync after a failed batch; if that fails too (database down), the next batch re-syncs first."""
        self.chain_stale = True
        try:
            await self.sync_chain(sink, chain, "batch failed")
        except Exception:
            log.exception("local chain re-sync after a failed batch failed; the next batch retries it first")
            return
        self.chain_stale = False

    def owns_orders(self) -> bool:
        """Whether this worker is assigned the orders partition (so its chain is the one that settles)."""
        return any(tp.topic == self.orders_topic for tp in assignment(self.ctx.app.consumer))

    async def balance_check(self) -> dict[str, Any]:
        """The database's balances next to the chain's, and every difference, taken under the batch lock."""
        sink, chain = self.sink, self.chain
        if sink is None or chain is None:
            return {"available": False, "reason": "no local chain here (PAPER_CHAIN off, or not started)"}
        if not self.owns_orders():
            return {"available": False, "reason": "this worker does not own the orders partition"}
        async with self.chain_lock:
            stored = await sink.next_offsets(self.orders_topic)
            moved = {p: n for p, n in stored.items() if self.chain_at.get(p) != n}
            if moved:  # a worker that was paused or cut off, and still holds the partition for a moment
                reason = f"another worker settled orders since this chain was synced (next offsets {moved})"
                return {"available": False, "reason": reason}
            db = await sink.balances()
            on_chain = chain.balances()
        differences = compare_balances(db, on_chain)
        return {
            "available": True,
            "portfolio": sink.portfolio,
            "wallet": str(chain.wallet),
            "transactions": chain.transactions_sent,
            # Raw amounts as strings: JSON numbers lose precision past 2**53.
            "db": {mint: str(amount) for mint, amount in sorted(db.items())},
            "chain": {mint: str(amount) for mint, amount in sorted(on_chain.items())},
            "differences": differences,
            "ok": not differences,
        }

    async def reconcile_chain(self) -> int:
        """The paper chain against the database (the record), on the worker that settles: differing mints are
        synced to the database's balances; how many differed."""
        sink, chain = self.sink, self.chain
        if sink is None or chain is None or not self.owns_orders():
            return 0
        async with self.chain_lock:
            differences = compare_balances(await sink.balances(), chain.balances())
            if differences:
                log.warning("paper chain differs from the database: %s", differences)
                await self.sync_chain(sink, chain, "reconciliation")
        return len(differences)

    async def resume_points(
        self, assigned: Sequence[TP], committed: Mapping[TP, int | None]
    ) -> dict[TP, ResumePoint]:
        """The resume hook: the orders partitions start where the sink's last transaction ended.

        The stored offsets, not the broker's, are where consumption resumes, back as well as forward: the
        group's committed offsets trail them (committed on an interval), or may be ahead of them (records
        acknowledged but never applied, such as a batch that failed before acks were withheld), and the sink
        applies each offset once whatever is redelivered. The chain is brought to the database's balances
        first: this worker may have settled nothing of them yet.
        """
        if self.ctx.settings.database_url is None:
            return {}
        sink = await self.get_sink()
        if self.chain is not None:
            async with self.chain_lock:
                await self.sync_chain(sink, self.chain, "orders partition assigned")
        stored = await sink.next_offsets(self.orders_topic)
        points: dict[TP, ResumePoint] = {}
        for tp in assigned:
            offset = stored.get(tp.partition)
            if offset is not None:
                points[tp] = ResumeAt(offset)
        return points

    async def publish_fills(self, sink: ExecutionSink) -> int:
        """Send every unpublished fill, wait for the broker's acks, then mark them published.

        Fills go through the app's idempotent producer, outside transactions, under either guarantee: the
        sink's Postgres transaction (with its stored offsets) is what makes a fill happen once; the record
        is its notice, which the risk agent applies once per order id. So an ack is enough to call it
        published (a transactional send would be visible only at the next commit, and an ack of it is no
        commit), and the fill barrier does not wait a commit interval for each fill (docs/broker.md).
        """
        pending = await sink.unpublished()
        if not pending:
            return 0
        key = self.ctx.settings.portfolio.encode()
        fills_topic = self.ctx.topics.fills_topic
        acks = [await send_outside_transactions(fills_topic, key, encode(fill)) for fill in pending]
        await asyncio.gather(*acks)
        self.faults.fire("sink.publish")
        await sink.mark_published([f.id for f in pending])
        return len(pending)

    async def process(self, sink: ExecutionSink, events: list[Any]) -> None:
        """One batch of orders: each partition's in one sink transaction, then their fills published."""
        batches: dict[int, list[tuple[int, Order]]] = defaultdict(list)
        received_ms: dict[str, float] = {}
        epochs: dict[str, int] = {}  # order id -> its risk owner's epoch (risk/fencing.py)
        metrics.EVENTS.labels("execute_orders").inc(len(events))
        for event in events:
            msg = event.message
            try:
                order = decode(Order, msg.value)
                batches[msg.partition].append((msg.offset, order))
                received_ms[order.id] = msg.timestamp * 1000.0
                epoch = epoch_of(msg.headers)
                if epoch is not None:
                    epochs[order.id] = epoch
            except DecodeError as exc:
                await send_dead_letter(self.ctx.topics.dlq_orders_topic, event, str(exc), "execute_orders")
        now_ms = int(time.time() * 1000)
        for partition, batch in batches.items():
            fills = await self._apply(sink, partition, batch, now_ms, epochs)
            notifier = self.ctx.connections.notifier
            for fill in fills:
                metrics.ORDERS.labels(fill.status).inc()
                code = reason_code(fill.reason)
                if fill.status != FILLED and code in MARKET_FILL_REASONS:
                    metrics.MARKET_FILL_FAILURES.labels(fill.venue, code).inc()
                if notifier is not None:
                    notifier.fill(fill)  # queued: the sender runs beside the pipeline, never in its way
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
        await self.publish_fills(sink)
        for since in received_ms.values():
            metrics.observe_hop("orders_to_fills", since)

    async def _apply(
        self,
        sink: ExecutionSink,
        partition: int,
        batch: list[tuple[int, Order]],
        now_ms: int,
        epochs: dict[str, int] | None = None,
    ) -> list[Fill]:
        started = time.monotonic()
        if self.live is not None:
            booked = await self.live.process(self.orders_topic, partition, batch, now_ms)
            metrics.VENUE_LATENCY.labels(self.live.venue.name).observe(time.monotonic() - started)
            return booked
        chain = self.chain
        async with self.chain_lock:
            if chain is not None and self.chain_stale:
                await self.sync_chain(sink, chain, "after a failed re-sync")
            try:
                fills: list[Fill] = await sink.apply(self.orders_topic, partition, batch, now_ms, epochs)
                applied = sink.applied_next.get((self.orders_topic, partition))
                if applied is not None:
                    self.chain_at[partition] = applied
            except Exception:
                metrics.VENUE_ERRORS.labels("paper").inc()
                if chain is not None:  # the batch rolled back; what it settled on chain must too
                    await self._resync_after_failure(sink, chain)
                raise
        metrics.VENUE_LATENCY.labels("paper").observe(time.monotonic() - started)
        return fills
