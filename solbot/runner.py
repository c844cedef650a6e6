"""`solbot run`: the whole bot on one machine — stack, topics, schema, workers, market, progress, summary.

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

from core.errors import ServiceError
from core.settings import Settings
from models.checkpoint_seal import KEY_FILE as CHECKPOINT_KEY_FILE
from services.process import free_port, spawn, terminate
from services.stack import Stack
from solbot.monitor import TopicMonitor
from store import latest_prices
from store.portfolio import read_balances, read_positions
from streams.broker import bootstrap_of, create_topics, probe_transactions

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


def start_worker(settings: Settings, stack: Stack, guarantee: str, index: int) -> Worker:
    web_port = free_port()
    log_path = settings.data_dir / f"worker-{index}.log"
    proc = spawn(
        [sys.executable, "-m", "solbot.cli", "worker"],
        log_path=log_path,
        detached=False,
        env=worker_env(settings, stack, guarantee, index, web_port),
    )
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
    return auto_guarantee(await probe_transactions(bootstrap))


async def prepare(settings: Settings, stack: Stack) -> str:
    """Topics, schema and the broker identity check before any worker starts; returns the processing
    guarantee to use."""
    from solbot.identity import check_broker_identity
    from store.migrate import migrate

    bootstrap = bootstrap_of(stack.broker_url)
    await create_topics(bootstrap, settings.topic_partitions)
    await migrate(stack.database_url)
    await check_broker_identity(bootstrap, stack.database_url)
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
) -> dict[str, Any]:
    """Run the bot until `duration_s` passes (or forever); returns (and prints) the summary."""
    from market.feed import run_feed

    stack = Stack(settings)
    started: list[Worker] = []
    monitor: TopicMonitor | None = None
    feed: asyncio.Task[int] | None = None
    summary: dict[str, Any] = {}
    try:
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
        monitor = TopicMonitor(bootstrap_of(stack.broker_url), from_end=True)  # this run's counts
        await monitor.start()
        started = [start_worker(settings, stack, guarantee, i) for i in range(workers)]
        for w in started:
            print(
                f"solbot: worker {w.index}: http://127.0.0.1:{w.web_port}/status/ (log {w.log_path})",
                file=out,
                flush=True,
            )
        sent = [0]
        feed = asyncio.create_task(
            run_feed(
                bootstrap_of(stack.broker_url),
                simulated_market(settings, seed, rate_eps),
                duration_s=duration_s,
                realtime=True,
                on_progress=lambda n: sent.__setitem__(0, n),
                idempotent=guarantee == "exactly_once",  # a broker with transactions: it survives restarts
            )
        )
        t0 = time.monotonic()
        await watch(feed, started, monitor, settings, stack, sent, t0, out)
        events = feed.result()
        await drain(monitor)
        equity = await equity_usdc(stack.database_url, stack.redis_url, settings.portfolio)
        summary = run_summary(monitor, events, equity, guarantee, time.monotonic() - t0)
        return summary
    finally:
        if feed is not None and not feed.done():
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feed
        if monitor is not None:
            await monitor.stop()
        for w in started:
            terminate(w.proc.pid, timeout_s=15)
        stack.stop()
        if summary:
            print(json.dumps(summary), file=out, flush=True)


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
    settings: Settings,
    stack: Stack,
    sent: list[int],
    t0: float,
    out: Any,
) -> None:
    """Until the feed is done: restart a dead broker, stop the run if a worker exits, and print a
    progress line every 5 s."""
    next_line = t0 + 5.0
    while not feed.done():
        await asyncio.sleep(0.25)
        if stack.broker_died():
            await restart_broker(stack, out)
        for w in started:
            if w.proc.poll() is not None:
                raise ServiceError(f"worker {w.index} exited with code {w.proc.returncode}; see {w.log_path}")
        if time.monotonic() >= next_line:
            next_line += 5.0
            equity = await equity_usdc(stack.database_url, stack.redis_url, settings.portfolio)
            print(progress_line(time.monotonic() - t0, sent[0], monitor, equity), file=out, flush=True)


def run_summary(
    monitor: TopicMonitor, events: int, equity: float, guarantee: str, duration_s: float
) -> dict[str, Any]:
    """What `run` prints at the end, from the topic monitor's counts."""
    c = monitor.counts
    return {
        "events": events,
        "signals": c.signals,
        "orders": c.orders,
        "fills": c.fills,
        "failed_fills": c.failed_fills,
        "rejected": c.rejected,
        "dead_letters": c.dead_letters,
        "equity_quote": equity,
        "latency_ms": c.latency(),
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
    await check_broker_identity(bootstrap_of(stack.broker_url), stack.database_url)


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


def progress_line(elapsed: float, events: int, monitor: TopicMonitor, equity: float) -> str:
    c = monitor.counts
    lat = c.latency()
    return (
        f"[{elapsed:6.0f}s] events={events} signals={c.signals} orders={c.orders} fills={c.fills} "
        f"rejected={c.rejected} dlq={c.dead_letters} equity={equity:,.2f} USDC "
        f"latency p50={lat['p50']:.0f}ms p99={lat['p99']:.0f}ms"
    )


def install_signal_handlers(task: asyncio.Task[Any]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
