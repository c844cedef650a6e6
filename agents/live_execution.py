"""Live execution: risk-approved orders signed with the keystore's key, sent, and booked from what landed.

The paper venue settles inside the execution sink's Postgres transaction; a live order cannot (network
round trips would hold the sink's row locks for seconds, and the life cycle's own writes would wait on the
sink's uncommitted order row). So a batch is (store.live_orders):

1. recorded: orders `new`, their payloads and notionals, refusals (caps, halt) and the consumed offset,
   in one transaction, before anything is signed;
2. driven: each order through `venues.lifecycle.OrderLifecycle` (sign and store, send, confirm), which
   asks the halt gate before every send, on the venue its pool calls for (`venues.registry.live_venue_for`:
   a Pump.fun bonding curve through the program itself, everything else through Jupiter's route);
3. booked: the fill from the landed transaction's token balances (`venues.landed`), not from the quote.

At start, orders recorded but not booked are driven again (the life cycle finds their transactions by
signature and memo) before anything new is consumed, and the database's balances are reconciled with the
chain's, then every `live_reconcile_s`. With `dry_run`, each order is built, signed and simulated, and
booked as failed with the simulation's word; nothing is ever sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import asyncpg
from solders.keypair import Keypair

from agents.context import WorkerContext
from agents.live_wallet import WalletFunds
from chain.rpc import RpcClient
from core import metrics
from core.config import endpoint
from core.errors import ConfigError, VenueError
from core.settings import Settings
from market.balances import compare_balances
from market.fills import failed_fill, input_mint
from market.tokens import WSOL
from store.execution import ExecutionSink
from store.latest_prices import read_prices
from store.live_orders import LiveOrderStore, Recorded
from store.order_gate import HALTED, FastControlReader
from streams.records import Fill, Order
from venues.interface import EMPTY_WALLET, Landing, Refused, TransactionVenue, Venue
from venues.landed import landing_from_record
from venues.lifecycle import CONFIRMED, FILLED, LifecycleConfig, OrderLifecycle
from venues.live_caps import cap_refusal, notional_usdc
from venues.registry import VenueName, live_venue_for

log = logging.getLogger(__name__)

DRY_RUN = "dry_run"


class HaltGate:
    """The kill switch for live sends: a buy is refused while the fast control (Redis, read at most every
    100 ms) says halt, so a halt stops sends within a second of `solbot halt`."""

    def __init__(self, reader: FastControlReader) -> None:
        self.reader = reader

    async def __call__(self, order: Order) -> str | None:
        control = await self.reader.latest()
        if control is None or control.action != "halt" or order.side != "buy":
            return None
        return f"{HALTED}: {control.reason or 'operator'}"


class LiveExecution:
    """One worker's live execution: the store, the venue, the life cycle and the reconciliations."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        sink: ExecutionSink,
        venue: TransactionVenue,
        *,
        gate: HaltGate | None = None,
        config: LifecycleConfig | None = None,
        dry_run: bool = False,
        curves: TransactionVenue | None = None,
    ) -> None:
        """`venue` takes every order (Jupiter's route, or as Jito bundles); `curves`, when given, the
        orders on a Pump.fun bonding curve still trading. Each has its own life cycle (and breaker)."""
        self.settings = settings
        self.store = LiveOrderStore(pool, sink)
        self.sink = sink
        self.venue = venue
        self.rpc: RpcClient = venue.rpc
        self.gate = gate
        self.dry_run = dry_run
        self.lifecycle = OrderLifecycle(pool, venue, config, portfolio=sink.portfolio, gate=gate)
        self.curve_lifecycle = (
            None
            if curves is None
            else OrderLifecycle(pool, curves, config, portfolio=sink.portfolio, gate=gate)
        )
        self.owner = venue.address() or ""
        self.funds = WalletFunds(settings, self.owner, self.rpc)
        if curves is not None and curves.address() != self.owner:
            raise ConfigError("the curve venue must sign with the same wallet as the main venue")
        self.mismatches = 0
        self.sol_usdc: float | None = None
        self._driving: set[str] = set()  # order ids a batch is driving now

    # -- start ---------------------------------------------------------------------------------------------

    async def start(self) -> list[Fill]:
        """Seed or reconcile the balances, then finish every order a previous run left in flight."""
        chain = await self.funds.read()
        await self.sink.ensure_wallet(chain)  # only when the portfolio has no balances yet
        fills = await self.recover()
        await self.reconcile("start")
        return fills

    async def recover(self) -> list[Fill]:
        """Drive and book the orders recorded but not booked (a restart mid-flight), oldest first."""
        pending = [item for item in await self.store.unbooked() if item.order.id not in self._driving]
        if pending:
            log.warning("re-driving %d live order(s) left in flight", len(pending))
        fills = []
        for item in pending:
            fill = await (self.simulate(item.order) if item.dry_run else self.drive(item.order))
            if await self.store.book(item.order, fill):
                fills.append(fill)
        return fills

    # -- batches -------------------------------------------------------------------------------------------

    async def process(
        self, topic: str, partition: int, batch: Sequence[tuple[int, Order]], now_ms: int
    ) -> list[Fill]:
        """Record the batch, drive its admitted orders concurrently, book each outcome; the new fills."""
        await self._refresh_sol_price()
        recorded: Recorded = await self.store.record(
            topic, partition, batch, now_ms, admit=self.admit, dry_run=self.dry_run
        )
        for fill in recorded.refused:
            metrics.LIVE_SENDS_REFUSED.labels(fill.reason.split(":")[0]).inc()
        drive = self.simulate if self.dry_run else self.drive
        driving = {order.id for order in recorded.admitted}
        self._driving |= driving  # the periodic recovery leaves these to this batch
        try:
            outcomes = await asyncio.gather(*(drive(o) for o in recorded.admitted), return_exceptions=True)
        finally:
            self._driving -= driving
        fills = list(recorded.refused)
        for order, outcome in zip(recorded.admitted, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # The node stayed unreachable: the order stays recorded and in flight; the next
                # reconciliation (or start) drives it again from what the life cycle stored.
                log.error("live order %s left in flight: %s", order.id, outcome)
                continue
            if await self.store.book(order, outcome):
                fills.append(outcome)
        return fills

    def admit(self, order: Order, day_total: float) -> tuple[str | None, float]:
        """The caps, before anything is signed: (refusal or None, the order's notional in USDC)."""
        notional = notional_usdc(order, self.sol_usdc)  # SOL/USDC itself needs no conversion
        s = self.settings
        return cap_refusal(notional, day_total, s.live_max_order_usdc, s.live_max_day_usdc), notional or 0.0

    async def _refresh_sol_price(self) -> None:
        """SOL/USDC for valuing SOL-quoted orders, from the prices the pipeline publishes to Redis."""
        url = self.settings.redis_url
        if url is None:
            return
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(url)
        try:
            self.sol_usdc = (await read_prices(client)).get("SOL/USDC", self.sol_usdc)
        except OSError as exc:
            log.warning("SOL/USDC price not read: %s", exc)
        finally:
            await client.aclose()

    # -- one order -----------------------------------------------------------------------------------------

    def route(self, order: Order) -> tuple[TransactionVenue, OrderLifecycle]:
        """The venue and life cycle that take `order`. A re-drive after a restart routes the same way: the
        route depends only on the order's pool state, which the store keeps with the order."""
        curves = self.curve_lifecycle
        if curves is not None and live_venue_for(order.pool_state) is VenueName.PUMPFUN:
            return curves.venue, curves
        return self.venue, self.lifecycle

    async def drive(self, order: Order) -> Fill:
        """The order's terminal fill: through the life cycle, booked from what landed."""
        venue, lifecycle = self.route(order)
        outcome = await lifecycle.run(order)
        now_ms = int(time.time() * 1000)
        if outcome.status not in (CONFIRMED, FILLED):
            return failed_fill(order, now_ms, outcome.reason or outcome.status)
        landing = await self.landing(order, outcome.signature)
        return venue.finalize(order, landing, now_ms)

    async def landing(self, order: Order, signature: str) -> Landing:
        """What the transaction moved for the wallet, from its meta; the fee valued in the quote."""
        record = None
        for attempt in range(40):
            try:
                record = await self.rpc.get_transaction_record(signature)
            except VenueError as exc:
                log.info("getTransaction %s: %s", signature, type(exc).__name__)
            if record is not None:
                break
            await asyncio.sleep(min(2.0, 0.1 * 2 ** min(attempt, 5)))
        if record is None:
            raise VenueError(f"order {order.id}: landed transaction {signature} not readable")
        spent = input_mint(order)
        state = order.pool_state
        received = state.base_mint if spent == state.quote_mint else state.quote_mint
        landing = landing_from_record(record, signature, self.owner, spent, received)
        return Landing(
            landing.signature,
            landing.in_amount,
            landing.out_amount,
            fee_in_quote(order, record.fee),
            fee_lamports=landing.fee_lamports,
        )

    async def simulate(self, order: Order) -> Fill:
        """Dry run: build, sign and simulate; booked as failed with the simulation's word, never sent."""
        now_ms = int(time.time() * 1000)
        try:
            prepared = await self.route(order)[0].prepare(order, EMPTY_WALLET)
        except VenueError as exc:
            return failed_fill(order, now_ms, f"{DRY_RUN}: venue_unavailable: {type(exc).__name__}")
        if isinstance(prepared, Refused):
            return failed_fill(order, now_ms, f"{DRY_RUN}: {prepared.reason}")
        sim = await self.rpc.simulate_transaction(prepared.raw_base64, sig_verify=True)
        verdict = (
            f"simulation failed: {sim.err}" if sim.err is not None else f"ok, {sim.units_consumed} units"
        )
        return failed_fill(order, now_ms, f"{DRY_RUN}: {verdict} ({prepared.signature})")

    # -- reconciliation ------------------------------------------------------------------------------------

    async def reconcile(self, why: str) -> list[str]:
        """The database's balances against the chain's; each difference logged, counted and alerted. The
        chain's are the wallet's funds as risk reads them: every token account, and the native SOL above
        the fee reserve counted as SOL (native swaps move it, and every fill books its network fee)."""
        chain = await self.funds.read()
        db = await self.sink.balances()
        differences = compare_balances(db, chain)
        if differences:
            self.mismatches += 1
            metrics.LIVE_CHAIN_MISMATCHES.inc()
            log.error(
                "live reconciliation (%s): the database differs from the chain: %s",
                why,
                "; ".join(differences),
            )
        else:
            log.info("live reconciliation (%s): the database equals the chain", why)
        return differences

    async def reconcile_forever(self) -> None:
        """Every `live_reconcile_s`: finish orders left in flight, then reconcile."""
        while True:
            await asyncio.sleep(self.settings.live_reconcile_s)
            try:
                await self.recover()
                await self.reconcile("periodic")
            except (VenueError, OSError, asyncpg.PostgresError) as exc:
                log.warning("live reconciliation skipped: %s", exc)


def fee_in_quote(order: Order, fee_lamports: int) -> int:
    """The network fee (lamports) in the order's quote units: as is for a SOL quote, at the pool's price
    for a SOL base, else 0 (the fee is paid in SOL and not part of the swap's quote amounts)."""
    state = order.pool_state
    if state.quote_mint == WSOL:
        return fee_lamports
    if state.base_mint == WSOL and state.base_reserve > 0:
        return fee_lamports * state.quote_reserve // state.base_reserve
    return 0


async def start_live(ctx: WorkerContext, keypair: Keypair) -> LiveExecution:
    """The worker's live execution on the settings' venue (Jupiter's route through `jupiter_url`, sent to
    the RPC node or, with `live_venue = "jito"`, as a Jito bundle) and, for orders on a Pump.fun bonding
    curve, the Pump.fun program's own instructions sent to the RPC node; started: its balances seeded or
    reconciled and the orders a previous run left in flight finished."""
    from venues.registry import VenueContext, build_venue

    settings = ctx.settings
    pool = await ctx.connections.pool("execution")
    rpc = RpcClient(settings.solana_rpc_url)
    context = VenueContext(rpc=rpc, keypair=keypair)
    venue = signing(build_venue(VenueName.JUPITER, settings, context))
    curves = signing(build_venue(VenueName.PUMPFUN, settings, context))
    sink = ExecutionSink(
        pool, consumer=f"{settings.app_id}.execution", portfolio=settings.portfolio, venue=venue
    )
    reader = FastControlReader(settings.redis_url, settings.portfolio) if settings.redis_url else None
    live = LiveExecution(
        settings,
        pool,
        sink,
        venue,
        gate=HaltGate(reader) if reader else None,
        dry_run=settings.live_dry_run,
        curves=curves,
    )
    await venue.start()
    await curves.start()
    booked = await live.start()
    log.warning(
        "LIVE trading as %s on %s via %s%s: %d order(s) left in flight finished",
        live.owner, endpoint(settings.solana_rpc_url), settings.live_venue,
        " (dry run: nothing is sent)" if live.dry_run else "", len(booked),
    )  # fmt: skip
    return live


def signing(venue: Venue) -> TransactionVenue:
    """`venue` as one that signs transactions; ConfigError for one that cannot trade live (paper)."""
    if not isinstance(venue, TransactionVenue):
        raise ConfigError(f"venue {venue.name} does not sign transactions")
    return venue


def unlock_wallet(settings: Settings, passphrase_fd: int) -> Keypair:
    """The keystore's key, unlocked once at start with the passphrase read from `passphrase_fd`."""
    from wallet import keystore

    path = settings.wallet_path or settings.data_dir / "wallet.json"
    return keystore.unlock(path, keystore.read_passphrase(fd=passphrase_fd))
