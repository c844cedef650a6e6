"""The risk agent: signals, fills, mint records, controls and strategy parameters -> orders | orders.rejected.

The single writer of its portfolio's risk state. It reads signals, fills, `raw.mints`, `control`,
`control.manual` and `strategy.params` from one subscription (every one of them a single partition, so
one worker owns them all), in their log order, applies each message at most once (`risk.apply`; offsets
recorded in the state), writes every decision to the `risk_decisions` audit table, then the state, then
publishes what it decided. Decisions use event time only. At the start of every batch it also applies the
kill switch's Redis fast path (`store.order_gate`), so a halt does not wait behind the batch's backlog. A
halt that starts, and a rebalance that ends, raise an alert (Redis, best effort).

Signals in event time: the signals of every features partition are merged in event time before they are
decided (`agents.signal_merge`), whichever worker's model sent them and when.

Fills before the next signal: a signal is decided only once the fills of every order decided before it
have been applied (`FillBarrier`, `risk.barrier`), as the backtest does. Decisions then never depend on how
fast the venue answered, so the same signals give the same orders in every run, crashes included. A fill
that has not come after `RISK_FILL_WAIT_MS` (a venue or a sink that is down) stops holding the signals
back: its order stays reserved, as before. Held signals are looked at again with the next input (a fill, a
signal, a control), and by a timer when none comes.

After an assignment every input resumes right after the last offset the recovered state applied (a resume
hook, `streams.compat.seeks`): Faust commits offsets on a timer, possibly before a batch's state is durable,
and the committed position can be far ahead of the state (signals held for fills are acked).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from faust.types import TP

from agents.context import WorkerContext
from agents.live_wallet import WalletFunds
from agents.outbox import Entry, OutboxSends
from agents.recovery import BatchRecovery
from agents.signal_merge import SignalMerge
from core import metrics
from core.errors import DecodeError, SolbotError, StaleOwner
from core.logs import correlation_of
from risk.alerts import new_halts, rebalance_ended
from risk.apply import apply_message, apply_record
from risk.audit import RiskDecisionRow, audit_row
from risk.barrier import awaited_fills, in_apply_order
from risk.controls import apply_control
from risk.exits import flatten
from risk.fencing import EPOCH_HEADER, OwnerLease
from risk.live_wallet import open_on_wallet
from risk.state import RiskState, equity_usdc, initial_state, mark_applied
from risk.valuation import pair_exposure_usdc
from store.db import DATABASE_DOWN, create_pool
from store.order_gate import FastControlReader
from store.risk import record_decisions
from store.risk_owner import check_epoch, claim_epoch, current_owner
from streams.codec import encode
from streams.compat.consumer import assignment, settled
from streams.compat.dead_letters import send_dead_letter
from streams.compat.seeks import ResumeAfter, ResumeAt, ResumePoint
from streams.compat.tables import FaustTable
from streams.compat.transactions import outputs_of
from streams.records import Order, Rejection
from streams.topics import RISK_INPUTS, SIGNALS
from tables.batch_view import BatchView

log = logging.getLogger(__name__)

SIGNALS_APPLIED = f"{SIGNALS.name}:0"  # the state's offsets key of `signals` (`risk.state.mark_applied`)
AUDIT_ATTEMPTS = 3  # per batch, with a short back-off; what still fails is kept for the next batch
AUDIT_BACKLOG_MAX = 100_000  # rows kept across batches while the database is down


class AuditWriter:
    """Writes decisions to `risk_decisions`, retrying; rows that cannot be written yet stay queued.

    Rows are idempotent by signal id (ON CONFLICT DO NOTHING), so writing one twice is harmless. With an
    owner `epoch`, rows are written only while it is the portfolio's current one (StaleOwner otherwise: the
    rows are dropped, they are a stale owner's).
    """

    def __init__(self, database_url: str | None, portfolio: str = "") -> None:
        self._url = database_url
        self._pool: asyncpg.Pool | None = None
        self.backlog: list[RiskDecisionRow] = []
        self.portfolio = portfolio
        self.epoch: int | None = None

    async def write(self, rows: list[RiskDecisionRow]) -> int:
        """Queue `rows` and try to write the queue; returns the rows left queued (0: all written)."""
        if self._url is None:
            return 0
        self.backlog.extend(rows)
        if len(self.backlog) > AUDIT_BACKLOG_MAX:
            dropped = len(self.backlog) - AUDIT_BACKLOG_MAX
            log.error("risk audit: database down too long, %d oldest decisions not recorded", dropped)
            del self.backlog[:dropped]
        for attempt in range(AUDIT_ATTEMPTS):
            if not self.backlog:
                return 0
            try:
                if self._pool is None:
                    self._pool = await create_pool(self._url)
                async with self._pool.acquire() as conn, conn.transaction():
                    if self.epoch is not None:
                        await check_epoch(conn, self.portfolio, self.epoch)
                    await record_decisions(conn, self.backlog)
                self.backlog.clear()
                return 0
            except StaleOwner:
                metrics.STALE_WRITES.labels("audit").inc()
                self.backlog.clear()
                raise
            except DATABASE_DOWN as exc:
                log.warning("risk audit write failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(0.05 * 2**attempt)
        return len(self.backlog)


class FillBarrier:
    """Orders a batch's inputs and holds signals back while fills they must see are outstanding.

    `order(events)` yields the priority inputs, then the fills and other inputs, then the signals held
    from earlier batches and this batch's signals in log order; before each signal it checks the state
    (`self.state`, kept current by the caller) and, if an order decided before it has no fill yet, yields
    None and keeps that signal and the ones after it for the next batch. An order outstanding for longer
    than `wait_ms` is given up on: it no longer holds signals back (in this process).
    """

    def __init__(self, wait_ms: float) -> None:
        self.wait_ms = wait_ms
        self.state: RiskState | None = None
        self.held: list[Any] = []
        self._waiting_since: float | None = None
        self._given_up: set[str] = set()
        self.gave_up = 0

    def _blocked(self, now: float) -> bool:
        state = self.state
        if state is None:
            return False
        outstanding = awaited_fills(state, self._given_up)
        if not outstanding:
            self._waiting_since = None
            return False
        if self._waiting_since is None:
            self._waiting_since = now
            return True
        if (now - self._waiting_since) * 1000.0 < self.wait_ms:
            return True
        log.warning(
            "risk: no fill after %d ms for %s; deciding the next signals without waiting",
            self.wait_ms,
            ", ".join(sorted(outstanding)),
        )
        self._given_up.update(outstanding)
        self.gave_up += len(outstanding)
        metrics.RISK_FILL_GIVE_UPS.inc(len(outstanding))
        self._waiting_since = None
        return False

    def would_release(self, now: float) -> bool:
        """Whether the next held signal would go now (no side effects; the timer asks before a batch)."""
        state = self.state
        if state is None or not awaited_fills(state, self._given_up):
            return True
        return self._waiting_since is not None and (now - self._waiting_since) * 1000.0 >= self.wait_ms

    def order(self, events: list[Any]) -> Any:
        now, signals = in_apply_order(events, _topic)
        yield from now
        queue, self.held = self.held + signals, []
        for i, event in enumerate(queue):
            if self._blocked(time.monotonic()):
                self.held = queue[i:]
                yield None
                return
            yield event
        if self.state is not None:  # the given-up orders that have since ended need no memory
            self._given_up &= set(self.state.pending)

    def forget(self) -> None:
        """The risk inputs went to another worker: what was held is theirs to read again."""
        self.held = []
        self._waiting_since = None


def _topic(event: Any) -> str:
    return str(event.message.topic)


def report_portfolio(state: RiskState) -> None:
    equity = equity_usdc(state)
    metrics.EQUITY.set(equity)
    peak = max(state.peak_equity_usdc, equity)
    metrics.DRAWDOWN.set((peak - equity) / peak if peak > 0 else 0.0)
    for pair in state.positions:
        metrics.EXPOSURE.labels(pair).set(pair_exposure_usdc(state, pair))


class RiskRunner:
    """The risk agent of one worker: its state table, fill barrier, audit writer and fast control path."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.limits = ctx.limits
        self.portfolio = settings.portfolio
        self.table = FaustTable(ctx.risk_table, SIGNALS.name)  # every input and the table: one partition
        self.audit = AuditWriter(settings.database_url, settings.portfolio)
        self.lease = OwnerLease(settings.session_timeout_s / 2)
        self.claim_pending = False  # assigned the risk inputs, epoch not claimed yet (database down)
        self.fast_control = FastControlReader(settings.redis_url, settings.portfolio)
        self.barrier = FillBarrier(settings.risk_fill_wait_ms)
        self.merge = SignalMerge(settings.topic_partitions, settings.risk_merge_idle_ms)
        self.decide_lock = asyncio.Lock()  # the agent and the timer: one batch at a time
        self.sends = OutboxSends()  # the saved outbox's decisions in flight (`agents.outbox`)
        self.faults = ctx.faults
        self.recovery = BatchRecovery(ctx, "risk", [spec.name for spec in RISK_INPUTS], self._forget)
        # Live: the state's balances come from the wallet on chain (risk/live_wallet.py), not paper's.
        self.wallet: WalletFunds | None = None

    def register(self) -> None:
        ctx = self.ctx

        async def decide_risk(stream: Any) -> None:
            """signals + fills + raw.mints + control -> orders / orders.rejected."""
            async for events in stream.take_events(500, within=ctx.settings.batch_within_s):
                async with self.decide_lock:
                    await self.decide_or_rewind(self.recovery.fresh(events))

        async def decide_held_signals() -> None:
            """Signals held for fills are looked at again when no input arrives: the market may have gone
            quiet, or the fill may never come (then `RISK_FILL_WAIT_MS` lets them through)."""
            await self.decide_held(time.monotonic())

        async def forget_held(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
            if any(tp.topic == SIGNALS.name for tp in revoked):
                self._forget_held()
                self.sends.forget()
                self.claim_pending = False
                self.lease.released()

        async def claim_on_assignment(sender: Any, assigned: set[Any], **kwargs: Any) -> None:
            if TP(SIGNALS.name, 0) in assigned and ctx.settings.database_url is not None:
                self.claim_pending = True
                try:
                    await self.claim_owner()
                except Exception as exc:  # Faust would crash the app: claimed at the next batch instead
                    log.warning("risk owner epoch not claimed yet (%s: %s)", type(exc).__name__, exc)

        ctx.app.agent(ctx.topics.risk_inputs_topic, name="agents.risk.decide_risk")(decide_risk)
        ctx.app.timer(interval=0.25, on_leader=False, name="agents.risk.decide_held_signals")(
            decide_held_signals
        )
        ctx.app.on_partitions_revoked.connect(forget_held)  # type: ignore[arg-type]  # Faust passes signal=
        ctx.app.on_partitions_assigned.connect(claim_on_assignment)  # type: ignore[arg-type]
        ctx.compat.hooks.register(
            "risk state offsets", [spec.name for spec in RISK_INPUTS], self.resume_points
        )

    async def decide_held(self, now: float) -> None:
        """Decide the held signals if their fills came or the wait is over, and send a saved outbox a failed
        batch left (its orders would otherwise wait for the next input, which a quiet market may never
        send); only on the worker that owns the signals: held signals of a revoked partition are the next
        owner's to read again."""
        held = bool(self.barrier.held) and self.barrier.would_release(now)
        if not held and not self.merge.ready(now * 1000.0) and not self.outbox_waiting():
            return
        if TP(SIGNALS.name, 0) not in assignment(self.ctx.app.consumer):
            self._forget_held()
            return
        if not settled(self.ctx.app):
            return  # the risk state is not recovered yet: the agent's first batch decides them
        async with self.decide_lock:
            await self.decide_or_rewind([])

    def outbox_waiting(self) -> bool:
        """Whether the saved risk state's outbox needs a batch: decisions not sent yet (a batch failed after
        saving it, or another worker saved them), sent and failed, or acked and still saved."""
        raw = self.table.data.get(self.portfolio)
        outbox: list[Entry] = (raw.get("outbox") if raw else None) or []
        return self.sends.waiting(outbox)

    async def decide_or_rewind(self, events: list[Any]) -> None:
        """Decide a batch; if it fails, nothing of it counts as applied: the risk inputs go back to the
        state's applied offsets and are read again (`agents.recovery`). Call holding `decide_lock`."""
        try:
            await self.decide_batch(events)
        except StaleOwner as exc:
            await self.fenced(events, exc)
        except Exception as exc:
            await self.recovery.failed(events, exc)
        else:
            self.recovery.succeeded()

    async def fenced(self, events: list[Any], exc: StaleOwner) -> None:
        """Another worker owns the risk state now: nothing of this batch is applied or acknowledged, nothing
        is claimed (only an assignment does that); the group takes the inputs away from this worker."""
        log.error("risk: %s; this worker decides nothing until the risk inputs are assigned to it again", exc)
        self._forget_held()
        self.ctx.compat.withhold_unapplied((e.message for e in events), {})
        await asyncio.sleep(1.0)

    async def claim_owner(self) -> None:
        """Claim the next owner epoch of the risk state (on assignment of the risk inputs)."""
        pool = await self.ctx.connections.pool("risk owner", max_size=1)
        epoch = await claim_epoch(pool, self.portfolio, self.ctx.settings.app_id, int(time.time() * 1000))
        self.lease.claimed(epoch, time.monotonic())
        self.audit.epoch = epoch
        self.claim_pending = False
        log.info("risk state of %s owned with epoch %d", self.portfolio, epoch)

    async def check_owner(self) -> None:
        """Before a batch writes: StaleOwner if a newer epoch was claimed (asked once per lease)."""
        if self.ctx.settings.database_url is None:
            return
        if self.claim_pending:
            await self.claim_owner()
            return
        if self.lease.epoch is None:
            # Assigned but not yet told so (the timers run between the two), or revoked: the table may hold
            # a standby's or an old assignment's copy; written now, it would roll the state back.
            raise StaleOwner(f"risk state of {self.portfolio}: no owner epoch claimed by this worker")
        now = time.monotonic()
        if not self.lease.due(now):
            return
        pool = await self.ctx.connections.pool("risk owner", max_size=1)
        current = await current_owner(pool, self.portfolio)
        if not self.lease.confirm(None if current is None else current[0], now):
            metrics.STALE_WRITES.labels("risk").inc()
            raise StaleOwner(f"risk state of {self.portfolio}: epoch {self.lease.epoch} is stale")

    async def _forget(self) -> None:
        self._forget_held()  # held signals were not applied: the rewind reads them again

    def _forget_held(self) -> None:
        self.barrier.forget()
        self.merge.forget()

    async def decide_batch(self, events: list[Any]) -> None:
        """One batch of risk inputs (and the signals held from earlier ones) -> decisions, state, outbox;
        under exactly-once all of it in the transaction of the risk inputs' task."""
        with outputs_of(TP(SIGNALS.name, 0)):
            await self._decide_batch(events)

    async def _decide_batch(self, events: list[Any]) -> None:
        limits, portfolio, barrier = self.limits, self.portfolio, self.barrier
        await self.check_owner()
        view: BatchView[RiskState] = BatchView(self.table, load=RiskState.from_dict, dump=RiskState.to_dict)
        state = view.get(portfolio) or await self.opening_state()
        barrier.state = state
        if state.outbox:  # acked ones out; the rest (a crash's, a failed send's) sent if not in flight
            await self.publish_outbox(state)
        halts_before, venues_before = dict(state.halts), dict(state.venue_halts)
        rebalance_before = dict(state.rebalance_result)
        decisions: list[tuple[Order | Rejection, float]] = []  # with the input's broker time (ms)
        metrics.EVENTS.labels("decide_risk").inc(len(events))
        # The fast path: a halt written to Redis applies before this batch, whatever backlog it holds.
        fast = await self.fast_control.latest()
        if fast is not None and apply_control(state, fast, limits):
            now = int(time.time() * 1000)
            log.warning(
                "control %s (%s) applied from the fast path",
                fast.id,
                fast.action,
                extra={"control_id": fast.id, "applied_ms": now},
            )
            decisions.extend((d, now * 1.0) for d in flatten(state, limits, now))
        # Controls go first: a halt must not wait behind the signals fetched with it. Fills and the other
        # inputs go next, then the signals, each once the fills it must see are in (`barrier`).
        # Signals in event time across the features partitions (`merge`), whoever's model sent them; their
        # offsets are recorded below, as far as nothing is held.
        signals_applied = state.offsets.get(SIGNALS_APPLIED)
        for event in barrier.order(self.merge.admit(events, signals_applied, time.monotonic() * 1000.0)):
            if event is None:
                break  # the rest of the signals wait for fills; they are kept for the next batch
            msg = event.message
            signal = msg.topic == SIGNALS.name
            offset = None if signal else msg.offset
            try:
                placed = self.merge.decoded(event) if signal else None  # decoded by the merge already
                now_ms = int(time.time() * 1000)
                if placed is None:
                    out = apply_message(state, msg.topic, msg.partition, offset, msg.value, now_ms, limits)
                else:
                    out = apply_record(state, msg.topic, msg.partition, offset, placed, now_ms, limits)
                decisions.extend((d, msg.timestamp * 1000.0) for d in out)
            except DecodeError as exc:
                await send_dead_letter(self.ctx.topics.dlq_signals_topic, event, str(exc), "decide_risk")
                if not signal:
                    mark_applied(state, msg.topic, msg.partition, msg.offset)
            barrier.state = state
        through = self.merge.applied_through(e.message.offset for e in barrier.held)
        if through is not None:
            state.offsets[SIGNALS_APPLIED] = through
        self.faults.fire("risk.decide")
        # Audit first: if the worker dies before the state is saved, the batch is decided again and the
        # rows re-written (idempotent); a database outage keeps them queued, not lost, while we trade on
        # (for as long as the owner's lease lasts: `check_owner` needs the database once per lease).
        left = await self.audit.write([audit_row(portfolio, d) for d, _ in decisions])
        if left:
            log.error("risk audit: %d decisions queued until the database is back", left)
        # The state (with its decisions in the outbox) is acknowledged by the broker before any decision is
        # published: a crash then loses nothing and never makes the batch be decided a second time. The
        # decisions of earlier batches not acked yet stay in it (`agents.outbox`).
        state.outbox += [self._outbox_entry(d) for d, _ in decisions]
        # Asked again (a no-op within the lease): a worker paused after the first check and resumed beyond
        # its session must not write the state, even when the batch decided nothing the audit would fence.
        await self.check_owner()
        state.owner_epoch = self.lease.epoch or 0
        view.put(portfolio, state, 0)  # every input and the table have one partition
        await asyncio.gather(*view.flush())
        self.sends.saved(state.outbox)
        if decisions:
            self.faults.fire("risk.publish")
        # Not awaited: the next batch is decided while the broker acks these (dropped from the outbox then).
        await self.publish_outbox(state)
        _report(decisions)
        await self._alert(halts_before, venues_before, rebalance_before, state)
        report_portfolio(state)

    async def opening_state(self) -> RiskState:
        """A fresh state: the paper wallet, or live the wallet's on-chain balances (none when unreadable:
        nothing is bought until a reconciliation reads them)."""
        state = initial_state(self.portfolio, self.limits)
        if self.wallet is None:
            return state
        try:
            funds = await self.wallet.read()
        except (SolbotError, OSError) as exc:
            log.error("live wallet balances not read (%s); the risk state opens empty", exc)
            funds = {}
        log.warning("risk state opens on the live wallet's balances: %s", funds)
        return open_on_wallet(state, funds)

    async def _alert(
        self,
        halts_before: dict[str, str],
        venues_before: dict[str, str],
        rebalance_before: dict[str, Any],
        state: RiskState,
    ) -> None:
        """A new halt raises a critical alert, an ended rebalance its own (Redis, best effort)."""
        alert = self.ctx.connections.alert
        halts = new_halts(halts_before, venues_before, state)
        await alert((("critical", code, message) for code, message in halts), "risk")
        ended = rebalance_ended(rebalance_before, state)
        if ended is not None:
            level, code, message = ended
            log.log(logging.INFO if level == "info" else logging.WARNING, "%s: %s", code, message)
            await alert([(level, code, message)], "risk")

    def _outbox_entry(self, decision: Order | Rejection) -> Entry:
        topics = self.ctx.topics
        topic = topics.orders_topic if isinstance(decision, Order) else topics.rejected_topic
        entry = {"topic": topic.get_topic_name(), "value": encode(decision).decode()}
        if self.lease.epoch is not None:
            entry["epoch"] = str(self.lease.epoch)
        return entry

    async def publish_outbox(self, state: RiskState) -> None:
        """Drop the entries the broker acked from the state's outbox and send the ones not in flight
        verbatim (ids make repeats safe), without waiting for the broker's acks."""
        state.outbox, failed = self.sends.settle(state.outbox)
        for exc in failed:
            log.warning("risk outbox: a decision not published (%s: %s); sent again", type(exc).__name__, exc)
        await self.sends.send(state.outbox, self._send)

    async def _send(self, entry: Entry) -> asyncio.Future[Any]:
        topics = self.ctx.topics
        orders = topics.orders_topic.get_topic_name()
        topic = topics.orders_topic if entry["topic"] == orders else topics.rejected_topic
        epoch = entry.get("epoch")
        headers = {EPOCH_HEADER: epoch.encode()} if epoch else None
        sent = await topic.send(key=self.portfolio.encode(), value=entry["value"].encode(), headers=headers)
        return asyncio.ensure_future(sent)  # Faust's FutureMessage: a future already

    async def resume_points(
        self, assigned: Sequence[TP], committed: Mapping[TP, int | None]
    ) -> dict[TP, ResumePoint]:
        """The resume hook: each risk input resumes right after the last offset the recovered state applied
        (sought to that offset itself, which the state then skips as applied); one it never applied from
        stays at the group's committed offset."""
        raw = self.table.data.get(self.portfolio)
        if raw is None:
            return {}
        offsets = raw.get("offsets", {})
        points: dict[TP, ResumePoint] = {}
        for tp in assigned:
            applied = offsets.get(f"{tp.topic}:{tp.partition}")
            if applied is not None:  # -1: signals held since the first (`agents.signal_merge`)
                points[tp] = ResumeAfter(int(applied)) if int(applied) >= 0 else ResumeAt(0)
        return points


def _report(decisions: list[tuple[Order | Rejection, float]]) -> None:
    for decision, input_ms in decisions:
        approved = isinstance(decision, Order)
        metrics.observe_hop("signals_to_orders", input_ms)
        metrics.ORDERS.labels("approved" if approved else "rejected").inc()
        log.info(
            "decision",
            extra={
                "correlation_id": correlation_of(decision.id),
                "pair": decision.pair,
                "order_id": decision.id if approved else None,
                "reason": decision.reason,
            },
        )
        if approved:
            metrics.DECISION_LATENCY.observe(max(0.0, time.time() - decision.origin_ms / 1000.0))
