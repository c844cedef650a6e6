"""A live execution worker for the crash test: orders 0..N-1 (`tests.venues.test_lifecycle_faults.order`)
read as offsets of one partition, four a batch, through `LiveExecution` against a sandbox; at start it
finishes what a killed predecessor left in flight, then resumes at the stored offset, as the execution
agent does. Prints `done` when every order is booked.

    python -m tests.agents.live_worker RPC_URL JUPITER_URL DATABASE_URL N
"""

from __future__ import annotations

import asyncio
import sys
import time

import httpx

from agents.live_execution import LiveExecution
from chain.rpc import RpcClient
from core.settings import Settings
from sandbox.world import trader_keypair
from store.db import create_pool
from store.execution import ExecutionSink
from tests.venues.test_lifecycle_faults import order
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import LifecycleConfig

CONSUMER = "crash.execution"


async def main(rpc_url: str, jupiter_url: str, database_url: str, n: int) -> None:
    pool = await create_pool(database_url, max_size=5)
    async with httpx.AsyncClient(timeout=5.0) as http:
        rpc = RpcClient(rpc_url, client=http)
        venue = JupiterVenue(rpc, trader_keypair(1), JupiterConfig(url=f"{jupiter_url}/swap/v1"), client=http)
        sink = ExecutionSink(pool, consumer=CONSUMER, portfolio="main", venue=venue)
        config = LifecycleConfig(poll_interval_s=0.05, resend_interval_s=0.3, backoff_base_s=0.01)
        live = LiveExecution(Settings(), pool, sink, venue, config=config)
        await live.start()
        print("started", flush=True)
        offset = (await sink.next_offsets("orders")).get(0, 0)
        while offset < n:
            batch = [(i, order(i)) for i in range(offset, min(n, offset + 4))]
            await live.process("orders", 0, batch, int(time.time() * 1000))
            offset = batch[-1][0] + 1
    await pool.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
