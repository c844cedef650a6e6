"""`solbot run`: the whole bot on one machine — stack, topics, schema, workers, dashboard, market, progress,
summary.

Everything it starts it stops: the stack's servers and the workers are children that die with this
process (PR_SET_PDEATHSIG), and a normal stop (duration reached, Ctrl-C, an error) stops them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from core.errors import ServiceError, SolbotError
from core.settings import Settings
from models.checkpoint_seal import KEY_FILE as CHECKPOINT_KEY_FILE
from services.process import free_port, spawn, terminate
from services.stack import Stack
from solbot.dashboard import Dashboard, serve_dashboard
from solbot.live import PASSPHRASE_FD_ENV, LivePlan, chain_balances, live_figures
from solbot.monitor import TopicMonitor
from solbot.restarts import RestartPolicy
from solbot.run_status import (
    RunStatus,
    Wallet,
    current,
    equity_text,
    opening_wallet,
    settle,
    summary_text,
    workers_lag,
)
from store import latest_prices
from store.portfolio import read_balances, read_positions
from streams.broker import bootstrap_of, create_topics, keep_longer, probe_transactions
from streams.broker_auth import NO_AUTH, BrokerAuth, broker_auth

if TYPE_CHECKING:
    from market.simulator import MarketSimulator

log = logging.getLogger(__name__)


@dataclass
class Worker:
    index: int
    proc: subprocess.Popen[bytes]
    web_port: int
    log_path: Path


def worker_env(settings: Settings, stack: Stack, guarantee: str, index: int, web_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(stack.env())
    env.update(
        {
            "PROCESSING_GUARANTEE": guarantee,
            "WORKER_WEB_PORT": str(web_port),
            "DATA_DIR": str((settings.data_dir / f"worker-{index}").resolve()),
            "PAIRS": ",".join(settings.pairs),
        }
    )
    # One checkpoint key for all workers: any of them may restore a partition another one saved.
    key_file = settings.model_checkpoint_key_file or settings.data_dir / CHECKPOINT_KEY_FILE
    env["MODEL_CHECKPOINT_KEY_FILE"] = str(key_file.resolve())
    return env


def start_worker(
    settings: Settings, stack: Stack, guarantee: str, index: int, live: LivePlan | None = None
) -> Worker:
    """One worker process; a live one inherits a pipe holding the wallet's passphrase (`solbot.live`)."""
    web_port = free_port()
    log_path = settings.data_dir / f"worker-{index}.log"
    env = worker_env(settings, stack, guarantee, index, web_port)
    fds: list[int] = []
    if live is not None:
        fds.append(live.pipe_for_worker())
        env[PASSPHRASE_FD_ENV] = str(fds[0])
        env["LIVE_DRY_RUN"] = "true" if live.dry_run else "false"
        env["WALLET_PATH"] = str(live.wallet_path)
    try:
        proc = spawn(
            [sys.executable, "-m", "solbot.cli", "worker"],
            log_path=log_path,
            detached=False,
            env=env,
            pass_fds=fds,
        )
    finally:
        for fd in fds:
            os.close(fd)
    return Worker(index, proc, web_port, log_path)


def auto_guarantee(transactions: bool) -> str:
    """What `PROCESSING_GUARANTEE=auto` means: exactly-once where the broker has transactions (Kafka,
    Redpanda), at-least-once where it has none (Tansu). Every hop is idempotent under both (README,
    "Exactly once, on any broker"); exactly-once on Faust 0.15.3 runs through `streams.compat.transactions`
    (one transactional producer per input task, docs/broker.md)."""
    return "exactly_once" if transactions else "at_least_once"


async def resolve_guarantee(settings: Settings, bootstrap: str) -> str:
    """The guarantee every worker of this run uses. A probe without an answer raises ServiceError instead
    of guessing: a worker that guessed differently from the others would make a mixed-guarantee cluster."""
    if settings.processing_guarantee != "auto":
        return settings.processing_guarantee
    return auto_guarantee(await probe_transactions(bootstrap, auth=broker_auth(settings)))


async def prepare(settings: Settings, stack: Stack) -> str:
    """Topics, schema and the broker identity check before any worker starts; returns the processing
    guarantee to use."""
    from solbot.identity import check_broker_identity
    from store.migrate import migrate
    from tables.features import windowed_changelog_retention_ms

    bootstrap, auth = bootstrap_of(stack.broker_url), broker_auth(settings, stack.broker_url)
    await create_topics(bootstrap, settings.topic_partitions, auth)
    await keep_longer(bootstrap, windowed_changelog_retention_ms(settings.app_id), auth)
    await migrate(stack.database_url)
    await check_broker_identity(bootstrap, stack.database_url, auth)
    return await resolve_guarantee(settings, bootstrap)


async def equity_usdc(database_url: str, redis_url: str, portfolio: str) -> float:
    """Mark the paper wallet to market in USDC from Postgres balances and Redis' latest prices."""
    from market.tokens import USDC, WSOL

    prices = await latest_prices.read(redis_url)
    conn = await asyncpg.connect(database_url)
    try:
        balances = {b.mint: b.amount for b in await read_balances(conn, portfolio)}
        meta = {p.base_mint: (p.pair, p.base_decimals) for p in await read_positions(conn, portfolio)}
    finally:
        await conn.close()
    sol_usdc = prices.get("SOL/USDC", 0.0)
    total = 0.0
    for mint, amount in balances.items():
        if mint == USDC:
            total += amount / 1e6
        elif mint == WSOL:
            total += amount / 1e9 * sol_usdc
        elif mint in meta:
            pair, decimals = meta[mint]
            price = prices.get(pair, 0.0)
            quote_to_usdc = sol_usdc if pair.endswith("/SOL") else 1.0
            total += amount / 10**decimals * price * quote_to_usdc
    return round(total, 2)


async def run(
    settings: Settings,
    *,
    duration_s: float | None,
    seed: int,
    rate_eps: float,
    workers: int = 1,
    out: Any = sys.stdout,
    stop: asyncio.Event | None = None,
    live: LivePlan | None = None,
) -> dict[str, Any]:
    """Run the bot until `duration_s` passes, `stop` is set (Ctrl-C, SIGTERM) or forever; returns the
    summary, printed once: a few lines for a person, then one JSON line for scripts. With `live` its
    workers trade with the keystore's key on the settings' chain, and the summary adds `landed` and
    `chain_mismatches`."""
    stack = Stack(settings)
    started: list[Worker] = []
    monitor: TopicMonitor | None = None
    feed: asyncio.Task[int] | None = None
    dashboard: Dashboard | None = None
    summary: dict[str, Any] = {}
    stop = stop or asyncio.Event()
    try:
        guarantee = await start_stack(stack, settings, workers, out)
        opening = await run_opening(stack, settings, live, out)
        status = RunStatus.create(opening, settings)
        auth = broker_auth(settings, stack.broker_url)
        monitor = TopicMonitor(bootstrap_of(stack.broker_url), from_end=True, auth=auth)  # this run's counts
        await monitor.start()
        started = [start_worker(settings, stack, guarantee, i, live) for i in range(workers)]
        for w in started:
            print(
                f"solbot: worker {w.index}: http://127.0.0.1:{w.web_port}/status/ (log {w.log_path})",
                file=out,
                flush=True,
            )
        dashboard = await serve_dashboard(settings, stack, out)
        sent = [0]
        feed = asyncio.create_task(
            market_feed(  # idempotent with transactions: the feed survives broker restarts
                settings,
                bootstrap_of(stack.broker_url),
                duration_s,
                seed,
                rate_eps,
                sent,
                auth,
                idempotent=guarantee == "exactly_once",
            )
        )
        t0 = time.monotonic()
        restarts = WorkerRestarts(settings, stack, guarantee, live, out)
        await watch(feed, started, monitor, stack, sent, t0, out, status, stop, restarts)
        summary = await finish(feed, started, monitor, stack, settings, status, stop, sent[0], guarantee, t0)
        summary["worker_restarts"] = restarts.count
        if live is not None:
            summary.update(await live_figures(settings, stack.database_url, live.address))
        return summary
    finally:
        if feed is not None and not feed.done():
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feed
        if monitor is not None:
            await monitor.stop()
        if dashboard is not None:
            dashboard.stop()
        for w in started:
            terminate(w.proc.pid, timeout_s=15)
        stack.stop()
        if summary:
            print(summary_text(summary), file=out, flush=True)
            print(json.dumps(summary), file=out, flush=True)


async def start_stack(stack: Stack, settings: Settings, workers: int, out: Any) -> str:
    """Start (or reuse) the stack, say so, and prepare topics and schema; returns the guarantee in force."""
    stack.start()
    if stack.broker is not None:
        print(f"solbot: {stack.broker.summary}", file=out, flush=True)
    if stack.reused:
        print(f"solbot: {stack.describe_reused()}", file=out, flush=True)
    guarantee = await prepare(settings, stack)
    print(
        f"solbot: stack ready (broker {stack.broker_url}, {guarantee}); starting {workers} worker(s)",
        file=out,
        flush=True,
    )
    return guarantee


async def finish(
    feed: asyncio.Task[int],
    started: list[Worker],
    monitor: TopicMonitor,
    stack: Stack,
    settings: Settings,
    status: RunStatus,
    stop: asyncio.Event,
    sent: int,
    guarantee: str,
    t0: float,
) -> dict[str, Any]:
    """The summary once the market stopped. At the end of `--duration` the pipeline drains first; after a
    signal it does not (Ctrl-C reaches the stack's servers too): each figure is read within a short time
    or kept from the last progress line."""
    stopped_by = "signal" if stop.is_set() else "duration"
    events = sent
    if feed.done() and not feed.cancelled():
        events = feed.result()  # a market that failed fails the run, as before
    else:
        feed.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feed
    if stopped_by == "duration":
        await drain(monitor)
    wait_s = 2.0 if stopped_by == "signal" else 10.0
    marked = await settle(current(stack.database_url, stack.redis_url, settings.portfolio), wait_s)
    if marked is not None:
        status.mark(*marked)
    lag = await settle(workers_lag([w.web_port for w in started]), wait_s)
    return run_summary(
        monitor, events, status, guarantee, time.monotonic() - t0, stopped_by=stopped_by, lag=lag
    )


async def market_feed(
    settings: Settings,
    bootstrap: str,
    duration_s: float | None,
    seed: int,
    rate_eps: float,
    sent: list[int],
    auth: BrokerAuth = NO_AUTH,
    idempotent: bool = False,
) -> int:
    """The market the run trades, by `MARKET_SOURCE`: the simulated feed, or the live collectors on the
    chain (`collectors.live.run_live_market`); either returns the events it produced."""
    if settings.market_source == "chain":
        from collectors.live import run_live_market

        return await run_live_market(
            bootstrap,
            settings,
            duration_s=duration_s,
            on_progress=lambda n: sent.__setitem__(0, n),
            auth=auth,
        )
    from market.feed import run_feed

    return await run_feed(
        bootstrap,
        simulated_market(settings, seed, rate_eps),
        duration_s=duration_s,
        realtime=True,
        on_progress=lambda n: sent.__setitem__(0, n),
        auth=auth,
        idempotent=idempotent,
        market_data_ms=settings.sim_market_data_ms,
    )


def simulated_market(settings: Settings, seed: int, rate_eps: float) -> MarketSimulator:
    """The simulated market `run` feeds, starting now."""
    from market.simulator import MarketSimulator

    return MarketSimulator(
        seed=seed,
        pairs=settings.pairs,
        rate_eps=rate_eps,
        random_walk=settings.sim_random_walk,
        start_ms=int(time.time() * 1000),
    )


async def watch(
    feed: asyncio.Task[int],
    started: list[Worker],
    monitor: TopicMonitor,
    stack: Stack,
    sent: list[int],
    t0: float,
    out: Any,
    status: RunStatus,
    stop: asyncio.Event,
    restarts: WorkerRestarts,
) -> None:
    """Until the feed is done or `stop` is set: restart a dead broker and exited workers (`restarts`),
    print a progress line every 5 s, and a warning line when latency or lag passes its threshold."""
    next_line = t0 + 5.0
    while not feed.done() and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.25):  # not wait_for: 3.11's can lose a cancel (collectors.solana_ws)
                await stop.wait()
        if stop.is_set():
            return  # Ctrl-C reaches the workers too: their exit is the stop, not a failure
        if stack.broker_died():
            await restart_broker(stack, out)
        restarts.check(started, time.monotonic())
        if time.monotonic() >= next_line:
            next_line += 5.0
            await tick(monitor, stack, started, sent[0], t0, out, status)


class WorkerRestarts:
    """`solbot run`'s restarts of the workers that exit, each after its policy's backoff
    (`solbot.restarts`); a worker that exits too often stops the run with one line."""

    def __init__(
        self, settings: Settings, stack: Stack, guarantee: str, live: LivePlan | None, out: Any
    ) -> None:
        self.settings, self.stack, self.guarantee, self.live, self.out = settings, stack, guarantee, live, out
        self.policies: dict[int, RestartPolicy] = {}
        self.due: dict[int, float] = {}  # worker index -> monotonic time of its restart

    @property
    def count(self) -> int:
        return sum(p.restarts for p in self.policies.values())

    def check(self, started: list[Worker], now: float) -> None:
        """Schedule the restart of each worker that exited, and start those whose backoff is over (in
        place in `started`, which the run stops at its end)."""
        for pos, w in enumerate(started):
            if w.index in self.due:
                if now >= self.due[w.index]:
                    del self.due[w.index]
                    started[pos] = start_worker(self.settings, self.stack, self.guarantee, w.index, self.live)
                    url = f"http://127.0.0.1:{started[pos].web_port}/status/"
                    print(f"solbot: worker {w.index} restarted: {url}", file=self.out, flush=True)
                continue
            code = w.proc.poll()
            if code is None:
                continue
            how = f"signal {-code}" if code < 0 else f"code {code}"
            policy = self.policies.setdefault(w.index, self._policy())
            delay = policy.on_exit(now)
            if delay is None:
                raise ServiceError(
                    f"worker {w.index} exited with {how}, more than {policy.max_restarts} times in "
                    f"{policy.window_s:g} s (WORKER_RESTART_MAX): the run stops; see {w.log_path}"
                )
            self.due[w.index] = now + delay
            print(
                f"solbot: worker {w.index} exited with {how}; restarting it in {delay:g} s "
                f"(restart {policy.restarts}); see {w.log_path}",
                file=self.out,
                flush=True,
            )

    def _policy(self) -> RestartPolicy:
        s = self.settings
        return RestartPolicy(
            max_restarts=s.worker_restart_max,
            window_s=s.worker_restart_window_s,
            backoff_s=s.worker_restart_backoff_s,
            backoff_max_s=s.worker_restart_backoff_max_s,
        )


async def tick(
    monitor: TopicMonitor,
    stack: Stack,
    started: list[Worker],
    events: int,
    t0: float,
    out: Any,
    status: RunStatus,
) -> None:
    """One progress line, and any warning whose threshold was crossed since the last one."""
    portfolio = stack.settings.portfolio
    status.mark(*await current(stack.database_url, stack.redis_url, portfolio))
    lag = await workers_lag([w.web_port for w in started])
    print(progress_line(time.monotonic() - t0, events, monitor, status.equity), file=out, flush=True)
    for line in status.warnings(monitor.counts.latencies_ms, lag):
        print(line, file=out, flush=True)


async def run_opening(stack: Stack, settings: Settings, live: LivePlan | None, out: Any) -> Wallet:
    """What the run's PnL is measured from: the paper wallet as stored (or its opening balances), and
    live the wallet on chain at start (unreadable: the stored one, with one line saying so)."""
    if live is not None:
        try:
            return Wallet(await chain_balances(settings, live.address))
        except (SolbotError, OSError) as exc:
            print(f"solbot: the wallet's balances on chain were not read ({exc}); PnL is measured from "
                  "the database's wallet", file=out, flush=True)  # fmt: skip
    return await opening_wallet(
        stack.database_url, settings.portfolio, settings.paper_start_usdc, settings.paper_start_sol
    )


def run_summary(
    monitor: TopicMonitor,
    events: int,
    status: RunStatus,
    guarantee: str,
    duration_s: float,
    *,
    stopped_by: str = "duration",
    lag: int | None = None,
) -> dict[str, Any]:
    """What `run` prints at the end, from the topic monitor's counts and the last priced wallet."""
    c = monitor.counts
    equity = None if status.equity is None else round(status.equity, 2)
    return {
        "stopped_by": stopped_by,
        "events": events,
        "signals": c.signals,
        "orders": c.orders,
        "fills": c.fills,
        "failed_fills": c.failed_fills,
        "rejected": c.rejected,
        "rejected_by_reason": dict(c.rejected_by.most_common()),
        "dead_letters": c.dead_letters,
        "equity_usdc": equity,
        "equity_quote": equity if equity is not None else 0.0,  # the older name (0.0: unpriced)
        **status.pnl(),
        "latency_ms": c.latency(),
        "lag": lag if lag is not None else status.lag_now,
        "processing_guarantee": guarantee,
        "duration_s": round(duration_s, 1),
    }


async def restart_broker(stack: Stack, out: Any) -> None:
    """The embedded broker exited: start it again on its port and data, so the workers (whose clients
    retry the address they know) carry on where they were. Kafka keeps its data on disk, so nothing is
    lost; the identity check proves the data are the same. Tansu kept everything in memory: the run stops.
    """
    from solbot.identity import check_broker_identity

    broker = stack.broker
    if broker is not None and broker.kind == "tansu":
        raise ServiceError(
            "the embedded broker (Tansu, memory only) exited and lost every topic: the run stops "
            "(the next run says whether `solbot reset --yes` is needed)"
        )
    print(f"solbot: the broker exited; restarting it on port {stack.components['broker'].port}", file=out)
    handle = stack.restart_broker()
    print(f"solbot: {handle.summary}", file=out, flush=True)
    await check_broker_identity(
        bootstrap_of(stack.broker_url), stack.database_url, broker_auth(stack.settings)
    )


async def drain(monitor: TopicMonitor, quiet_s: float = 3.0, limit_s: float = 20.0) -> None:
    """After the market stops: wait until every order has its fill, or nothing moves for `quiet_s`."""
    c = monitor.counts
    deadline = time.monotonic() + limit_s
    last = (-1, -1, -1)
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = (c.signals, c.orders + c.rejected, c.fills + c.failed_fills)
        if now != last:
            last, last_change = now, time.monotonic()
        settled = c.orders == c.fills + c.failed_fills and c.signals <= len(c.decided_signal_ids)
        if settled and time.monotonic() - last_change >= 1.0:
            return
        if time.monotonic() - last_change >= quiet_s:
            return


def progress_line(elapsed: float, events: int, monitor: TopicMonitor, equity: float | None) -> str:
    """One line every 5 s; equity reads `unpriced` until every token held has a price."""
    c = monitor.counts
    lat = c.latency()
    return (
        f"[{elapsed:6.0f}s] events={events} signals={c.signals} orders={c.orders} fills={c.fills} "
        f"rejected={c.rejected} dlq={c.dead_letters} {equity_text(equity)} "
        f"latency p50={lat['p50']:.0f}ms p99={lat['p99']:.0f}ms"
    )


def install_signal_handlers(task: asyncio.Task[Any]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)


def install_stop_handlers(task: asyncio.Task[Any], stop: asyncio.Event, err: Any = sys.stderr) -> None:
    """The first Ctrl-C or SIGTERM asks the run to stop (and print its summary); a second one stops it
    at once."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            task.cancel()
            return
        stop.set()
        print("solbot: stopping (Ctrl-C again to stop at once, without a summary)", file=err, flush=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
