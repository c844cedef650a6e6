"""Live orders in Postgres: recorded (with the consumed offset) before anything is signed, booked once
their outcome is known, found again after a restart.

The execution agent drives live orders outside any long database transaction (`agents.live_execution`):

1. `record` — one transaction: the batch's new orders as `new` (with their payload, to re-drive them, and
   the notional counted against the day's cap), orders refused before signing (caps, halt) with their
   failed fills, and the sink's next offset. A re-delivered message is skipped by offset or order id.
2. the order life cycle (`venues.lifecycle`) stores each signed transaction, sends it, and records its
   status, each step its own short transaction;
3. `book` — one transaction: the fill (from what landed) on balances, positions and the fills outbox,
   once per order (an order already booked is skipped).

`unbooked` lists the orders recorded but not booked (a crash between 1 and 3): they are driven again, from
what the life cycle stored, before anything new is sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from store.execution import ExecutionSink, refused_fill
from streams.codec import decode, encode
from streams.records import Fill, Order

log = logging.getLogger(__name__)

# Whether an order may be recorded to be sent: None, or the reason it is refused unsent, given the
# notional already counted today. Returns (refusal, the order's notional).
Admit = Callable[[Order, float], tuple[str | None, float]]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What `record` did with a batch: orders to drive now, and fills of those refused unsent."""

    admitted: list[Order]
    refused: list[Fill]


@dataclass(frozen=True, slots=True)
class Unbooked:
    order: Order
    dry_run: bool


class LiveOrderStore:
    """The live orders of one portfolio, beside the execution sink's offsets and books."""

    def __init__(self, pool: asyncpg.Pool, sink: ExecutionSink) -> None:
        self.pool = pool
        self.sink = sink
        self.portfolio = sink.portfolio

    async def record(
        self,
        topic: str,
        partition: int,
        batch: Sequence[tuple[int, Order]],
        now_ms: int,
        *,
        admit: Admit,
        dry_run: bool,
    ) -> Recorded:
        """Record the batch's new orders and the next offset in one transaction (see the module doc)."""
        if not batch:
            return Recorded([], [])
        day = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).date()
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await self._fresh(conn, topic, partition, batch)
            admitted: list[Order] = []
            refused: list[tuple[Order, Fill]] = []
            if fresh:
                # The day's total is read under the portfolio's balance locks (taken by `sink.book`'s
                # order of locks first), so two batches cannot both fit under the cap.
                await conn.execute(
                    "SELECT 1 FROM balances WHERE portfolio = $1 ORDER BY mint FOR UPDATE", self.portfolio
                )
                total = float(
                    await conn.fetchval(
                        "SELECT coalesce(sum(notional_usdc), 0) FROM live_orders "
                        "WHERE portfolio = $1 AND day = $2 AND dry_run = $3",  # a dry run spends nothing
                        self.portfolio,
                        day,
                        dry_run,
                    )
                )
                for order in await self._insert_orders(conn, fresh, now_ms):
                    refusal, notional = admit(order, total)
                    counted = 0.0 if refusal is not None else notional
                    total += counted
                    await conn.execute(
                        "INSERT INTO live_orders (order_id, portfolio, payload, notional_usdc, day, dry_run, "
                        "created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        order.id, self.portfolio, encode(order), counted, day, dry_run, now_ms,
                    )  # fmt: skip
                    if refusal is None:
                        admitted.append(order)
                    else:
                        refused.append((order, refused_fill(order, now_ms, "failed", refusal)))
                await self.sink.book(conn, refused)
            await conn.execute(
                "UPDATE sink_offsets SET next_offset = greatest(next_offset, $4), updated_at = now() "
                "WHERE consumer = $1 AND topic = $2 AND partition = $3",
                self.sink.consumer, topic, partition, max(offset for offset, _ in batch) + 1,
            )  # fmt: skip
        return Recorded(admitted, [fill for _, fill in refused])

    async def _fresh(
        self, conn: asyncpg.Connection, topic: str, partition: int, batch: Sequence[tuple[int, Order]]
    ) -> list[Order]:
        await conn.execute(
            "INSERT INTO sink_offsets (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, 0) "
            "ON CONFLICT (consumer, topic, partition) DO NOTHING",
            self.sink.consumer, topic, partition,
        )  # fmt: skip
        next_offset: int = await conn.fetchval(
            "SELECT next_offset FROM sink_offsets WHERE consumer = $1 AND topic = $2 AND partition = $3 "
            "FOR UPDATE",
            self.sink.consumer, topic, partition,
        )  # fmt: skip
        unique: dict[str, Order] = {}
        for offset, order in sorted(batch, key=lambda item: item[0]):
            if offset >= next_offset:
                unique.setdefault(order.id, order)
        return list(unique.values())

    async def _insert_orders(
        self, conn: asyncpg.Connection, orders: Sequence[Order], now_ms: int
    ) -> list[Order]:
        """Insert orders not seen before as `new` (with their first transition); returns those inserted."""
        inserted = []
        for order in orders:
            done = await conn.fetchval(
                """INSERT INTO orders (order_id, signal_id, portfolio, pair, side, kind, venue, pool,
                       amount_in, min_amount_out, status, reason, ts_ms, origin_ms, decided_ms)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', '', $11, $12, $13)
                   ON CONFLICT (order_id) DO NOTHING RETURNING order_id""",
                order.id, order.signal_id, self.portfolio, order.pair, order.side, order.kind, order.venue,
                order.pool, order.amount_in, order.min_amount_out, order.ts_ms, order.origin_ms,
                order.decided_ms,
            )  # fmt: skip
            if done is None:
                log.info("order %s already recorded (re-published at a new offset); skipped", order.id)
                continue
            await conn.execute(
                "INSERT INTO order_transitions (order_id, from_status, to_status, reason, ts_ms) "
                "VALUES ($1, NULL, 'new', 'accepted (live)', $2)",
                order.id, now_ms,
            )  # fmt: skip
            inserted.append(order)
        return inserted

    async def book(self, order: Order, fill: Fill) -> bool:
        """Book one order's terminal fill once; False when it was booked before (nothing done)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE", order.id)
            if await conn.fetchval("SELECT 1 FROM executions WHERE order_id = $1", order.id):
                return False
            await self.sink.book(conn, [(order, fill)])
        return True

    async def unbooked(self) -> list[Unbooked]:
        """Recorded live orders without a booked fill, oldest first: to drive again before new ones."""
        rows = await self.pool.fetch(
            "SELECT l.payload, l.dry_run FROM live_orders l "
            "WHERE l.portfolio = $1 "
            "AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.order_id = l.order_id) "
            "ORDER BY l.created_ms, l.order_id",
            self.portfolio,
        )
        return [Unbooked(decode(Order, bytes(row["payload"])), row["dry_run"]) for row in rows]


async def landed_orders(conn: asyncpg.Connection, portfolio: str) -> int:
    """Orders of `portfolio` whose transaction landed on chain."""
    return int(
        await conn.fetchval(
            "SELECT count(DISTINCT t.order_id) FROM order_txs t JOIN orders o ON o.order_id = t.order_id "
            "WHERE o.portfolio = $1 AND t.state = 'landed'",
            portfolio,
        )
    )
