"""At most one landing per order behind a balancer that mixes a lagging node with a current one.

Half the reads are answered by a node `LAG` slots behind (the sandbox's `lag_share`), sends are dropped
often (so blockhashes expire and orders are re-signed), and the lag is longer than a blockhash's life: a
height read from the current node and a status read from the lagging one would "prove" a landed
transaction expired. The life cycle's proof takes the height with its slot (`getEpochInfo`), counts a
status answer only from that slot on, and searches the wallet's transactions for the order's memo
(`minContextSlot`), so the chain never executes two transactions of one order.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import httpx
import pytest
from solders.keypair import Keypair

from chain.local import LocalChain
from chain.rpc import RpcClient
from sandbox.faults import Faults
from sandbox.http import serve
from sandbox.jupiter import SandboxJupiter
from sandbox.rpc import SandboxRpc
from sandbox.world import SOL, USDC
from tests.venues.test_lifecycle_faults import STATE, order
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import TERMINAL, LifecycleConfig, OrderLifecycle

N_ORDERS = 20
WINDOW = 60  # blocks a blockhash lives (0.6 s at 10 ms slots)
LAG = 90  # the lagging node is further behind than a blockhash lives


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_lagging_node_and_drops_never_land_an_order_twice(venue_db: asyncpg.Pool) -> None:
    wallet = Keypair()
    chain = LocalChain({SOL: 9, USDC: 6}, wallet)
    chain.fund_wallet({SOL: 10**13, USDC: 10**12})
    faults = Faults(drop=0.5, lag_slots=LAG, lag_share=0.5, seed=3)
    rpc = SandboxRpc(chain, slot_s=0.01, window=WINDOW, faults=faults)
    jupiter = SandboxJupiter(rpc, wallet.pubkey(), [STATE])
    rpc_runner, rpc_url = await serve([("POST", "/", rpc.handle)])
    jup_runner, jup_url = await serve(jupiter.routes())
    http = httpx.AsyncClient(timeout=2.0, limits=httpx.Limits(max_connections=100))
    config = LifecycleConfig(
        poll_interval_s=0.05, resend_interval_s=0.25, backoff_base_s=0.01, backoff_max_s=0.1, max_attempts=6
    )
    try:
        venue = JupiterVenue(
            RpcClient(rpc_url, client=http), wallet, JupiterConfig(url=f"{jup_url}/swap/v1"), client=http
        )
        lifecycle = OrderLifecycle(venue_db, venue, config)
        outcomes = await asyncio.gather(*(lifecycle.run(order(i)) for i in range(N_ORDERS)))
    finally:
        await http.aclose()
        await rpc_runner.cleanup()
        await jup_runner.cleanup()
    assert all(o.status in TERMINAL for o in outcomes)
    async with venue_db.acquire() as conn:
        txs = await conn.fetch("SELECT order_id, state FROM order_txs")
    resigned = sum(n > 1 for n in Counter(t["order_id"] for t in txs).values())
    # The faults bit: orders were re-signed after proven expiries, and the lagging node answered reads.
    assert resigned > 0 and faults.counts.get("drop", 0) > 0
    # Each order's memo executed at most once on the chain, and exactly the confirmed ones landed.
    assert max(rpc.executed_memos.values()) == 1
    confirmed = {o.order_id for o in outcomes if o.status == "confirmed"}
    assert set(rpc.executed_memos) == confirmed
    assert len(confirmed) >= N_ORDERS // 2
    print(f"orders={N_ORDERS} {Counter(o.status for o in outcomes)} re-signed={resigned} {faults.counts}")
