"""Turn Solana `logsNotification`s into `Swap` and `Launch` records on raw.swaps / raw.launches, and
`accountNotification`s of followed pool and bonding-curve accounts into `PoolState` on raw.pools.

Each notification carries one transaction's logs; `chain.logs` walks them by invoke depth and decodes
the events of the programs solbot follows with the venues' decoders (`venues.registry`). Failed
transactions (`err` not null) are skipped and counted: their events were rolled back. A transaction
routed through several followed programs (a Jupiter route through Pump.fun) is delivered once per
subscription; it is decoded once.

Event time (`ts_ms`). A logs notification has a slot but no block time. Pump.fun events carry the
Clock's unix timestamp (seconds), which *is* the block time, so their records use it (the decoders
do). Events without a clock (Raydium v4 `ray_log`) use the wall time at which this collector first saw
that slot in a `slotNotification`, which trails the leader's block time by about the propagation
delay; a slot never seen falls back to the receipt time. Both are an estimate only when the event
itself has no clock, and never later than the receipt.

What cannot become a record:
- a line of a followed program that does not decode, or a Pump.fun create in the early layout:
  dead letter on dlq.raw (reason + the notification's original text), key `solana.logs`;
- a Raydium v4 swap: its log does not name the pool, and logs notifications carry no account list,
  so without a `pool_resolver` or a `pool_lookup` it is counted as unattributed;
- a Jupiter `SwapEvent`: it has no reserves, which `Swap` requires; counted as not normalised.

Raydium pools by RPC (`pool_lookup`, e.g. `venues.raydium.data.RaydiumPoolResolver`): resolving
takes a round trip or two, so the dispatch loop only starts it (a task) and queues the event; one
emitter task produces the queued swaps strictly in arrival order, so every pool's swaps keep their
order (a slow resolution holds back the swaps behind it, never reorders them). A failed resolution is
counted (`resolve_failed`) and logged; a full queue drops the event and counts it (`resolve_dropped`).

Accounts (`attach(..., accounts=...)`, plus the bonding curve of each new Pump.fun mint up to
`new_curve_limit`): each notification's base64 data is decoded by its owner's venue (the registry's
account decoders, which turn it into a `PoolState`). A Pump.fun
`BondingCurve` gives virtual and real reserves and the complete flag; its mint is known when the
curve was followed from a CreateEvent or once a trade on it was seen (else `base_mint` is empty), and
its fee once a trade showed it (else 0). A Raydium v4 `AmmInfo` gives mints, decimals and fee, but
not reserves (they are in the vault token accounts): `base_reserve`/`quote_reserve` are 0 there.
Undecodable account data goes to dlq.raw under the key `solana.accounts`. A state is keyed by the pair
its pool's swaps name (raw.pools is partitioned as raw.swaps: the features agent that holds the pair
reads it beside its swaps); until a swap of that pool was produced the pair is unknown and the key is
the pool's address (no features agent holds such a pool yet).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chain.borsh import b64decode
from chain.logs import LoggedEvent
from collectors.metrics import COLLECTOR_EVENTS, COLLECTOR_LAG
from collectors.sink import RecordSink, observe_produced
from collectors.solana_ws import Notification, SolanaWsClient
from core.errors import DecodeError
from streams.codec import encode
from streams.records import DeadLetter, Launch, PoolState, Swap
from streams.topics import DLQ_RAW, RAW_LAUNCHES, RAW_POOLS, RAW_SWAPS
from venues import registry
from venues.pumpfun.schemas import CreateEvent, TradeEvent
from venues.raydium.data import AsyncPoolResolver
from venues.raydium.schemas import PoolInfo, SwapBaseIn, SwapBaseOut

log = logging.getLogger(__name__)

# One logsSubscribe each (`mentions` takes exactly one pubkey), as the venues' registry entries list them.
FOLLOWED_PROGRAMS = registry.followed_programs()
DLQ_KEY = b"solana.logs"  # dlq.raw keys: the source (also "solana.accounts")
OUTPUT_TOPICS = (RAW_SWAPS.name, RAW_LAUNCHES.name, RAW_POOLS.name, DLQ_RAW.name)
SOURCE = "chain"

PoolResolver = Callable[[LoggedEvent], PoolInfo | None]


@dataclass(slots=True)
class ChainStats:
    notifications: int = 0
    failed_tx: int = 0
    duplicates: int = 0
    swaps: int = 0
    launches: int = 0
    dead_letters: int = 0
    unattributed: int = 0  # Raydium swaps whose pool is unknown
    not_normalised: int = 0  # Jupiter route events
    slots: int = 0
    resolved: int = 0  # Raydium swaps whose pool `pool_lookup` found
    resolve_failed: int = 0
    resolve_dropped: int = 0  # the resolution queue was full
    accounts_followed: int = 0
    new_curves_followed: int = 0
    account_updates: int = 0  # accountNotifications turned into PoolState
    account_unsupported: int = 0  # bonding curves with a quote currency of unknown decimals


class _Bounded(OrderedDict[str, Any]):
    """A small LRU: recent signatures, mint symbols, slot times."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class ChainCollector:
    """Handlers for a `SolanaWsClient`; `attach` subscribes them. Owns no connection of its own."""

    def __init__(
        self,
        sink: RecordSink,
        *,
        pool_resolver: PoolResolver | None = None,
        pool_lookup: AsyncPoolResolver | None = None,
        max_pending_resolutions: int = 10_000,
        new_curve_limit: int = 0,
        on_delivered: Callable[[str, float], None] | None = None,
    ) -> None:
        self.sink = sink
        self.pool_resolver = pool_resolver  # synchronous (a static table); tried before `pool_lookup`
        self.pool_lookup = pool_lookup
        self.max_pending_resolutions = max_pending_resolutions
        self.new_curve_limit = new_curve_limit
        self._client: SolanaWsClient | None = None
        self._followed: dict[str, str | None] = {}  # account -> the curve's mint, when known
        self._curve_fee_bps: dict[
            str, tuple[int, int]
        ] = {}  # followed curve -> (fee, creator part) last paid
        # (resolution, event, notification) in arrival order; the emitter starts with the first one.
        self._resolving: asyncio.Queue[tuple[asyncio.Task[PoolInfo], LoggedEvent, Notification]] | None
        self._resolving = None
        self._emitter: asyncio.Task[None] | None = None
        self.on_delivered = on_delivered  # (signature, receipt->ack seconds): for benchmarks
        self.stats = ChainStats()
        self._seen = _Bounded(50_000)
        self._symbols = _Bounded(50_000)  # mint -> symbol, learned from launches
        self._pairs = _Bounded(100_000)  # pool -> the pair its produced swaps name
        self._slot_ms = _Bounded(4_096)  # slot -> wall ms first seen

    def attach(
        self,
        client: SolanaWsClient,
        programs: tuple[str, ...] = FOLLOWED_PROGRAMS,
        accounts: tuple[str, ...] = (),
    ) -> None:
        self._client = client
        client.subscribe_slots(self.on_slot)
        for program in programs:
            client.subscribe_logs(program, self.on_logs)
        for account in accounts:
            self.follow_account(account)

    def follow_account(self, address: str, *, mint: str | None = None) -> bool:
        """`accountSubscribe` to a pool or bonding curve (now, if connected); False if already followed."""
        if self._client is None:
            raise RuntimeError("follow_account before attach()")
        if address in self._followed:
            return False
        self._followed[address] = mint
        self._client.subscribe_account(address, self.on_account)
        self.stats.accounts_followed += 1
        return True

    def slot_time_ms(self, slot: int, received_ms: int) -> int:
        """Block-time estimate for a slot (see the module docstring): never later than the receipt."""
        seen = self._slot_ms.get(str(slot))
        return min(seen, received_ms) if seen is not None else received_ms

    async def on_slot(self, n: Notification) -> None:
        result = n.result
        slot = result.get("slot") if isinstance(result, dict) else None
        if not isinstance(slot, int):
            COLLECTOR_EVENTS.labels(SOURCE, "bad_slot").inc()
            return
        self.stats.slots += 1
        if str(slot) not in self._slot_ms:
            self._slot_ms.put(str(slot), n.received_ms)

    async def on_logs(self, n: Notification) -> None:
        self.stats.notifications += 1
        result = n.result
        context = result.get("context") if isinstance(result, dict) else None
        value = result.get("value") if isinstance(result, dict) else None
        slot = context.get("slot") if isinstance(context, dict) else None
        if not isinstance(value, dict) or not isinstance(slot, int):
            await self._dead_letter(n, "logsNotification without context.slot or value")
            return
        signature, logs = value.get("signature"), value.get("logs")
        if not isinstance(signature, str) or not isinstance(logs, list):
            await self._dead_letter(n, "logsNotification value without signature or logs")
            return
        if value.get("err") is not None:
            self.stats.failed_tx += 1
            COLLECTOR_EVENTS.labels(SOURCE, "failed_tx").inc()
            return
        if signature in self._seen:
            self.stats.duplicates += 1
            return
        self._seen.put(signature, True)
        decoded = registry.decode_transaction_logs(
            logs, signature=signature, slot=slot, received_ms=n.received_ms
        )
        if decoded.failed:  # a failing inner program with err null should not happen; trust the logs
            self.stats.failed_tx += 1
            return
        reasons = [f"line {issue.line}: {issue.reason}" for issue in decoded.issues]
        raydium_swaps = 0  # the k-th swap log of the transaction is its k-th AMM v4 swap instruction
        for event in decoded:
            try:
                if isinstance(event.event, SwapBaseIn | SwapBaseOut):
                    raydium_swaps += 1
                    await self._emit_raydium(event, n, raydium_swaps - 1)
                else:
                    await self._emit(event, n)
            except DecodeError as exc:
                reasons.append(f"line {event.line}: {exc}")
        if reasons:
            await self._dead_letter(n, "; ".join(reasons))

    async def _emit(self, ev: LoggedEvent, n: Notification) -> None:
        event = ev.event
        record: Swap | Launch
        if isinstance(event, CreateEvent):
            record = event.parse_to_launch(slot=ev.slot, signature=ev.signature, received_ms=n.received_ms)
            self._symbols.put(event.mint, event.symbol)
            await self._send(RAW_LAUNCHES.name, record.mint, record, n)
            self.stats.launches += 1
            if self.stats.new_curves_followed < self.new_curve_limit and self._client is not None:
                if self.follow_account(event.bonding_curve, mint=event.mint):
                    self.stats.new_curves_followed += 1
        elif isinstance(event, TradeEvent):
            record = event.parse_to_swap(
                bonding_curve=None,
                slot=ev.slot,
                signature=ev.signature,
                received_ms=n.received_ms,
                symbol=self._symbols.get(event.mint),
            )
            await self._send(RAW_SWAPS.name, record.pair, record, n)
            self.stats.swaps += 1
            if record.pool in self._followed:  # what the curve's account does not say
                self._followed[record.pool] = event.mint
                self._curve_fee_bps[record.pool] = (record.fee_bps, record.creator_fee_bps)
        else:
            self.stats.not_normalised += 1
            COLLECTOR_EVENTS.labels(SOURCE, "not_normalised").inc()

    async def _emit_raydium(self, ev: LoggedEvent, n: Notification, ordinal: int) -> None:
        pool = self.pool_resolver(ev) if self.pool_resolver is not None else None
        if pool is not None:
            await self._send_raydium(ev, pool, n)
            return
        if self.pool_lookup is None:
            self.stats.unattributed += 1
            COLLECTOR_EVENTS.labels(SOURCE, "unattributed").inc()
            return
        if self._resolving is None:
            self._resolving = asyncio.Queue(self.max_pending_resolutions)
        if self._resolving.full():
            self.stats.resolve_dropped += 1
            COLLECTOR_EVENTS.labels(SOURCE, "resolve_dropped").inc()
            return
        task = asyncio.create_task(self.pool_lookup.resolve(ev, ordinal))
        self._resolving.put_nowait((task, ev, n))
        if self._emitter is None or self._emitter.done():
            self._emitter = asyncio.create_task(self._emit_resolved(self._resolving), name="raydium-emitter")

    async def _send_raydium(self, ev: LoggedEvent, pool: PoolInfo, n: Notification) -> None:
        event = ev.event
        assert isinstance(event, SwapBaseIn | SwapBaseOut)
        record = event.parse_to_swap(
            pool,
            slot=ev.slot,
            signature=ev.signature,
            ts_ms=self.slot_time_ms(ev.slot, n.received_ms),
            received_ms=n.received_ms,
        )
        await self._send(RAW_SWAPS.name, record.pair, record, n)
        self.stats.swaps += 1

    async def _emit_resolved(self, queue: asyncio.Queue[Any]) -> None:
        """Produce resolved Raydium swaps in arrival order (see the module docstring)."""
        while True:
            task, ev, n = await queue.get()
            try:
                pool = await task
            except asyncio.CancelledError:
                # Cancelling this emitter cancels the resolution it awaits too, so the resolution's state
                # cannot tell who was cancelled: this task's own request can (it swallowed the cancellation
                # of `solbot run`'s shutdown and the event loop waited for it forever).
                me = asyncio.current_task()
                if me is not None and me.cancelling():
                    raise
                queue.task_done()
                continue
            except Exception as exc:  # a node error (SolbotError), or its client closed under a shutdown
                self.stats.resolve_failed += 1
                COLLECTOR_EVENTS.labels(SOURCE, "resolve_failed").inc()
                log.warning("chain collector: no pool for %s (%s)", ev.signature, exc)
                queue.task_done()
                continue
            try:
                self.stats.resolved += 1
                await self._send_raydium(ev, pool, n)
            except DecodeError as exc:
                await self._dead_letter(n, f"line {ev.line}: {exc}")
            finally:
                queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued Raydium swap was resolved and produced (or failed)."""
        if self._resolving is not None:
            await self._resolving.join()

    async def close(self) -> None:
        """Cancel the emitter and the resolutions still running (their swaps are not produced)."""
        if self._emitter is not None:
            self._emitter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._emitter
            self._emitter = None
        if self._resolving is not None:
            while not self._resolving.empty():
                task, _ev, _n = self._resolving.get_nowait()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def on_account(self, n: Notification) -> None:
        address = n.subscription.name
        try:
            state = self._pool_state(address, n)
        except DecodeError as exc:
            await self._dead_letter(n, f"account {address}: {exc}", source="solana.accounts")
            return
        if state is None:
            self.stats.account_unsupported += 1
            COLLECTOR_EVENTS.labels(SOURCE, "account_unsupported").inc()
            return
        await self._send(RAW_POOLS.name, self._pairs.get(address) or address, state, n)
        self.stats.account_updates += 1

    def _pool_state(self, address: str, n: Notification) -> PoolState | None:
        """The PoolState an accountNotification describes (see the module docstring)."""
        result = n.result
        context = result.get("context") if isinstance(result, dict) else None
        value = result.get("value") if isinstance(result, dict) else None
        slot = context.get("slot") if isinstance(context, dict) else None
        if not isinstance(value, dict) or not isinstance(slot, int):
            raise DecodeError("accountNotification without context.slot or value")
        data, owner = value.get("data"), value.get("owner")
        if not (
            isinstance(data, list) and len(data) == 2 and data[1] == "base64" and isinstance(data[0], str)
        ):
            raise DecodeError('account data is not [<base64>, "base64"]')
        raw = b64decode(data[0], "account data")
        decoder = registry.account_decoder(owner) if isinstance(owner, str) else None
        if decoder is None:
            raise DecodeError(f"owned by {owner}, neither Pump.fun nor Raydium AMM v4")
        fee_bps, creator_fee_bps = self._curve_fee_bps.get(address, (0, 0))
        return decoder.parse_to_pool_state(
            address,
            raw,
            base_mint=self._followed.get(address) or "",
            fee_bps=fee_bps,
            creator_fee_bps=creator_fee_bps,
            ts_ms=self.slot_time_ms(slot, n.received_ms),
            slot=slot,
            received_ms=n.received_ms,
        )

    async def _send(self, topic: str, key: str, record: Swap | Launch | PoolState, n: Notification) -> None:
        COLLECTOR_LAG.labels(SOURCE).observe(max(0, n.received_ms - record.ts_ms) / 1000)
        if isinstance(record, Swap) and self._pairs.get(record.pool) != record.pair:
            self._pairs.put(record.pool, record.pair)
        fut = await self.sink.send(topic, key.encode(), encode(record))
        callback = None
        if self.on_delivered is not None and not isinstance(record, PoolState):
            hook, signature = self.on_delivered, record.signature

            def callback(seconds: float) -> None:
                hook(signature, seconds)

        observe_produced(fut, SOURCE, n.received_ns, callback)
        COLLECTOR_EVENTS.labels(SOURCE, topic).inc()

    async def _dead_letter(self, n: Notification, reason: str, source: str = "solana.logs") -> None:
        self.stats.dead_letters += 1
        COLLECTOR_EVENTS.labels(SOURCE, "dead_letter").inc()
        log.warning("chain collector: dead letter (%s)", reason[:200])
        letter = DeadLetter(
            topic=source,
            partition=-1,
            offset=-1,
            key_b64=base64.b64encode(n.subscription.name.encode()).decode(),
            value_b64=base64.b64encode(n.raw.encode()).decode(),
            reason=reason[:500],
            agent="chain_collector",
            ts_ms=int(time.time() * 1000),
        )
        await self.sink.send(DLQ_RAW.name, source.encode(), encode(letter))
