"""Live execution against the sandbox: orders land and are booked from what landed, the database equals
the chain, re-deliveries and restarts double nothing, dry runs send nothing, caps and the kill switch hold."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from agents.live_execution import HaltGate, LiveExecution, signing
from chain.rpc import RpcClient
from core.settings import Settings
from market.fills import FAILED, FILLED
from sandbox.world import World
from solbot.commands.control import control_record
from store.execution import ExecutionSink
from store.live_orders import landed_orders
from store.order_gate import FastControlReader, set_fast_control
from tests.venues.test_lifecycle_faults import order
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import LifecycleConfig
from venues.registry import VenueContext, build_venue

FAST = LifecycleConfig(poll_interval_s=0.05, resend_interval_s=0.3, backoff_base_s=0.01, backoff_max_s=0.2)


@dataclass
class Live:
    live: LiveExecution
    sink: ExecutionSink
    venue: JupiterVenue


def build(
    world: World,
    pool: asyncpg.Pool,
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    dry_run: bool = False,
    gate: HaltGate | None = None,
    portfolio: str = "main",
    with_curves: bool = False,
) -> Live:
    """Live execution on the world's Jupiter; `with_curves`: and on its Pump.fun curves, with the venue
    start_live builds (no config: the fee recipients are read from the chain's Global account)."""
    rpc = RpcClient(world.urls["SOLANA_RPC_URL"], client=http)
    venue = JupiterVenue(
        rpc, world.wallet, JupiterConfig(url=f"{world.urls['JUPITER_URL']}/swap/v1"), client=http
    )
    curves = None
    if with_curves:
        curves = signing(build_venue("pumpfun", settings, VenueContext(rpc=rpc, keypair=world.wallet)))
    sink = ExecutionSink(pool, consumer="test.execution", portfolio=portfolio, venue=venue)
    live = LiveExecution(settings, pool, sink, venue, gate=gate, config=FAST, dry_run=dry_run, curves=curves)
    return Live(live, sink, venue)


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.mark.timeout(120)
async def test_live_orders_land_once_and_the_database_equals_the_chain(
    world: World, venue_db: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient
) -> None:
    setup = build(world, venue_db, settings, http)
    await setup.live.start()  # seeds the database with the chain's balances
    batch = [(i, order(i)) for i in range(6)]
    fills = await setup.live.process("orders", 0, batch, now_ms())
    assert [f.status for f in fills] == [FILLED] * 6
    assert all(f.signature in world.rpc.history for f in fills)
    assert await setup.live.reconcile("test") == []  # booked from what landed: equal to the chain
    # The same batch again (a re-delivery) and at new offsets (a re-publish): nothing more happens.
    assert await setup.live.process("orders", 0, batch, now_ms()) == []
    assert await setup.live.process("orders", 0, [(10 + i, o) for i, o in batch], now_ms()) == []
    assert max(world.rpc.executed_memos.values()) == 1 and len(world.rpc.executed_memos) == 6
    async with venue_db.acquire() as conn:
        assert await landed_orders(conn, "main") == 6


@pytest.mark.timeout(120)
async def test_orders_left_in_flight_are_driven_again_at_start_and_booked_once(
    world: World, venue_db: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient
) -> None:
    first = build(world, venue_db, settings, http)
    await first.live.start()
    orders = [order(i) for i in range(3)]
    # A worker dies after recording the batch (nothing signed), and another after sending (not booked).
    recorded = await first.live.store.record(
        "orders", 0, list(enumerate(orders)), now_ms(), admit=first.live.admit, dry_run=False
    )
    assert [o.id for o in recorded.admitted] == [o.id for o in orders]
    await first.live.lifecycle.run(orders[0])
    restarted = build(world, venue_db, settings, http)
    fills = await restarted.live.start()
    assert sorted(f.order_id for f in fills) == sorted(o.id for o in orders)
    assert all(f.status == FILLED for f in fills)
    assert await restarted.live.start() == []  # nothing left in flight
    assert max(world.rpc.executed_memos.values()) == 1
    assert await restarted.live.reconcile("test") == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("world", [{"window": 1000}], indirect=True)  # a blockhash lives 10 s under load
async def test_dry_run_builds_signs_and_simulates_but_never_sends(
    world: World, venue_db: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient
) -> None:
    setup = build(world, venue_db, settings, http, dry_run=True)
    await setup.live.start()
    fills = await setup.live.process("orders", 0, [(i, order(i)) for i in range(4)], now_ms())
    assert [f.status for f in fills] == [FAILED] * 4
    assert all(f.reason.startswith("dry_run: ok,") for f in fills), [f.reason for f in fills]
    assert world.rpc.sent == 0 and "sendTransaction" not in world.rpc.methods
    assert len(world.rpc.simulated) >= 8  # each order: the budget's simulation and the signed one's
    # A restart re-drives a dry-run order left in flight as a dry run: still nothing sent.
    await setup.live.store.record(
        "orders", 0, [(9, order(9))], now_ms(), admit=setup.live.admit, dry_run=True
    )
    again = build(world, venue_db, settings, http, dry_run=False)
    assert [f.reason.startswith("dry_run") for f in await again.live.start()] == [True]
    assert world.rpc.sent == 0


@pytest.mark.timeout(120)
async def test_live_caps_refuse_orders_before_anything_is_signed(
    world: World, venue_db: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient
) -> None:
    capped = settings.model_copy(update={"live_max_order_usdc": 1.2, "live_max_day_usdc": 2.5})
    setup = build(world, venue_db, capped, http)
    await setup.live.start()
    # Buys of ~1 USDC each pass until the day's 2.5 USDC; a sell of 0.01 SOL (1.5 USDC) is over 1.2.
    batch = [(0, order(0)), (1, order(1)), (2, order(2)), (4, order(4))]
    fills = {f.order_id: f for f in await setup.live.process("orders", 0, batch, now_ms())}
    assert fills["ord:0"].status == FILLED and fills["ord:2"].status == FILLED
    assert fills["ord:1"].reason.startswith("live_cap_order")
    assert fills["ord:4"].reason.startswith("live_cap_day")
    assert set(world.rpc.executed_memos) == {"ord:0", "ord:2"}


@pytest.mark.timeout(120)
async def test_the_kill_switch_stops_live_sends_within_one_second(
    world: World, venue_db: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient
) -> None:
    portfolio = f"p{uuid.uuid4().hex[:8]}"
    assert settings.redis_url is not None
    gate = HaltGate(FastControlReader(settings.redis_url, portfolio))
    setup = build(world, venue_db, settings, http, gate=gate, portfolio=portfolio)
    await setup.live.start()
    last_send = [0.0]
    halted_at: list[float] = []

    async def watch_sends() -> None:
        seen = world.rpc.sent
        while True:
            await asyncio.sleep(0.005)
            if world.rpc.sent != seen:
                seen, last_send[0] = world.rpc.sent, time.monotonic()

    async def stream() -> list[str]:
        reasons = []
        for i in range(0, 400, 2):  # buys only: a halt stops buys (sells may still flatten)
            if halted_at and time.monotonic() - halted_at[0] > 2.0:
                break
            fills = await setup.live.process("orders", 0, [(i, order(i))], now_ms())
            reasons += [f.reason for f in fills]
        return reasons

    watcher = asyncio.create_task(watch_sends())
    trading = asyncio.create_task(stream())
    await asyncio.sleep(2.0)
    sends_before = world.rpc.sent
    client = aioredis.Redis.from_url(settings.redis_url)
    try:
        await set_fast_control(client, portfolio, control_record("halt", "test", False))
        halted_at.append(time.monotonic())
        reasons = await trading
    finally:
        await client.aclose()
        watcher.cancel()
    assert sends_before > 0
    stopped_after = max(0.0, last_send[0] - halted_at[0])
    print(f"sends before the halt: {sends_before}; last send {stopped_after:.3f}s after it")
    assert stopped_after < 1.0
    assert any(r.startswith("halted") for r in reasons)
