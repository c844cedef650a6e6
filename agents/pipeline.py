"""One worker of the pipeline, built from its settings: the app, its topics and tables, the compatibility
layer, one context, and a runner per agent registered in data-flow order.

features -> model -> risk -> execution (and launches beside features). The resume hooks run in that order
too: the model's checkpoints, the risk state's offsets, the execution sink's offsets.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from solders.keypair import Keypair

from agents.context import Connections, WorkerContext
from agents.execution import ExecutionRunner
from agents.features import FeaturesRunner
from agents.launches import LaunchesRunner
from agents.live_wallet import WalletFunds
from agents.model import ModelRunner
from agents.reconcile import RiskReconciler
from agents.risk import RiskRunner
from agents.views import register_views
from chain.local import LocalChain
from core.faults import FaultInjector
from core.logs import worker_logging_config
from core.settings import Settings
from notify.sender import Notifier
from risk.limits import RiskLimits, live_limits
from streams.app import build_app, declare_topics
from streams.broker import bootstrap_of
from streams.compat import BrokerKind, install
from tables.features import declare_feature_tables
from tables.risk import declare_risk_table

log = logging.getLogger(__name__)


@dataclass
class Worker:
    """A worker's context and runners; `run()` hands the app to Faust's worker until it stops."""

    ctx: WorkerContext
    features: FeaturesRunner
    launches: LaunchesRunner
    model: ModelRunner
    risk: RiskRunner
    execution: ExecutionRunner

    def run(self) -> None:
        from faust.worker import Worker as FaustWorker

        level = self.ctx.settings.log_level
        FaustWorker(
            self.ctx.app,
            loglevel=level if level != "warning" else "warn",
            redirect_stdouts=False,
            logging_config=worker_logging_config(level),
            quiet=True,
        ).execute_from_commandline()


def worker_limits(settings: Settings, *, live: bool) -> RiskLimits:
    """The risk limits from the settings; live, every order sized within `live_max_order_usdc`."""
    limits = RiskLimits.from_settings(settings)
    return live_limits(limits, settings.live_max_order_usdc) if live else limits


def build_worker(settings: Settings, *, broker_kind: BrokerKind, keypair: Keypair | None = None) -> Worker:
    """Everything one worker runs, from `settings` (its processing guarantee already settled); with
    `keypair` (the unlocked keystore's), its execution agent trades live instead of on paper."""
    if settings.broker_url is None:
        raise ValueError("a worker needs BROKER_URL")
    app = build_app(settings)
    compat = install(
        app,
        broker_kind=broker_kind,
        bootstrap=bootstrap_of(settings.broker_url),
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
    )
    ctx = WorkerContext(
        settings=settings,
        app=app,
        topics=declare_topics(app, settings),
        tables=declare_feature_tables(app, settings),
        risk_table=declare_risk_table(app),
        compat=compat,
        limits=worker_limits(settings, live=keypair is not None),
        connections=Connections(
            settings.database_url, settings.redis_url, notifier=Notifier.from_settings(settings)
        ),
        chain=LocalChain() if settings.paper_chain and keypair is None else None,
        faults=FaultInjector(settings.fault_inject, settings.fault_inject_seed),
        keypair=keypair,
    )
    if ctx.faults.enabled:
        log.warning("FAULT_INJECT is on: exceptions are raised on purpose at %s", settings.fault_inject)
    worker = Worker(
        ctx,
        features=FeaturesRunner(ctx),
        launches=LaunchesRunner(ctx),
        model=ModelRunner(ctx),
        risk=RiskRunner(ctx),
        execution=ExecutionRunner(ctx),
    )
    if keypair is not None:
        worker.risk.wallet = WalletFunds(settings, str(keypair.pubkey()))
    for runner in (worker.features, worker.launches, worker.model, worker.risk, worker.execution):
        runner.register()
    RiskReconciler(ctx, worker.risk, worker.execution.reconcile_chain).register()
    register_views(
        ctx, models_by_pair=worker.model.models.by_pair, balance_check=worker.execution.balance_check
    )
    return worker
