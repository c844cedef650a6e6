"""`live_venue = "jito"`: live orders go through the same life cycle as Jito bundles (the route, its memo
and a tip to one of the block engine's current tip accounts inside one transaction), land atomically on
the sandbox's block engine, are booked from what landed, and the database equals the chain."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from agents.live_execution import LiveExecution
from chain.rpc import RpcClient
from core.settings import Settings, load_settings
from market.fills import FILLED
from sandbox.world import World
from store.execution import ExecutionSink
from tests.venues.test_lifecycle_faults import order
from venues.fees import MIN_JITO_TIP_LAMPORTS
from venues.interface import TransactionVenue
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import LifecycleConfig
from venues.registry import VenueContext, build_venue

FAST = LifecycleConfig(poll_interval_s=0.05, resend_interval_s=2.0, backoff_base_s=0.01, backoff_max_s=0.2)


def jito_settings(world: World) -> Settings:
    base = world.urls["SOLANA_RPC_URL"]
    return load_settings(
        database_url=None,
        redis_url=None,
        live_venue="jito",
        solana_rpc_url=base,
        jupiter_url=world.urls["JUPITER_URL"],
        jito_url=world.urls["JITO_URL"],
        jito_tip_floor_url=f"{world.urls['JITO_URL']}/tip_floor",
        jito_requests_per_s=4.0,  # the sandbox's engine takes one request per 0.2 s
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.mark.timeout(120)
async def test_live_orders_land_as_jito_bundles_tipping_the_engines_tip_accounts(
    world: World, venue_db: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    rotated = Keypair().pubkey()
    world.jito.use_tip_accounts([rotated])  # the engine names another tip account than the published 8
    settings = jito_settings(world)
    rpc = RpcClient(settings.solana_rpc_url, client=http)
    venue = build_venue("jupiter", settings, VenueContext(rpc=rpc, keypair=world.wallet, http=http))
    assert isinstance(venue, JupiterVenue) and isinstance(venue, TransactionVenue) and venue.config.use_jito
    assert venue.bundles is not None
    venue.bundles.poll_interval_s = 0.1
    sink = ExecutionSink(venue_db, consumer="test.execution", portfolio="main", venue=venue)
    live = LiveExecution(settings, venue_db, sink, venue, config=FAST)
    await venue.start()
    await live.start()
    before = (await rpc.get_balance(str(rotated))).value
    fills = await live.process("orders", 0, [(i, order(i)) for i in range(3)], int(time.time() * 1000))
    assert [f.status for f in fills] == [FILLED] * 3, [f.reason for f in fills]
    bundled = {s for signatures in world.jito.bundles.values() for s in signatures}
    assert {f.signature for f in fills} <= bundled  # every order landed through the block engine
    assert world.jito.methods.count("sendBundle") >= 3 and "getTipAccounts" in world.jito.methods
    for fill in fills:
        record = await rpc.get_transaction_record(fill.signature)
        assert record is not None and record.err is None
        keys = [
            str(k) for k in VersionedTransaction.from_bytes(record.transaction or b"").message.account_keys
        ]
        assert str(rotated) in keys  # the tip, inside the swap's own transaction
    tips = (await rpc.get_balance(str(rotated))).value - before
    assert tips >= 3 * MIN_JITO_TIP_LAMPORTS  # three tips, each at least the engine's minimum
    assert max(world.rpc.executed_memos.values()) == 1  # at most one landing per order
    assert await live.reconcile("test") == []  # the database equals the chain
    await venue.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("world", [{"window": 1000}], indirect=True)  # a blockhash lives 10 s under load
async def test_a_jito_dry_run_simulates_the_tipped_transaction_and_sends_no_bundle(
    world: World, venue_db: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    settings = jito_settings(world)
    rpc = RpcClient(settings.solana_rpc_url, client=http)
    venue = build_venue("jupiter", settings, VenueContext(rpc=rpc, keypair=world.wallet, http=http))
    sink = ExecutionSink(venue_db, consumer="test.execution", portfolio="main", venue=venue)
    live = LiveExecution(settings, venue_db, sink, venue, config=FAST, dry_run=True)  # type: ignore[arg-type]
    await venue.start()
    await live.start()
    fills = await live.process("orders", 0, [(i, order(i)) for i in range(2)], int(time.time() * 1000))
    assert all(f.reason.startswith("dry_run: ok,") for f in fills), [f.reason for f in fills]
    assert "sendBundle" not in world.jito.methods and world.rpc.sent == 0
    assert await live.reconcile("test") == []
    await venue.close()
