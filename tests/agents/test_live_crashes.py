"""Ten SIGKILLs of a live execution worker mid-flight double nothing and lose nothing: every order ends
booked exactly once, the chain executed each order at most once (and exactly the filled ones), and the
database's balances equal the chain's."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import asyncpg
import pytest

from agents.live_wallet import WalletFunds
from chain.rpc import RpcClient
from core.settings import Settings
from market.balances import compare_balances
from market.fills import FILLED
from sandbox.world import World, WorldConfig

N_ORDERS = 150
KILLS = 10


async def spawn(world: World, db_url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.agents.live_worker",
        world.urls["SOLANA_RPC_URL"], world.urls["JUPITER_URL"], db_url, str(N_ORDERS),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=Path.cwd(),
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_ten_sigkills_mid_flight_double_nothing_and_lose_nothing(migrated_url: str) -> None:
    db_url = migrated_url
    world = World(WorldConfig(slot_s=0.2, jito_min_gap_s=0.2))  # a landing takes a few slots
    await world.start()
    rng = random.Random(17)
    in_flight_at_kill = []
    try:
        for _ in range(KILLS):
            proc = await spawn(world, db_url)
            assert proc.stdout is not None
            await asyncio.wait_for(proc.stdout.readline(), timeout=120)  # "started": in-flight ones finished
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            await until_in_flight(db_url, timeout_s=5.0)  # killed while trading, on a fast machine too
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
            in_flight_at_kill.append(await in_flight(db_url))
        booked_before = await in_flight(db_url, booked=True)
        proc = await spawn(world, db_url)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=600)
        assert proc.returncode == 0 and b"done" in out
        conn = await asyncpg.connect(db_url)
        try:
            fills = await conn.fetch("SELECT order_id, status FROM executions")
            db = {r["mint"]: int(r["amount"]) for r in await conn.fetch("SELECT mint, amount FROM balances")}
        finally:
            await conn.close()
        rpc = RpcClient(world.urls["SOLANA_RPC_URL"])
        chain = await WalletFunds(Settings(), str(world.wallet.pubkey()), rpc).read()  # as the worker's
        await rpc.close()
    finally:
        await world.stop()
    assert sorted(r["order_id"] for r in fills) == sorted(f"ord:{i}" for i in range(N_ORDERS))  # once each
    assert max(world.rpc.executed_memos.values()) == 1
    assert set(world.rpc.executed_memos) == {r["order_id"] for r in fills if r["status"] == FILLED}
    assert compare_balances(db, chain) == []
    # The kills hit trading workers: orders were recorded but not booked at some kills, and the workers
    # made progress between them.
    assert sum(n > 0 for n in in_flight_at_kill) >= KILLS // 2 and booked_before > 0, (
        in_flight_at_kill,
        booked_before,
    )
    print(
        f"orders={N_ORDERS} filled={len(world.rpc.executed_memos)} kills={KILLS} sends={world.rpc.sent} "
        f"in flight at each kill={in_flight_at_kill} booked before the last start={booked_before}"
    )


async def until_in_flight(db_url: str, *, timeout_s: float) -> None:
    """Wait (up to `timeout_s`) until an order is recorded but not booked: a kill then lands mid-flight."""
    for _ in range(int(timeout_s / 0.01)):
        if await in_flight(db_url) > 0:
            return
        await asyncio.sleep(0.01)


async def in_flight(db_url: str, *, booked: bool = False) -> int:
    """Orders recorded but not booked (or, with `booked`, booked) so far."""
    conn = await asyncpg.connect(db_url)
    try:
        if booked:
            return int(await conn.fetchval("SELECT count(*) FROM executions"))
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM live_orders l "
                "WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.order_id = l.order_id)"
            )
        )
    finally:
        await conn.close()
