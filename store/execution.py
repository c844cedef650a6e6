"""The exactly-once execution sink: orders in, fills out, one Postgres transaction per batch.

The test broker has no transactions, so exactly-once is built end to end here instead of in Faust:

* the sink's offset for (consumer, topic, partition) is stored beside the effects and locked
  `FOR UPDATE`, so a re-delivered message (offset below it) is skipped and two workers handed the same
  partition serialise on the row lock;
* `orders.order_id` is the primary key, so an order re-published at a new offset is skipped too;
* balances are read (and row-locked) inside the transaction, the venue executes against that snapshot,
  and the fill, balances, positions and next offset are committed together — all or nothing;
* the portfolio's balance rows are locked next (then its positions, always in that order), so batches
  from different partitions of one portfolio serialise too and never book on a stale position;
* fills are stored `published=false` (an outbox); the agent sends them after commit and marks them
  published, re-sending any left over after a crash. Fill ids are deterministic, so consumers dedupe.

Positions: a buy adds the base bought and the quote paid (fee included) to cost; a sell removes base
and a proportional share of cost (floor), booking realised PnL = proceeds - cost removed. A position
whose base reaches 0 is kept (base 0, cost 0) so its realised PnL stays on record; a later buy re-opens
it. Base sold beyond the position (tokens the wallet held from the start) carries no cost, so its
proceeds count as realised PnL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import asyncpg

from core import metrics
from core.errors import SolbotError, VenueRejected
from core.faults import NO_FAULTS, FaultInjector
from market.fills import FILLED, INVALID_ORDER, failed_fill, mint_flows
from market.tokens import USDC, WSOL
from risk.fencing import stale_order
from store.risk_owner import current_owner
from streams.records import Fill, Order
from venues.interface import Venue

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Position:
    """A position being updated in memory during one batch (raw units)."""

    base_mint: str
    quote_mint: str
    base_decimals: int
    quote_decimals: int
    base_amount: int
    cost_quote: int
    realised_pnl_quote: int

    def book(self, fill: Fill) -> None:
        if fill.status != FILLED:
            return
        if fill.side == "buy":
            self.base_amount += fill.base_amount
            self.cost_quote += fill.quote_amount
            return
        if fill.base_amount >= self.base_amount:
            cost_removed = self.cost_quote
        else:
            cost_removed = self.cost_quote * fill.base_amount // self.base_amount
        self.base_amount = max(0, self.base_amount - fill.base_amount)
        self.cost_quote -= cost_removed
        self.realised_pnl_quote += fill.quote_amount - cost_removed


@dataclass(slots=True)
class _Book:
    """One transaction's wallet (locked), positions (locked) and the fills booked against them so far."""

    wallet: dict[str, int]
    positions: dict[str, _Position]
    fills: list[Fill] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)

    def add(self, order: Order, fill: Fill, venue: str) -> None:
        """Apply one fill: its mint flows to the wallet (never below zero) and its position."""
        if fill.order_id != order.id:
            raise SolbotError(f"venue {venue} answered order {order.id} with {fill.order_id}")
        for mint, delta in mint_flows(order, fill).items():
            balance = self.wallet.get(mint, 0) + delta
            if balance < 0:
                raise SolbotError(f"venue {venue} overspent {mint} on order {order.id}")
            self.wallet[mint] = balance
            self.touched.add(mint)
        if fill.network_fee_lamports:
            # A live transaction's own cost, paid in SOL from the wallet's lamports (which live balances
            # count as SOL above the fee reserve), filled or not; paper fills carry none.
            self.wallet[WSOL] = max(0, self.wallet.get(WSOL, 0) - fill.network_fee_lamports)
            self.touched.add(WSOL)
        if fill.status == FILLED:
            state = order.pool_state
            position = self.positions.setdefault(
                order.pair,
                _Position(
                    state.base_mint, state.quote_mint, state.base_decimals, state.quote_decimals, 0, 0, 0
                ),
            )
            position.book(fill)
        self.fills.append(fill)


class ExecutionSink:
    """Applies batches of `orders` for one portfolio, exactly once, and keeps the fills outbox."""

    def __init__(self, pool: asyncpg.Pool, *, consumer: str, portfolio: str, venue: Venue) -> None:
        self._pool = pool
        self.consumer = consumer
        self.portfolio = portfolio
        self.venue = venue
        # Optional: order id -> (status, reason) of orders not to execute (halt, cancel; store.order_gate).
        self.gate: Callable[[Sequence[Order]], Awaitable[dict[str, tuple[str, str]]]] | None = None
        self.faults: FaultInjector = NO_FAULTS  # FAULT_INJECT's `sink.apply`: inside the transaction
        # (topic, partition) -> the next offset as this process's last committed `apply` left it: a worker's
        # paper chain is current only while no other worker has applied orders since (`balance_check`).
        self.applied_next: dict[tuple[str, int], int] = {}

    async def ensure_wallet(self, initial: Mapping[str, int]) -> None:
        """Seed the portfolio's balances, only if it has none yet (restarts keep what trading left)."""
        if not initial:
            return
        if any(amount < 0 for amount in initial.values()):
            raise ValueError("initial balances must be >= 0")
        mints = list(initial)
        await self._pool.execute(
            "INSERT INTO portfolios (portfolio, base_mint) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            self.portfolio,
            USDC,
        )
        await self._pool.execute(
            """
            INSERT INTO balances (portfolio, mint, amount)
            SELECT $1, m, a FROM unnest($2::text[], $3::numeric[]) AS t (m, a)
            WHERE NOT EXISTS (SELECT 1 FROM balances WHERE portfolio = $1)
            ON CONFLICT (portfolio, mint) DO NOTHING
            """,
            self.portfolio,
            mints,
            [initial[m] for m in mints],
        )

    async def next_offsets(self, topic: str) -> dict[int, int]:
        """Partition → the next offset to read, for seeking on partition assignment."""
        rows = await self._pool.fetch(
            "SELECT partition, next_offset FROM sink_offsets WHERE consumer = $1 AND topic = $2",
            self.consumer,
            topic,
        )
        return {row["partition"]: row["next_offset"] for row in rows}

    async def apply(
        self,
        topic: str,
        partition: int,
        batch: Sequence[tuple[int, Order]],
        now_ms: int,
        epochs: Mapping[str, int] | None = None,
    ) -> list[Fill]:
        """Execute the batch's new orders and commit them with the next offset; returns the new fills.

        `epochs` (order id -> the epoch of the risk owner that decided it): an order of an older epoch
        decided after the current owner claimed is a stale owner's, refused (not recorded, not executed;
        risk/fencing.py)."""
        if not batch:
            return []
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """
                INSERT INTO sink_offsets (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, 0)
                ON CONFLICT (consumer, topic, partition) DO NOTHING
                """,
                self.consumer,
                topic,
                partition,
            )
            next_offset: int = await conn.fetchval(
                """
                SELECT next_offset FROM sink_offsets
                WHERE consumer = $1 AND topic = $2 AND partition = $3 FOR UPDATE
                """,
                self.consumer,
                topic,
                partition,
            )
            fresh = sorted((item for item in batch if item[0] >= next_offset), key=lambda item: item[0])
            if not fresh:
                log.info(
                    "%s[%d] offsets %d..%d already applied (next %d); skipped",
                    topic, partition, min(o for o, _ in batch), max(o for o, _ in batch), next_offset,
                )  # fmt: skip
                return []
            first, last = fresh[0][0], fresh[-1][0]  # the batch's offsets, whatever is refused below
            if epochs:
                fresh = await self._refuse_stale(conn, fresh, epochs)
            fills: list[Fill] = []
            if fresh:  # a batch of a stale owner's orders only: refused, and its offsets applied
                fills = await self._execute(conn, await self._insert_new_orders(conn, fresh), now_ms)
            await conn.execute(
                """
                UPDATE sink_offsets SET next_offset = $4, updated_at = now()
                WHERE consumer = $1 AND topic = $2 AND partition = $3
                """,
                self.consumer,
                topic,
                partition,
                last + 1,
            )
            self.faults.fire("sink.apply")  # as a connection reset before commit: all of it rolls back
        self.applied_next[(topic, partition)] = last + 1
        log.info(
            "%s[%d] offsets %d..%d: %d new orders, %d filled",
            topic, partition, first, last, len(fills), sum(1 for f in fills if f.status == FILLED),
        )  # fmt: skip
        return fills

    async def _refuse_stale(
        self, conn: asyncpg.Connection, fresh: list[tuple[int, Order]], epochs: Mapping[str, int]
    ) -> list[tuple[int, Order]]:
        current = await current_owner(conn, self.portfolio, lock=True)
        kept = []
        for offset, order in fresh:
            if stale_order(epochs.get(order.id), order.decided_ms, current):
                metrics.STALE_WRITES.labels("sink").inc()
                log.error(
                    "order %s refused: decided by a stale risk owner (epoch %s, current %s)",
                    order.id,
                    epochs.get(order.id),
                    current,
                    extra={"order_id": order.id, "offset": offset},
                )
            else:
                kept.append((offset, order))
        return kept

    async def _insert_new_orders(
        self, conn: asyncpg.Connection, fresh: Sequence[tuple[int, Order]]
    ) -> list[Order]:
        """Insert the orders not seen before (by id) in one statement; returns them in offset order."""
        unique: dict[str, Order] = {}
        for offset, order in fresh:
            if order.id in unique:
                log.info("order %s re-delivered within the batch at offset %d; skipped", order.id, offset)
            unique.setdefault(order.id, order)
        orders = list(unique.values())
        rows = await conn.fetch(
            """
            INSERT INTO orders (order_id, signal_id, portfolio, pair, side, kind, venue, pool, amount_in,
                                min_amount_out, status, reason, ts_ms, origin_ms, decided_ms)
            SELECT o, s, $1, p, sd, k, v, pl, ai, mo, 'submitted', r, t, om, dm
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                        $9::numeric[], $10::numeric[], $11::text[], $12::bigint[], $13::bigint[],
                        $14::bigint[]) AS u (o, s, p, sd, k, v, pl, ai, mo, r, t, om, dm)
            ON CONFLICT (order_id) DO NOTHING
            RETURNING order_id
            """,
            self.portfolio,
            [o.id for o in orders],
            [o.signal_id for o in orders],
            [o.pair for o in orders],
            [o.side for o in orders],
            [o.kind for o in orders],
            [o.venue for o in orders],
            [o.pool for o in orders],
            [o.amount_in for o in orders],
            [o.min_amount_out for o in orders],
            [o.reason for o in orders],
            [o.ts_ms for o in orders],
            [o.origin_ms for o in orders],
            [o.decided_ms for o in orders],
        )
        inserted = {row["order_id"] for row in rows}
        for order in orders:
            if order.id not in inserted:
                log.info("order %s already executed (re-published at a new offset); skipped", order.id)
        return [o for o in orders if o.id in inserted]

    async def _execute(self, conn: asyncpg.Connection, orders: Sequence[Order], now_ms: int) -> list[Fill]:
        """Run each order on the venue against the locked wallet, then write all effects in bulk."""
        if not orders:
            return []
        book = await self._open_book(conn, orders)
        refused = await self.gate(orders) if self.gate is not None else {}
        for order in orders:
            try:
                if order.id in refused:
                    fill = refused_fill(order, now_ms, *refused[order.id])
                else:
                    fill = await self.venue.execute(order, MappingProxyType(book.wallet), now_ms)
            except VenueRejected as exc:
                # A malformed order would fail on every retry and wedge the partition: record it as failed.
                log.warning("order %s rejected by %s: %s", order.id, self.venue.name, exc)
                fill = failed_fill(order, now_ms, INVALID_ORDER)
            book.add(order, fill, self.venue.name)
        await self._close_book(conn, book)
        return book.fills

    async def book(self, conn: asyncpg.Connection, outcomes: Sequence[tuple[Order, Fill]]) -> None:
        """Book fills decided outside this transaction (live orders: what landed on chain), as `apply`
        books its own: balances, positions and the fills outbox, in the caller's transaction."""
        if outcomes:
            book = await self._open_book(conn, [order for order, _ in outcomes])
            for order, fill in outcomes:
                book.add(order, fill, fill.venue)
            await self._close_book(conn, book)

    async def _open_book(self, conn: asyncpg.Connection, orders: Sequence[Order]) -> _Book:
        wallet = {
            row["mint"]: int(row["amount"])
            for row in await conn.fetch(
                "SELECT mint, amount FROM balances WHERE portfolio = $1 ORDER BY mint FOR UPDATE",
                self.portfolio,
            )
        }
        positions = await self._lock_positions(conn, sorted({o.pair for o in orders}))
        return _Book(wallet, positions)

    async def _close_book(self, conn: asyncpg.Connection, book: _Book) -> None:
        fills, wallet, positions = book.fills, book.wallet, book.positions
        await self._write_fills(conn, fills)
        if book.touched:
            mints = sorted(book.touched)
            await conn.execute(
                """
                INSERT INTO balances (portfolio, mint, amount)
                SELECT $1, m, a FROM unnest($2::text[], $3::numeric[]) AS t (m, a)
                ON CONFLICT (portfolio, mint) DO UPDATE SET amount = excluded.amount, updated_at = now()
                """,
                self.portfolio,
                mints,
                [wallet[m] for m in mints],
            )
        traded = sorted({f.pair for f in fills if f.status == FILLED})
        if traded:
            await self._write_positions(conn, {pair: positions[pair] for pair in traded})

    async def _lock_positions(self, conn: asyncpg.Connection, pairs: list[str]) -> dict[str, _Position]:
        rows = await conn.fetch(
            """
            SELECT pair, base_mint, quote_mint, base_decimals, quote_decimals, base_amount, cost_quote,
                   realised_pnl_quote
            FROM positions WHERE portfolio = $1 AND pair = ANY($2::text[]) ORDER BY pair FOR UPDATE
            """,
            self.portfolio,
            pairs,
        )
        return {
            row["pair"]: _Position(
                base_mint=row["base_mint"],
                quote_mint=row["quote_mint"],
                base_decimals=row["base_decimals"],
                quote_decimals=row["quote_decimals"],
                base_amount=int(row["base_amount"]),
                cost_quote=int(row["cost_quote"]),
                realised_pnl_quote=round(row["realised_pnl_quote"]),
            )
            for row in rows
        }

    async def _write_fills(self, conn: asyncpg.Connection, fills: Sequence[Fill]) -> None:
        await conn.execute(
            """
            INSERT INTO executions (fill_id, order_id, portfolio, pair, side, status, reason, venue, pool,
                                    base_amount, quote_amount, fee_quote, price, base_decimals,
                                    quote_decimals, signature, ts_ms, origin_ms, filled_ms)
            SELECT f, o, $1, p, sd, st, r, v, pl, b, q, fq, pr, bd, qd, NULLIF(sg, ''), t, om, fm
            FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                        $9::text[], $10::numeric[], $11::numeric[], $12::numeric[], $13::float8[],
                        $14::int[], $15::int[], $16::text[], $17::bigint[], $18::bigint[], $19::bigint[])
                 WITH ORDINALITY AS u (f, o, p, sd, st, r, v, pl, b, q, fq, pr, bd, qd, sg, t, om, fm, n)
            ORDER BY n
            """,
            self.portfolio,
            [f.id for f in fills],
            [f.order_id for f in fills],
            [f.pair for f in fills],
            [f.side for f in fills],
            [f.status for f in fills],
            [f.reason for f in fills],
            [f.venue for f in fills],
            [f.pool for f in fills],
            [f.base_amount for f in fills],
            [f.quote_amount for f in fills],
            [f.fee_quote for f in fills],
            [f.price for f in fills],
            [f.base_decimals for f in fills],
            [f.quote_decimals for f in fills],
            [f.signature for f in fills],
            [f.ts_ms for f in fills],
            [f.origin_ms for f in fills],
            [f.filled_ms for f in fills],
        )
        await conn.execute(
            """
            UPDATE orders SET status = u.st, reason = u.r, updated_at = now()
            FROM unnest($1::text[], $2::text[], $3::text[]) AS u (o, st, r)
            WHERE orders.order_id = u.o
            """,
            [f.order_id for f in fills],
            [f.status for f in fills],
            [f.reason for f in fills],
        )

    async def _write_positions(self, conn: asyncpg.Connection, positions: Mapping[str, _Position]) -> None:
        pairs = list(positions)
        rows = [positions[p] for p in pairs]
        await conn.execute(
            """
            INSERT INTO positions (portfolio, pair, base_mint, quote_mint, base_decimals, quote_decimals,
                                   base_amount, cost_quote, realised_pnl_quote)
            SELECT $1, p, bm, qm, bd, qd, b, c, r
            FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::numeric[],
                        $8::numeric[], $9::float8[]) AS u (p, bm, qm, bd, qd, b, c, r)
            ON CONFLICT (portfolio, pair) DO UPDATE SET
                base_amount = excluded.base_amount,
                cost_quote = excluded.cost_quote,
                realised_pnl_quote = excluded.realised_pnl_quote,
                updated_at = now()
            """,
            self.portfolio,
            pairs,
            [r.base_mint for r in rows],
            [r.quote_mint for r in rows],
            [r.base_decimals for r in rows],
            [r.quote_decimals for r in rows],
            [r.base_amount for r in rows],
            [r.cost_quote for r in rows],
            [float(r.realised_pnl_quote) for r in rows],
        )

    async def unpublished(self) -> list[Fill]:
        """This portfolio's fills not yet sent to the `fills` topic, oldest first."""
        rows = await self._pool.fetch(
            "SELECT * FROM executions WHERE portfolio = $1 AND NOT published ORDER BY seq", self.portfolio
        )
        return [fill_from_row(row) for row in rows]

    async def mark_published(self, fill_ids: Sequence[str]) -> None:
        """Record that these fills reached the topic (after the producer acknowledged them)."""
        if fill_ids:
            await self._pool.execute(
                "UPDATE executions SET published = true WHERE fill_id = ANY($1::text[]) AND NOT published",
                list(fill_ids),
            )

    async def balances(self) -> dict[str, int]:
        rows = await self._pool.fetch(
            "SELECT mint, amount FROM balances WHERE portfolio = $1 ORDER BY mint", self.portfolio
        )
        return {row["mint"]: int(row["amount"]) for row in rows}

    async def positions(self) -> list[dict[str, Any]]:
        """Positions by pair: raw-unit amounts as ints, realised PnL in raw quote units."""
        rows = await self._pool.fetch(
            """
            SELECT pair, base_mint, quote_mint, base_decimals, quote_decimals, base_amount, cost_quote,
                   realised_pnl_quote
            FROM positions WHERE portfolio = $1 ORDER BY pair
            """,
            self.portfolio,
        )
        return [
            {
                "pair": row["pair"],
                "base_mint": row["base_mint"],
                "quote_mint": row["quote_mint"],
                "base_decimals": row["base_decimals"],
                "quote_decimals": row["quote_decimals"],
                "base_amount": int(row["base_amount"]),
                "cost_quote": int(row["cost_quote"]),
                "realised_pnl_quote": round(row["realised_pnl_quote"]),
            }
            for row in rows
        ]


def refused_fill(order: Order, now_ms: int, status: str, reason: str) -> Fill:
    """The terminal outcome of an order the gate refused: nothing moved (a failed fill), `status` kept."""
    fill = failed_fill(order, now_ms, reason)
    fill.status = status
    return fill


def fill_from_row(row: asyncpg.Record) -> Fill:
    return Fill(
        id=row["fill_id"],
        order_id=row["order_id"],
        pair=row["pair"],
        side=row["side"],
        status=row["status"],
        reason=row["reason"],
        venue=row["venue"],
        pool=row["pool"],
        base_amount=int(row["base_amount"]),
        quote_amount=int(row["quote_amount"]),
        fee_quote=int(row["fee_quote"]),
        price=row["price"],
        base_decimals=row["base_decimals"],
        quote_decimals=row["quote_decimals"],
        signature=row["signature"] or "",
        ts_ms=row["ts_ms"],
        origin_ms=row["origin_ms"],
        filled_ms=row["filled_ms"],
    )
