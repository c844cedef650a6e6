"""The risk state reconciled with the database at start and every `RECONCILE_INTERVAL_S` (risk/reconcile.py).

Run by a timer on the worker that owns the risk inputs (the risk state's single writer), holding the risk
agent's batch lock, so a repair is written like a batch: in the state, saved through the changelog (under
exactly-once in the transaction of the risk inputs' task). Every difference is logged, counted
(`solbot_reconcile_differences_total{kind,action}`) and, when acted on, raised as an alert. The paper chain
is brought to the database's balances when they differ (the database is the record).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from faust.types import TP

from agents.context import WorkerContext
from agents.risk import RiskRunner
from core import metrics
from core.errors import SolbotError
from risk.fills import apply_fill
from risk.live_wallet import sync_balances
from risk.reconcile import OrderRecord, Reconciliation, reconcile
from risk.state import RiskState
from store.portfolio import read_positions
from store.reconcile import order_outcomes
from streams.compat.consumer import assignment, settled
from streams.compat.transactions import outputs_of
from streams.topics import SIGNALS
from tables.batch_view import BatchView

log = logging.getLogger(__name__)

FIRST_RUN_S = 10.0  # after start: once the risk state is recovered and the partitions are assigned


class RiskReconciler:
    """Reconciles the risk state of `risk` (and the paper chain, through `repair_chain`) on a timer."""

    def __init__(
        self, ctx: WorkerContext, risk: RiskRunner, repair_chain: Callable[[], Awaitable[int]] | None = None
    ) -> None:
        self.ctx = ctx
        self.risk = risk
        self.repair_chain = repair_chain
        self.suspects: dict[str, float] = {}
        self.next_due = time.monotonic() + FIRST_RUN_S
        self.last: Reconciliation | None = None

    def register(self) -> None:
        self.ctx.app.timer(interval=1.0, on_leader=False, name="agents.reconcile.reconcile_risk")(self.tick)

    async def tick(self) -> None:
        now = time.monotonic()
        if now < self.next_due or self.ctx.settings.database_url is None:
            return
        self.next_due = now + self.ctx.settings.reconcile_interval_s
        if TP(SIGNALS.name, 0) not in assignment(self.ctx.app.consumer) or not settled(self.ctx.app):
            return  # another worker writes the risk state, or it is not recovered yet
        try:
            await self.run(time.time())
            metrics.RECONCILE_RUNS.labels("done").inc()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.RECONCILE_RUNS.labels("failed").inc()
            log.warning("reconciliation failed (%s: %s); the next interval retries", type(exc).__name__, exc)

    async def run(self, now_s: float) -> Reconciliation | None:
        """One reconciliation; None when there is no risk state yet."""
        async with self.risk.decide_lock:
            with outputs_of(TP(SIGNALS.name, 0)):
                result = await self._reconcile(now_s)
        if result is not None:
            self.last = result
            await self._report(result)
        return result

    async def _reconcile(self, now_s: float) -> Reconciliation | None:
        """Read, compare and repair the state (call holding the risk agent's lock)."""
        risk, settings = self.risk, self.ctx.settings
        portfolio = settings.portfolio
        view: BatchView[RiskState] = BatchView(risk.table, load=RiskState.from_dict, dump=RiskState.to_dict)
        state = view.get(portfolio)
        if state is None:
            return None
        await risk.check_owner()  # a stale owner (paused beyond its session) repairs nothing
        pool = await self.ctx.connections.pool("reconcile", max_size=1)
        async with pool.acquire() as conn:
            outcomes = await order_outcomes(conn, portfolio, sorted(state.pending))
            positions = {p.pair: p.base_amount for p in await read_positions(conn, portfolio)}
        records = {oid: OrderRecord(status, fill) for oid, (status, fill) in outcomes.items()}
        synced = await self.sync_wallet(state)
        result = reconcile(
            state,
            records,
            positions,
            self.suspects,
            now_s,
            grace_s=settings.reconcile_grace_s,
            timeout_s=settings.reconcile_order_timeout_s,
        )
        for fill in result.fills:
            apply_fill(state, fill, risk.limits)
        if result.fills or synced:
            view.put(portfolio, state, 0)
            await asyncio.gather(*view.flush())
        return result

    async def sync_wallet(self, state: RiskState) -> bool:
        """Live: the state's balances set to the wallet's on chain (while no order is pending); whether
        they changed."""
        wallet = self.risk.wallet
        if wallet is None:
            return False
        try:
            funds = await wallet.read()
        except (SolbotError, OSError) as exc:
            log.warning("live wallet balances not read (%s); the risk state keeps its own", exc)
            return False
        differences = sync_balances(state, funds)
        if differences is None:
            log.info("live wallet sync deferred: %d order(s) pending", len(state.pending))
            return False
        for difference in differences:
            log.warning("risk balances synced to the live wallet: %s", difference)
        if differences:
            metrics.RECONCILE_DIFFERENCES.labels("wallet", "synced").inc(len(differences))
        return bool(differences)

    async def _report(self, result: Reconciliation) -> None:
        for d in result.differences:
            metrics.RECONCILE_DIFFERENCES.labels(d.kind, d.action).inc()
        acted = result.acted
        for d in acted:
            log.warning("reconciliation: %s %s %s (%s)", d.kind, d.key, d.action, d.detail)
        repaired_mints = await self.repair_chain() if self.repair_chain is not None else 0
        if repaired_mints:
            metrics.RECONCILE_DIFFERENCES.labels("chain", "repaired").inc(repaired_mints)
        alerts = [("warning", f"reconcile.{d.kind}", f"{d.key}: {d.action} ({d.detail})") for d in acted]
        if repaired_mints:
            alerts.append(("warning", "reconcile.chain", f"{repaired_mints} mints synced to the database"))
        await self.ctx.connections.alert(alerts, "reconciliation")  # type: ignore[arg-type]
