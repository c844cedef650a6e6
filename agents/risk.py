"""The risk agent: signals, fills, mint records, controls and strategy parameters -> orders | orders.rejected.

The single writer of its portfolio's risk state. It reads signals, fills, `raw.mints`, `control`,
`control.manual` and `strategy.params` from one subscription (every one of them a single partition, so
one worker owns them all), in their log order, applies each message at most once (offsets recorded in
the state), writes every decision to the `risk_decisions` audit table, then the state, then publishes
what it decided. Decisions use event time only. At the start of every batch it also applies the kill
switch's Redis fast path (`store.order_gate`), so a halt does not wait behind the batch's backlog. A halt
that starts, and a rebalance that ends, raise an alert (Redis, best effort).

Fills before the next signal: a signal is decided only once the fills of every order decided before it
have been applied (`FillBarrier`), as the backtest does. Decisions then never depend on how fast the venue
answered, so the same signals give the same orders in every run, crashes included. A fill that has not
come after `RISK_FILL_WAIT_MS` (a venue or a sink that is down) stops holding the signals back: its order
stays reserved, as before. Held signals are looked at again with the next input (a fill, a signal, a
control), and by a timer when none comes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from faust.types import TP
from redis.exceptions import RedisError

from agents.dead_letters import send_dead_letter
from core import metrics
from core.errors import DecodeError, ServiceError
from core.logs import correlation_of
from risk import apply as risk_apply
from risk.alerts import new_halts, rebalance_ended
from risk.audit import RiskDecisionRow, audit_row
from risk.barrier import awaited_fills, in_apply_order
from risk.controls import apply_control
from risk.exits import flatten
from risk.limits import RiskLimits
from risk.state import RiskState, equity_usdc, initial_state, mark_applied
from risk.valuation import pair_exposure_usdc
from store.alerts import Level
from store.db import create_pool
from store.order_gate import FastControlReader
from store.risk import record_decisions
from streams.app import app, dlq_signals_topic, orders_topic, rejected_topic, settings
from streams.broker_compat import fetch_read_offsets
from streams.codec import encode
from streams.records import Order, Rejection
from streams.topics import CONTROL, CONTROL_MANUAL, FILLS, RAW_MINTS, SIGNALS, STRATEGY_PARAMS
from tables.batch_view import BatchView, underlying
from tables.risk import portfolio_to_risk_state

log = logging.getLogger(__name__)

limits = RiskLimits.from_settings(settings)
risk_inputs_topic = app.topic(
    SIGNALS.name,
    FILLS.name,
    RAW_MINTS.name,
    CONTROL.name,
    CONTROL_MANUAL.name,
    STRATEGY_PARAMS.name,
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
AUDIT_ATTEMPTS = 3  # per batch, with a short back-off; what still fails is kept for the next batch
AUDIT_BACKLOG_MAX = 100_000  # rows kept across batches while the database is down


def load_state(view: BatchView[RiskState], portfolio: str) -> RiskState:
    return view.get(portfolio) or initial_state(portfolio, limits)


def apply_message(
    state: RiskState,
    topic: str,
    partition: int,
    offset: int,
    value: bytes | None,
    now_ms: int,
    limits: RiskLimits = limits,
) -> list[Order | Rejection]:
    """`risk.apply.apply_message` with this worker's limits (from its settings) unless given others."""
    return risk_apply.apply_message(state, topic, partition, offset, value, now_ms, limits)


class AuditWriter:
    """Writes decisions to `risk_decisions`, retrying; rows that cannot be written yet stay queued.

    Rows are idempotent by signal id (ON CONFLICT DO NOTHING), so writing one twice is harmless.
    """

    def __init__(self, database_url: str | None) -> None:
        self._url = database_url
        self._pool: asyncpg.Pool | None = None
        self.backlog: list[RiskDecisionRow] = []

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
                async with self._pool.acquire() as conn:
                    await record_decisions(conn, self.backlog)
                self.backlog.clear()
                return 0
            except (
                TimeoutError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                OSError,
                ServiceError,
            ) as exc:
                log.warning("risk audit write failed (attempt %d): %s", attempt + 1, exc)
                await asyncio.sleep(0.05 * 2**attempt)
        return len(self.backlog)


_audit = AuditWriter(settings.database_url)
_redis: aioredis.Redis | None = None
_fast_control = FastControlReader(settings.redis_url, settings.portfolio)


async def raise_alerts(alerts: list[tuple[str, str]], level: Level = "critical") -> None:
    """Best effort: an alert per new halt, if a Redis URL is configured; a Redis outage only logs."""
    global _redis
    if not alerts or settings.redis_url is None:
        return
    from store.alerts import raise_alert

    try:
        if _redis is None:
            _redis = aioredis.Redis.from_url(settings.redis_url)
        for code, message in alerts:
            await raise_alert(_redis, level, code, message)
    except (RedisError, OSError) as exc:
        log.warning("risk alerts not raised: %s", exc)


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
        state = self.state
        if state is not None:
            events = [e for e in events if not fetched_before_seek(state, *_position(e))]
            _settle_all[0] = False
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


def _position(event: Any) -> tuple[str, int, int]:
    msg = event.message
    return msg.topic, msg.partition, msg.offset


def _topic(event: Any) -> str:
    return str(event.message.topic)


_barrier = FillBarrier(settings.risk_fill_wait_ms)


@app.on_partitions_revoked.connect  # type: ignore[arg-type]  # Faust passes `signal=` in kwargs
async def _forget_held(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
    if any(tp.topic == SIGNALS.name for tp in revoked):
        _barrier.forget()


@app.agent(risk_inputs_topic)
async def decide_risk(stream: Any) -> None:
    """signals + fills + raw.mints + control -> orders / orders.rejected."""
    async for events in stream.take_events(500, within=settings.batch_within_s):
        async with _decide_lock:
            await decide_batch(events)


@app.timer(interval=0.25, on_leader=False)
async def decide_held_signals() -> None:
    """Signals held for fills are looked at again when no input arrives: the market may have gone quiet,
    or the fill may never come (then `RISK_FILL_WAIT_MS` lets them through). Only on the worker that owns
    the signals: held signals of a revoked partition are the next owner's to read again."""
    if not _barrier.held or not _barrier.would_release(time.monotonic()):
        return
    if TP(SIGNALS.name, 0) not in set(app.consumer.assignment()):
        _barrier.forget()
        return
    async with _decide_lock:
        await decide_batch([])


_decide_lock = asyncio.Lock()  # the agent and the timer above: one batch at a time


async def decide_batch(events: list[Any]) -> None:
    """One batch of risk inputs (and the signals held from earlier ones) -> decisions, state, outbox."""
    view: BatchView[RiskState] = BatchView(
        underlying(portfolio_to_risk_state), load=RiskState.from_dict, dump=RiskState.to_dict
    )
    state = load_state(view, settings.portfolio)
    _barrier.state = state
    if state.outbox:  # saved with the state before a crash, maybe never published: send them again
        await publish_outbox(state)
    halts_before, venues_before = dict(state.halts), dict(state.venue_halts)
    rebalance_before = dict(state.rebalance_result)
    decisions: list[tuple[Order | Rejection, float]] = []  # with the input's broker time (ms)
    metrics.EVENTS.labels("decide_risk").inc(len(events))
    # The fast path: a halt written to Redis applies before this batch, whatever backlog it holds.
    fast = await _fast_control.latest()
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
    # inputs go next, then the signals, each once the fills it must see are in (`_barrier`).
    for event in _barrier.order(events):
        if event is None:
            break  # the rest of the signals wait for fills; they are kept for the next batch
        msg = event.message
        try:
            out = apply_message(
                state, msg.topic, msg.partition, msg.offset, msg.value, int(time.time() * 1000)
            )
            decisions.extend((d, msg.timestamp * 1000.0) for d in out)
        except DecodeError as exc:
            await send_dead_letter(dlq_signals_topic, event, str(exc), "decide_risk")
            mark_applied(state, msg.topic, msg.partition, msg.offset)
        _barrier.state = state
    await reseek_settling()
    # Audit first: if the worker dies before the state is saved, the batch is decided again and the
    # rows re-written (idempotent); a database outage keeps them queued, not lost, while we trade on.
    left = await _audit.write([audit_row(settings.portfolio, d) for d, _ in decisions])
    if left:
        log.error("risk audit: %d decisions queued until the database is back", left)
    # The state (with its decisions in the outbox) is acknowledged by the broker before any decision is
    # published: a crash then loses nothing and never makes the batch be decided a second time.
    state.outbox = [_outbox_entry(d) for d, _ in decisions]
    view.put(settings.portfolio, state, 0)  # every input and the table have one partition
    await asyncio.gather(*view.flush())
    await publish_outbox(state)
    if decisions:
        view.put(settings.portfolio, state, 0)  # the outbox is empty again
        view.flush()
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
    await raise_alerts(new_halts(halts_before, venues_before, state))
    ended = rebalance_ended(rebalance_before, state)
    if ended is not None:
        level, code, message = ended
        log.log(logging.INFO if level == "info" else logging.WARNING, "%s: %s", code, message)
        await raise_alerts([(code, message)], level)
    report_portfolio(state)


def _outbox_entry(decision: Order | Rejection) -> dict[str, str]:
    topic = orders_topic if isinstance(decision, Order) else rejected_topic
    return {"topic": topic.get_topic_name(), "value": encode(decision).decode()}


async def publish_outbox(state: RiskState) -> None:
    """Send the state's outbox verbatim, wait for the broker's acks, then empty it (ids make repeats safe)."""
    key = settings.portfolio.encode()
    sends = []
    for entry in state.outbox:
        topic = orders_topic if entry["topic"] == orders_topic.get_topic_name() else rejected_topic
        sends.append(await topic.send(key=key, value=entry["value"].encode()))
    await asyncio.gather(*sends)
    state.outbox = []


def resume_offsets(assigned: list[Any]) -> dict[Any, int]:
    """Where each assigned risk input must resume: one past the last offset the recovered state applied.

    Faust commits a batch's offsets on a timer, possibly before the batch's state is durable; resuming from
    the state's own offsets means a crash can neither skip nor re-apply an input.
    """
    raw = underlying(portfolio_to_risk_state).data.get(settings.portfolio)
    if raw is None:
        return {}
    offsets = raw.get("offsets", {})
    names = set(risk_inputs_topic.topics)
    out = {}
    for tp in assigned:
        applied = offsets.get(f"{tp.topic}:{tp.partition}")
        if tp.topic in names and applied is not None:
            out[tp] = int(applied) + 1
    return out


# Risk inputs whose position is not settled since this worker was (re)assigned them. Faust may resume the
# flow before the worker's seek to the risk state's offsets (`resume_offsets`) has run, so records from
# the group's committed position reach the agent first; that position can be far ahead of the state
# (signals held for fills are acked), and applied, those records would put later signals before earlier
# ones. Until a record at the state's next offset arrives, a record beyond it is dropped: the seek brings
# it again, in order. `MARKER_SLACK`: under transactions the next offset may be a commit marker.
_settling: set[tuple[str, int]] = set()
_settle_all = [True]  # a fresh process: every risk input settles first
MARKER_SLACK = 1
# Where a settling input must be read from again. The worker's seek alone is not enough: Faust's fetch
# loop may still be handing over records fetched before it, and each one moves its read offset past the
# seek, so the records the seek brings back are dropped as already read (found in the crash test: a
# restarted worker decided nothing). Seeking again from the agent, until the next offset arrives, heals it.
_reseek: dict[tuple[str, int], int] = {}
_last_reseek: dict[tuple[str, int], float] = {}
RESEEK_INTERVAL_S = 0.2


async def reseek_settling() -> None:
    """Seek each input that delivered a record beyond the state's next offset back to that offset."""
    now, owned = time.monotonic(), set(app.consumer.assignment())
    for (topic, partition), offset in list(_reseek.items()):
        del _reseek[(topic, partition)]
        if TP(topic, partition) not in owned:
            continue
        if now - _last_reseek.get((topic, partition), 0.0) < RESEEK_INTERVAL_S:
            continue
        _last_reseek[(topic, partition)] = now
        await app.consumer.seek(TP(topic, partition), offset)
        log.info(
            "risk input read again from the risk state's offset",
            extra={"topic": topic, "partition": partition, "offset": offset},
        )


@app.timer(interval=1.0, on_leader=False)
async def watch_settling() -> None:
    """Seek again where the fetch loop overwrote the seek and nothing more arrives to show it.

    The agent notices an overwritten seek by the records beyond it; at the end of a stream there are
    none, so once a second the fetch loop's read offset of each settling input is compared with the
    state's. A false alarm (records fetched but not yet decided) only makes them be read twice.
    """
    raw = underlying(portfolio_to_risk_state).data.get(settings.portfolio)
    if raw is None or not _settling:
        return
    offsets = raw.get("offsets", {})
    read = fetch_read_offsets(app.consumer)
    owned = set(app.consumer.assignment())
    for topic, partition in list(_settling):
        applied, tp = offsets.get(f"{topic}:{partition}"), TP(topic, partition)
        at = read.get(tp)
        if tp in owned and applied is not None and at is not None and at > applied + 1 + MARKER_SLACK:
            _reseek[(topic, partition)] = int(applied) + 1
    await reseek_settling()


@app.on_partitions_assigned.connect  # type: ignore[arg-type]  # Faust passes `signal=` in kwargs
async def _unsettle(sender: Any, assigned: set[Any], **kwargs: Any) -> None:
    names = set(risk_inputs_topic.topics)
    _settling.update((tp.topic, tp.partition) for tp in assigned if tp.topic in names)
    _reseek.clear()


def fetched_before_seek(state: RiskState, topic: str, partition: int, offset: int) -> bool:
    """True for a record of a risk input that arrived ahead of where the risk state says to resume."""
    tp = (topic, partition)
    if tp not in _settling and not _settle_all[0]:
        return False
    applied = state.offsets.get(f"{topic}:{partition}")
    if applied is None:  # nothing applied from it yet: any position is a start
        _settling.discard(tp)
        return False
    if offset > applied + 1 + MARKER_SLACK:
        _settling.add(tp)
        _reseek[tp] = applied + 1
        return True
    if offset > applied:
        _settling.discard(tp)  # the resumed position is here: from now on, log order
    return False


def report_portfolio(state: RiskState) -> None:
    equity = equity_usdc(state)
    metrics.EQUITY.set(equity)
    peak = max(state.peak_equity_usdc, equity)
    metrics.DRAWDOWN.set((peak - equity) / peak if peak > 0 else 0.0)
    for pair in state.positions:
        metrics.EXPOSURE.labels(pair).set(pair_exposure_usdc(state, pair))
