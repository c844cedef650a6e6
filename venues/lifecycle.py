"""The persisted life cycle of a live order: new → submitted → confirmed | failed | expired | cancelled.

The one invariant: an order can never fill twice. It holds because
  * an order has at most ONE live (signed or sent) transaction, enforced by a unique partial index;
  * that transaction (signature, last valid block height, raw bytes) is stored BEFORE it is sent, so a
    worker that dies between signing and sending finds it again when the order is re-delivered;
  * re-sending always sends the same stored bytes (same signature: it can land at most once);
  * a NEW transaction (new blockhash, new signature) is signed only once the old one is proven dead:
    the block height is past its `lastValidBlockHeight` AND, read after that, the signature is unknown.
    Errors such as "blockhash not found", timeouts or 429s prove nothing and never trigger a re-sign.
Every status change is a row in `order_transitions` (from, to, reason, ts_ms) written in the same
database transaction that updates `orders.status`. `run` is resumable: calling it again for an order
(a re-delivered message, a restarted worker) continues from what is stored, and a terminal order
returns its stored outcome. A circuit breaker per venue stops calling a venue after consecutive
failures, for a cooldown; a 429 is a pace to keep (backed off, honouring Retry-After), not a failure.

Re-sends go through the venue's `rebroadcast`, which a rate-limited relay may skip. A relay that reports a
transaction FAILED (Jito: every region failed the bundle, it will not be forwarded) ends the order at
once, after one more status read of the chain, instead of waiting out the blockhash. Every sent
transaction's fate (landed, or lost) is told to the venue (`observe_landing`) for the fee policy.

The venue is any `venues.interface.TransactionVenue`: the life cycle runs its hooks (`prepare`, then
`broadcast`, then `finalize` once the transaction landed) with a Postgres write between each. A market
outcome `prepare` already knows (`Refused`) fails the order unsent with that reason.

Confirmation polls `getSignatureStatuses` through a `StatusBatcher`: every order waiting on the chain
at the same moment shares one call (up to 256 signatures), and concurrent `getBlockHeight` reads share
one request, so a thousand orders in flight cost a few calls per poll interval rather than thousands.
A shared height read is still read before the status read that follows it, so expiry proofs hold.
With a `SignatureWatcher` (`collectors.solana_ws.SolanaWsClient`: `signatureSubscribe`) the node pushes
the confirmation: the status read follows the push at once and polls run only every
`pushed_poll_interval_s` until it comes. The push only wakes the loop; the status read stays the proof.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import asyncpg

from core.errors import (
    AlreadyProcessed,
    CircuitOpen,
    PreflightFailed,
    RateLimited,
    SignatureVerificationFailed,
    VenueError,
    VenueRejected,
)
from market.fills import failed_fill
from streams.records import Fill, Order
from venues.interface import (
    EMPTY_WALLET,
    Landing,
    Refused,
    RelayVerdict,
    TransactionVenue,
    retryable,
    validate_order,
)
from venues.lifecycle_reads import CircuitBreaker, StatusBatcher
from venues.memo import memo_texts

__all__ = ["CircuitBreaker", "LifecycleConfig", "OrderLifecycle", "Outcome", "StatusBatcher"]

log = logging.getLogger(__name__)

# Whether an order may be sent now: None, or the reason it must not be (a halt). Asked before each send.
SendGate = Callable[[Order], Awaitable[str | None]]

NEW, SUBMITTED, CONFIRMED, FAILED, EXPIRED, CANCELLED = (
    "new", "submitted", "confirmed", "failed", "expired", "cancelled",
)  # fmt: skip
FILLED = "filled"  # a confirmed order whose fill the execution sink has booked
TERMINAL = frozenset({CONFIRMED, FAILED, EXPIRED, CANCELLED, FILLED})
_ALLOWED = {
    None: {NEW},
    NEW: {SUBMITTED, FAILED, CANCELLED},
    SUBMITTED: {CONFIRMED, FAILED, EXPIRED},
}
T = TypeVar("T")


class _Halted(Exception):
    """The gate refused a send (not a VenueError: `_venue_call` passes it straight up, never retried)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    max_attempts: int = 3  # signed transactions per order (each only after the previous expired)
    max_call_retries: int = 8  # retries of one venue/RPC step before giving up on it
    poll_interval_s: float = 0.4
    resend_interval_s: float = 2.0  # re-broadcast of the same bytes while unconfirmed (maxRetries is 0)
    backoff_base_s: float = 0.05
    backoff_max_s: float = 2.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 1.0
    pushed_poll_interval_s: float = 2.0  # status polls while a signature watcher waits for the push
    push_timeout_s: float = 90.0  # one signatureSubscribe per transaction, withdrawn after this


class SignatureWatcher(Protocol):
    """Pushes a signature's confirmation (`signatureSubscribe`); TimeoutError when none came in time."""

    async def confirmation(self, signature: str, timeout_s: float) -> Any: ...


@dataclass(slots=True)
class _Push:
    """One transaction's pending confirmation push; `used` once a status read followed it."""

    future: asyncio.Future[Any]
    used: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    order_id: str
    status: str
    reason: str
    signature: str = ""
    in_amount: int = 0
    out_amount: int = 0


@dataclass(frozen=True, slots=True)
class _Tx:
    attempt: int
    signature: str
    last_valid_block_height: int
    raw: str
    in_amount: int
    out_amount: int
    state: str


class OrderLifecycle:
    """Drives orders to one terminal state on one venue, persisting every step in Postgres."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        venue: TransactionVenue,
        config: LifecycleConfig | None = None,
        *,
        portfolio: str = "main",
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        watcher: SignatureWatcher | None = None,
        gate: SendGate | None = None,
    ) -> None:
        self.portfolio = portfolio  # `Order` carries no portfolio; the orders table needs one
        self.pool = pool
        self.venue = venue
        self.config = config or LifecycleConfig()
        self.name = venue.name
        self.breaker = CircuitBreaker(self.config.breaker_failures, self.config.breaker_cooldown_s)
        self.statuses = StatusBatcher(venue.rpc)
        self.watcher = watcher
        self.gate = gate
        self._wall_ms = wall_ms

    # -- the in-transaction driver's entry point, run through the life cycle ------------------------------

    async def execute(self, order: Order, wallet: Mapping[str, int], now_ms: int) -> Fill:
        """The order's terminal fill, booked by the venue's `finalize` from what landed."""
        outcome = await self.run(order, wallet)
        if outcome.status not in (CONFIRMED, FILLED):
            return failed_fill(order, now_ms, outcome.reason or outcome.status)
        landing = Landing(outcome.signature, outcome.in_amount, outcome.out_amount)
        return self.venue.finalize(order, landing, now_ms)

    # -- the life cycle ------------------------------------------------------------------------------------

    async def run(self, order: Order, wallet: Mapping[str, int] = EMPTY_WALLET) -> Outcome:
        """Drive `order` to a terminal state (or resume it); raises `VenueError` only if the RPC node
        stays unreachable, leaving the order resumable. `wallet` is the snapshot `prepare` is given.
        A malformed order raises `VenueRejected` before anything is stored, as the in-transaction driver's."""
        validate_order(order)
        await self._ensure_order(order)
        while True:
            status = await self._status(order.id)
            if status in TERMINAL:
                return await self.outcome(order.id)
            live = await self._live_tx(order.id)
            if live is None:
                attempts = await self._attempts(order.id)
                if attempts >= self.config.max_attempts:
                    await self._transition(order.id, EXPIRED, f"{attempts} transactions expired")
                    continue
                await self._sign_new(order, attempts + 1, wallet)
                continue
            await self._drive(order, live)

    async def cancel(self, order_id: str, reason: str) -> bool:
        """Cancel an order that has no transaction yet; False if it is past that point."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT status FROM orders WHERE order_id = $1 FOR UPDATE", order_id)
            if row is None or row["status"] != NEW:
                return False
            if await conn.fetchval("SELECT count(*) FROM order_txs WHERE order_id = $1", order_id):
                return False
            await self._transition_in(conn, order_id, NEW, CANCELLED, reason)
            return True

    async def outcome(self, order_id: str) -> Outcome:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT o.status, o.reason, t.signature, t.in_amount, t.out_amount
                   FROM orders o LEFT JOIN order_txs t ON t.order_id = o.order_id AND t.state = 'landed'
                   WHERE o.order_id = $1""",
                order_id,
            )
        if row is None:
            raise VenueError(f"order {order_id} is unknown to the life cycle")
        return Outcome(
            order_id, row["status"], row["reason"], row["signature"] or "",
            int(row["in_amount"] or 0), int(row["out_amount"] or 0),
        )  # fmt: skip

    async def pending_order_ids(self) -> list[str]:
        """Orders not yet terminal (to re-drive after a restart)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT DISTINCT o.order_id FROM orders o JOIN order_txs t ON t.order_id = o.order_id "
                "WHERE o.status IN ('new', 'submitted') ORDER BY 1"
            )
        return [row["order_id"] for row in rows]

    # -- steps ---------------------------------------------------------------------------------------------

    async def _sign_new(self, order: Order, attempt: int, wallet: Mapping[str, int]) -> None:
        try:
            prepared = await self._venue_call(lambda: self.venue.prepare(order, wallet))
        except (VenueRejected, PreflightFailed) as exc:
            await self._fail_unsent(order.id, f"rejected: {type(exc).__name__}")
            return
        except VenueError as exc:
            await self._fail_unsent(order.id, f"venue_unavailable: {type(exc).__name__}")
            return
        if isinstance(prepared, Refused):
            await self._fail_unsent(order.id, prepared.reason)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    """INSERT INTO order_txs (order_id, attempt, signature, last_valid_block_height,
                           raw_tx_base64, in_amount, out_amount, state, created_ms)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, 'signed', $8)""",
                    order.id, attempt, prepared.signature, prepared.last_valid_block_height,
                    prepared.raw_base64, prepared.in_amount, prepared.out_amount, self._wall_ms(),
                )  # fmt: skip
            except asyncpg.UniqueViolationError:
                # Another worker stored a live transaction first: adopt it, discard ours (never sent).
                log.warning("order %s: a live transaction already exists; discarding the new one", order.id)

    async def _fail_unsent(self, order_id: str, reason: str) -> None:
        """Fail an order none of whose transactions can land (none live, all expired or never signed)."""
        status = await self._status(order_id)
        if status in TERMINAL:
            return
        # An order that was submitted and then expired did send; its terminal state is then `expired`.
        target = FAILED if status == NEW else EXPIRED
        await self._transition(order_id, target, reason)

    async def _drive(self, order: Order, tx: _Tx) -> None:
        """Send (if never sent), then poll until the transaction lands, fails or is proven expired."""
        if tx.state == "signed" and not await self._send(order, tx):
            return
        push = self._watch(tx.signature)
        try:
            await self._poll(order, tx, push)
        finally:
            if push is not None:
                push.future.cancel()

    def _watch(self, signature: str) -> _Push | None:
        if self.watcher is None:
            return None
        push = asyncio.ensure_future(self.watcher.confirmation(signature, self.config.push_timeout_s))
        push.add_done_callback(lambda f: f.cancelled() or f.exception())  # a timeout only ends the push
        return _Push(push)

    async def _pause(self, push: _Push | None) -> None:
        """Until the next status read: the poll interval; while a push is awaited, until it comes (at most
        `pushed_poll_interval_s`), and once it came, not at all: that read is the one it asked for."""
        if push is None or push.used:
            await asyncio.sleep(self.config.poll_interval_s)
            return
        if not push.future.done():
            await asyncio.wait({push.future}, timeout=self.config.pushed_poll_interval_s)
        push.used = push.future.done()

    async def _poll(self, order: Order, tx: _Tx, push: _Push | None) -> None:
        next_send = time.monotonic() + self.config.resend_interval_s
        while True:
            found = await self._rpc_call(lambda: self.statuses.status(tx.signature))
            if found is not None and found.err is not None:
                self.venue.observe_landing(True)  # it landed (and paid its fees); the program refused it
                await self._close_tx(order.id, tx, "failed", FAILED, f"transaction error: {found.err}")
                return
            if found is not None and found.confirmation_status in ("confirmed", "finalized"):
                self.venue.observe_landing(True)
                await self._close_tx(order.id, tx, "landed", CONFIRMED, f"landed in slot {found.slot}")
                return
            if found is None:
                proof = await self._expiry_proof(order, tx)
                if proof is not None:
                    if proof:
                        self.venue.observe_landing(False)
                        await self._expire_tx(order.id, tx)
                        return
                    await self._pause(push)
                    continue
                if await self.venue.relay_verdict(tx.signature) is RelayVerdict.FAILED:
                    # The relay failed it in every region and will not forward it (it was sent nowhere
                    # else): the auction is lost now, not at the blockhash's expiry. The chain is asked
                    # once more, so a transaction that did land is never booked as failed.
                    again = await self._rpc_call(
                        lambda: self.statuses.status(tx.signature, search_history=True)
                    )
                    if again is None:
                        self.venue.observe_landing(False)
                        await self._close_tx(
                            order.id, tx, "failed", FAILED, "relay: bundle failed, not forwarded"
                        )
                        return
                    continue
            if time.monotonic() >= next_send:
                next_send = time.monotonic() + await self._resend(order, tx)
            await self._pause(push)

    async def _expiry_proof(self, order: Order, tx: _Tx) -> bool | None:
        """None while the live transaction's blockhash may still land it; True once it is proven that no
        transaction of the order landed or ever can (a new one may then be signed); False when the reads
        proved nothing this time (a node behind, or a landing found).

        Slot-consistent: the height past `last_valid_block_height` comes with the slot it was read at
        (`getEpochInfo`); the status answer for every signature of the order counts only if the node
        answered at that slot or later (behind a balancer the two reads may hit different nodes, and a
        node behind would not know a landing yet); then the wallet's landed transactions, from that slot
        on (`minContextSlot`), must carry no memo naming the order."""
        epoch = await self._rpc_call(self.statuses.epoch_info)
        if epoch.height <= tx.last_valid_block_height:
            return None
        signatures = await self._signatures(order.id)
        rpc = self.venue.rpc
        answer = await self._rpc_call(lambda: rpc.get_signature_statuses_at(signatures, search_history=True))
        if answer.slot < epoch.slot or any(status is not None for status in answer.value):
            return False
        address = self.venue.address()
        if address is not None:
            landed = await self._rpc_call(
                lambda: rpc.get_signatures_for_address(address, min_context_slot=epoch.slot)
            )
            named = [entry.signature for entry in landed if order.id in memo_texts(entry.memo)]
            if named:
                log.error(
                    "order %s: landed transaction(s) %s carry its memo; not re-signing", order.id, named
                )
                return False
        log.info(
            "order %s: %s expired (height %d > %d at slot %d)",
            order.id, tx.signature, epoch.height, tx.last_valid_block_height, epoch.slot,
        )  # fmt: skip
        return True

    async def _signatures(self, order_id: str) -> list[str]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT signature FROM order_txs WHERE order_id = $1", order_id)
        return [row["signature"] for row in rows]

    async def _send(self, order: Order, tx: _Tx) -> bool:
        """First broadcast of a stored transaction; False when it can never land (order closed).

        The gate (the kill switch) is asked right before every attempt, retries included: a retry after
        a timeout or an open breaker can come seconds after the first try, and a halt in between must stop
        it. Refused before any attempt, the order fails unsent; refused after one that may have reached
        the node, nothing more goes out and the status reads decide as for any unconfirmed send."""
        tried: list[bool] = []

        async def broadcast() -> None:
            refused = await self.gate(order) if self.gate is not None else None
            if refused is not None:
                raise _Halted(refused)
            tried.append(True)
            await self.venue.broadcast(tx.raw)

        try:
            await self._venue_call(broadcast)
        except _Halted as halt:
            if not tried:
                # These signed bytes never leave. An order never sent fails; one whose earlier transactions
                # were sent (and proven expired, or this one would not have been signed) has expired.
                status = FAILED if await self._status(order.id) == NEW else EXPIRED
                await self._close_tx(order.id, tx, "failed", status, halt.reason)
                return False
            log.info("order %s: halted after a send that may have reached the node", order.id)
        except SignatureVerificationFailed:
            await self._close_tx(order.id, tx, "failed", FAILED, "signature verification failed")
            return False
        except PreflightFailed as exc:
            if await self._status(order.id) == NEW:
                await self._close_tx(order.id, tx, "failed", FAILED, f"preflight failed: {exc.data}")
                return False
        except VenueError as exc:
            # Timeouts, blockhash not found, an open breaker: maybe sent, maybe not. Either way the stored
            # bytes are the only transaction; polling and expiry decide.
            log.info("order %s: send of %s unconfirmed (%s)", order.id, tx.signature, type(exc).__name__)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE order_txs SET state = 'sent' "
                "WHERE order_id = $1 AND attempt = $2 AND state = 'signed'",
                order.id, tx.attempt,
            )  # fmt: skip
            status = await conn.fetchval("SELECT status FROM orders WHERE order_id = $1 FOR UPDATE", order.id)
            if status == NEW:
                await self._transition_in(
                    conn, order.id, NEW, SUBMITTED, f"sent {tx.signature} (attempt {tx.attempt})"
                )
        return True

    async def _resend(self, order: Order, tx: _Tx) -> float:
        """Re-broadcast the stored bytes; the seconds until the next re-send (longer after a 429). Not
        while the gate refuses the order (a halt): bytes already sent may still land, no more go out."""
        if self.gate is not None and await self.gate(order) is not None:
            return self.config.resend_interval_s
        try:
            await self.venue.rebroadcast(tx.raw)
            self.breaker.success()
        except RateLimited as exc:
            # The venue is up and answering; it asks us to slow down. Not a failure of the venue: the
            # breaker would otherwise stop every order's sends for what is only a pace.
            log.debug("order %s: re-broadcast rate limited", order.id)
            return max(self.config.resend_interval_s, exc.retry_after_s or 0.0)
        except AlreadyProcessed:  # the bytes landed: the node is fine, the status read will say so
            self.breaker.success()
        except VenueError as exc:
            self.breaker.failure()
            log.debug("order %s: re-broadcast failed (%s)", order.id, type(exc).__name__)
        return self.config.resend_interval_s

    async def _close_tx(self, order_id: str, tx: _Tx, tx_state: str, status: str, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE order_txs SET state = $3 WHERE order_id = $1 AND attempt = $2",
                order_id,
                tx.attempt,
                tx_state,
            )
            current = await conn.fetchval(
                "SELECT status FROM orders WHERE order_id = $1 FOR UPDATE", order_id
            )
            if current == NEW and status != FAILED:
                await self._transition_in(conn, order_id, NEW, SUBMITTED, f"found {tx.signature} on chain")
                current = SUBMITTED
            await self._transition_in(conn, order_id, current, status, reason)

    async def _expire_tx(self, order_id: str, tx: _Tx) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE order_txs SET state = 'expired' WHERE order_id = $1 AND attempt = $2",
                order_id,
                tx.attempt,
            )

    # -- calls with retries, backoff and the breaker -------------------------------------------------------

    def _backoff(self, attempt: int, exc: Exception) -> float:
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            return min(self.config.backoff_max_s, exc.retry_after_s)
        return min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)

    async def _venue_call(self, call: Callable[[], Awaitable[T]]) -> T:
        """A venue step, retried on transient errors, through the breaker (rejections pass straight up)."""
        last: VenueError | None = None
        for attempt in range(self.config.max_call_retries + 1):
            try:
                self.breaker.check()
            except CircuitOpen as exc:
                last = exc
                await asyncio.sleep(max(self.breaker.remaining_s(), self.config.backoff_base_s))
                continue
            try:
                result = await call()
            except VenueError as exc:
                if not retryable(exc):
                    self.breaker.success()  # the venue answered; the order is the problem
                    raise
                if not isinstance(exc, RateLimited):  # a 429 is a pace to keep, not a venue down
                    self.breaker.failure()
                last = exc
                await asyncio.sleep(self._backoff(attempt, exc))
                continue
            self.breaker.success()
            return result
        assert last is not None
        raise last

    async def _rpc_call(self, call: Callable[[], Awaitable[T]]) -> T:
        """A read (status, height): retried with backoff; reads prove nothing when they fail."""
        last: VenueError | None = None
        for attempt in range(self.config.max_call_retries * 4):
            try:
                return await call()
            except VenueError as exc:
                last = exc
                await asyncio.sleep(self._backoff(attempt, exc))
        assert last is not None
        raise last

    # -- persistence ---------------------------------------------------------------------------------------

    async def _ensure_order(self, order: Order) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """INSERT INTO orders (order_id, signal_id, portfolio, pair, side, kind, venue, pool,
                       amount_in, min_amount_out, status, reason, ts_ms, origin_ms, decided_ms)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', '', $11, $12, $13)
                   ON CONFLICT (order_id) DO NOTHING RETURNING order_id""",
                order.id, order.signal_id, self.portfolio, order.pair, order.side, order.kind, order.venue,
                order.pool,
                order.amount_in, order.min_amount_out, order.ts_ms, order.origin_ms, order.decided_ms,
            )  # fmt: skip
            if inserted is not None:
                await conn.execute(
                    "INSERT INTO order_transitions (order_id, from_status, to_status, reason, ts_ms) "
                    "VALUES ($1, NULL, 'new', 'accepted', $2)",
                    order.id, self._wall_ms(),
                )  # fmt: skip

    async def _status(self, order_id: str) -> str:
        async with self.pool.acquire() as conn:
            return str(await conn.fetchval("SELECT status FROM orders WHERE order_id = $1", order_id))

    async def _attempts(self, order_id: str) -> int:
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM order_txs WHERE order_id = $1", order_id))

    async def _live_tx(self, order_id: str) -> _Tx | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM order_txs WHERE order_id = $1 AND state IN ('signed', 'sent')", order_id
            )
        if row is None:
            return None
        return _Tx(
            row["attempt"], row["signature"], int(row["last_valid_block_height"]), row["raw_tx_base64"],
            int(row["in_amount"]), int(row["out_amount"]), row["state"],
        )  # fmt: skip

    async def _transition(self, order_id: str, to: str, reason: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            current = await conn.fetchval(
                "SELECT status FROM orders WHERE order_id = $1 FOR UPDATE", order_id
            )
            await self._transition_in(conn, order_id, current, to, reason)

    async def _transition_in(
        self, conn: asyncpg.Connection, order_id: str, current: str | None, to: str, reason: str
    ) -> None:
        if to not in _ALLOWED.get(current, set()):
            raise VenueError(f"order {order_id}: transition {current} → {to} is not allowed")
        await conn.execute(
            "UPDATE orders SET status = $2, reason = $3, updated_at = now() WHERE order_id = $1",
            order_id, to, reason[:500],
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO order_transitions (order_id, from_status, to_status, reason, ts_ms) "
            "VALUES ($1, $2, $3, $4, $5)",
            order_id, current, to, reason[:500], self._wall_ms(),
        )  # fmt: skip
