"""End to end on the session broker: a Raydium v4 swap resolved over a local JSON-RPC server lands on
raw.swaps, and a followed bonding curve's accountNotification on raw.pools, where `solbot topics
tail` (streams.inspect.tail) shows both."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from solders.pubkey import Pubkey
from test_account_updates import curve_data

from chain.rpc import RpcClient
from collectors.chain_collector import ChainCollector
from collectors.sink import KafkaSink
from collectors.solana_ws import SolanaWsClient
from streams.broker import bootstrap_of, create_topics
from streams.inspect import tail
from tests.collectors.solana_pubsub_server import PubSubServer, eventually
from tests.collectors.solana_rpc_server import RpcServer
from tests.venues.raydium.test_raydium_pools import REAL_RAY_LOG, add_swap_tx, make_pool
from venues.raydium import decoders as raydium
from venues.raydium.data import RaydiumPoolResolver


@pytest.mark.integration
async def test_resolved_swap_and_pool_state_reach_the_broker(broker_url: str) -> None:
    bootstrap = bootstrap_of(broker_url)
    await create_topics(bootstrap, 4)
    signature = f"ray-{uuid.uuid4().hex}"
    curve = str(Pubkey.new_unique())
    sink = KafkaSink(bootstrap)
    await sink.start()
    delivered: list[str] = []
    try:
        async with PubSubServer() as ws, RpcServer() as rpc:
            pool = make_pool(rpc)
            logs = add_swap_tx(rpc, signature, [pool], [REAL_RAY_LOG])
            client = RpcClient(rpc.url)
            collector = ChainCollector(
                sink,
                pool_lookup=RaydiumPoolResolver(client),
                on_delivered=lambda sig, _s: delivered.append(sig),
            )
            wsc = SolanaWsClient(ws.url, stall_s=5)
            collector.attach(wsc, accounts=(curve,))
            ws.expect = 6
            task = asyncio.create_task(wsc.run())
            try:
                await asyncio.wait_for(wsc.connected.wait(), 10)
                await ws.notify_logs(raydium.PROGRAM_ID, signature=signature, logs=logs, slot=700)
                data = curve_data(virtual_token=9, virtual_sol=8, real_token=7, real_sol=6, complete=False)
                await ws.notify_account(curve, data_b64=data, slot=701, lamports=1)
                await eventually(lambda: delivered == [signature], timeout_s=15)
                await eventually(lambda: collector.stats.account_updates == 1)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await collector.close()
                await client.close()
    finally:
        await sink.stop()

    swaps = [r async for r in tail(bootstrap, "raw.swaps", limit=50)]
    [swap] = [
        r["value"] for r in swaps if isinstance(r["value"], dict) and r["value"].get("signature") == signature
    ]
    assert (swap["pool"], swap["pair"], swap["venue"]) == (str(pool.amm), "SOL/USDC", "raydium")
    pools = [r async for r in tail(bootstrap, "raw.pools", limit=50)]
    [state] = [r for r in pools if r["key"] == curve]
    assert state["value"]["base_reserve"] == 9 and state["value"]["real_quote_reserve"] == 6
