"""Ten SIGKILLs of a real `solbot worker` trading live on the sandbox, each while an order is in flight
(recorded, not yet booked; a kill that lands just after the order was booked is not counted), the
worker restarted each time as `solbot run` starts it: every order ends booked exactly once, the chain
executed each order at most once (exactly the filled ones), every signal has exactly one decision, and
the database's balances equal the chain's.

The market is the sandbox's simulated traders, read by the live collectors (`MARKET_SOURCE=chain`); the
worker gets the keystore's passphrase through a pipe, as `solbot run --live --yes` hands it over
(`solbot.live.plan_live`, `solbot.runner.start_worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from agents.live_wallet import WalletFunds
from chain.rpc import RpcClient
from core.settings import Settings, load_settings
from market.balances import compare_balances
from market.fills import FILLED
from sandbox.world import World, WorldConfig
from services.process import terminate
from services.stack import Stack
from solbot.audit import Audit, audit_run
from solbot.commands.sandbox import write_keypair
from solbot.live import plan_live
from solbot.monitor import TopicMonitor
from solbot.runner import Worker, drain, market_feed, prepare, start_worker
from streams.broker import bootstrap_of
from tests.integration.conftest import FAST_ENV
from wallet import keystore

pytestmark = pytest.mark.integration

KILLS = 10
PASSPHRASE = "a long enough passphrase for the kill test"


@pytest.fixture
async def world() -> AsyncIterator[World]:
    running = World(WorldConfig(slot_s=0.2, traders=3, rate_eps=40.0))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def live_settings(tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment `solbot run --live` sees after `set -a; . sandbox.env`: workers inherit it."""
    for name in ("BROKER_URL", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    env = {
        **FAST_ENV,
        **world.urls,
        "LIVE_TRADING": "true",
        "MARKET_SOURCE": "chain",
        "LIVE_MAX_ORDER_USDC": "500",
        "LIVE_MAX_DAY_USDC": "1000000",
        "LIVE_RECONCILE_S": "5",
        # The sandbox wallet holds ~200 SOL beside 10,000 USDC: counted as exposure (the default), that SOL
        # alone passes the total exposure cap and every buy is refused (`total_cap_full`).
        "OPENING_INVENTORY": "drawdown",
        keystore.PASSPHRASE_ENV: PASSPHRASE,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    wallet = tmp_path / "wallet.json"
    secret = tmp_path / "trader.json"
    write_keypair(secret, list(bytes(world.wallet)))
    keystore.import_keypair(wallet, PASSPHRASE, secret)
    monkeypatch.setenv("WALLET_PATH", str(wallet))
    return load_settings(  # plaintext like the shared stacks: the test's own clients read the topics
        data_dir=tmp_path / "data",
        broker_url=None,
        database_url=None,
        redis_url=None,
        embedded_broker_sasl=False,
    )


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_ten_sigkills_of_a_live_worker_mid_flight_double_nothing_and_lose_nothing(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = live_settings(tmp_path, world, monkeypatch)
    plan = plan_live(settings, yes=True, dry_run=False, passphrase_fd=None)
    with Stack(settings) as stack:
        db_url = stack.database_url
        bootstrap = bootstrap_of(stack.broker_url)
        guarantee = await prepare(settings, stack)
        monitor = TopicMonitor(bootstrap)
        await monitor.start()
        sent = [0]
        feed = asyncio.create_task(market_feed(settings, bootstrap, None, 0, 0.0, sent))
        worker = start_worker(settings, stack, guarantee, 0, plan)
        at_kill: list[tuple[int, int]] = []  # (orders in flight, of which a transaction was sent)
        t0 = time.monotonic()
        try:
            before: set[str] = set()
            kills = 0
            while len(at_kill) < KILLS:
                assert kills < 2 * KILLS, f"only {len(at_kill)} of {kills} kills landed mid-flight"
                # A fresh order: one in flight at the last kill may still wait for this worker to start.
                await until_in_flight(db_url, worker, besides=before, timeout_s=150)
                os.kill(worker.proc.pid, signal.SIGKILL)
                worker.proc.wait()
                kills += 1
                before = await in_flight_ids(db_url)  # nothing moves now: what the kill interrupted
                flying = await in_flight(db_url)
                if flying[0] > 0:  # the order seen in flight may have been booked before the kill landed
                    at_kill.append(flying)
                worker = start_worker(settings, stack, guarantee, kills, plan)
            kills_s = time.monotonic() - t0
            booked_before = await booked(db_url)
            # The last worker finishes what the tenth kill left and trades on for a while.
            await until_booked(db_url, more_than=booked_before, timeout_s=120)
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feed
            await drain(monitor, quiet_s=10, limit_s=90)
            # The last worker re-drives what the tenth kill left before its agents even start; the signals
            # the killed workers left undecided wait for its recovery. Audit once it has caught up.
            audit = await until_every_signal_decided(bootstrap, db_url, settings.portfolio, timeout_s=300)
            await until_nothing_in_flight(db_url, timeout_s=60)
            audit = await audit_run(bootstrap, db_url, settings.portfolio)
            conn = await asyncpg.connect(db_url)
            try:
                live = {r["order_id"] for r in await conn.fetch("SELECT order_id FROM live_orders")}
                fills = await conn.fetch("SELECT order_id, status FROM executions")
                db = {
                    r["mint"]: int(r["amount"]) for r in await conn.fetch("SELECT mint, amount FROM balances")
                }
            finally:
                await conn.close()
            rpc = RpcClient(settings.solana_rpc_url)
            chain = await WalletFunds(settings, plan.address, rpc).read()
            await rpc.close()
        finally:
            if not feed.done():
                feed.cancel()
            await monitor.stop()
            terminate(worker.proc.pid, timeout_s=15)
    assert all(n > 0 for n, _ in at_kill), at_kill  # every kill hit an order in flight
    assert len(at_kill) == KILLS
    filled = {r["order_id"] for r in fills if r["status"] == FILLED}
    booked_live = [r["order_id"] for r in fills if r["order_id"] in live]
    assert sorted(booked_live) == sorted(live)  # every live order booked, once (executions.order_id unique)
    executed = {memo: n for memo, n in world.rpc.executed_memos.items() if memo in live}
    assert executed == dict.fromkeys(filled & live, 1)  # landed once each, and exactly the filled ones
    assert audit.missing == [], audit.missing
    assert audit.duplicates == [] and audit.position_mismatches == []
    assert compare_balances(db, chain) == []
    print(
        f"kills={kills} ({KILLS} mid-flight) in {kills_s:.0f} s; "
        f"in flight at each counted kill (orders, sent)={at_kill}; "
        f"live orders={len(live)} filled={len(filled & live)} signals audited={audit.orders}"
    )


async def until_in_flight(db_url: str, worker: Worker, *, besides: set[str], timeout_s: float) -> None:
    """Wait until the worker holds an order recorded but not booked, other than `besides` (polled every
    10 ms): the kill then lands mid-flight. A worker that died by itself fails the test."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert worker.proc.poll() is None, f"worker {worker.index} exited; see {worker.log_path}"
        if await in_flight_ids(db_url) - besides:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no new order in flight within {timeout_s} s; see {worker.log_path}")


async def in_flight_ids(db_url: str) -> set[str]:
    conn = await asyncpg.connect(db_url)
    try:
        return {r["order_id"] for r in await conn.fetch(IN_FLIGHT.replace("count(*)", "l.order_id"))}
    finally:
        await conn.close()


IN_FLIGHT = (
    "SELECT count(*) FROM live_orders l "
    "WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.order_id = l.order_id)"
)


async def in_flight(db_url: str) -> tuple[int, int]:
    """Orders recorded but not booked, and how many of them have a transaction sent."""
    conn = await asyncpg.connect(db_url)
    try:
        n = int(await conn.fetchval(IN_FLIGHT))
        sent = int(
            await conn.fetchval(
                "SELECT count(DISTINCT t.order_id) FROM order_txs t WHERE t.state IN ('sent', 'signed') "
                "AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.order_id = t.order_id)"
            )
        )
        return n, sent
    finally:
        await conn.close()


async def booked(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM executions"))
    finally:
        await conn.close()


async def until_booked(db_url: str, *, more_than: int, timeout_s: float) -> None:
    for _ in range(int(timeout_s / 0.5)):
        if await booked(db_url) > more_than:
            return
        await asyncio.sleep(0.5)


async def until_every_signal_decided(
    bootstrap: str, db_url: str, portfolio: str, *, timeout_s: float
) -> Audit:
    """The audit once no signal waits for a decision, or the last one at the timeout (which then fails)."""
    deadline = time.monotonic() + timeout_s
    while True:
        audit = await audit_run(bootstrap, db_url, portfolio)
        if not any("has no risk decision" in line for line in audit.missing) or time.monotonic() > deadline:
            return audit
        await asyncio.sleep(5.0)


async def until_nothing_in_flight(db_url: str, *, timeout_s: float) -> None:
    for _ in range(int(timeout_s / 0.5)):
        if (await in_flight(db_url))[0] == 0:
            return
        await asyncio.sleep(0.5)
