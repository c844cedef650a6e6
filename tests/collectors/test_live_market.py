"""The live market end to end without a broker: a sandbox whose simulated traders swap on its pools
(one of them a Token-2022 coin), the live collectors on its PubSub and RPC, and the features folded from
what they produce, whose prices must be the chain pools' prices."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from spl.token.constants import TOKEN_2022_PROGRAM_ID

from backtest.memory_tables import feature_tables
from chain.rpc import RpcClient
from collectors.live import LiveMarket
from core.settings import Settings
from features.folding import FeatureFolder
from market.tokens import JUP
from sandbox.world import World, WorldConfig
from streams.codec import decode
from streams.records import FeatureSnapshot, PoolState, Swap
from streams.topics import RAW_SWAPS
from tests.collectors.test_chain_collector import MemorySink
from tests.sandbox.helpers import eventually

PAIRS = {"SOL/USDC", "JUP/USDC", "BONK/SOL"}


def human_price(state: PoolState | Swap) -> float:
    return (state.quote_reserve / 10**state.quote_decimals) / (state.base_reserve / 10**state.base_decimals)


async def test_features_follow_the_sandbox_pools_traded_by_simulated_traders() -> None:
    world = World(WorldConfig(slot_s=0.05, traders=3, rate_eps=60.0))
    urls = await world.start()
    sink = MemorySink()
    settings = Settings(
        solana_rpc_url=urls["SOLANA_RPC_URL"], solana_ws_url=urls["SOLANA_WS_URL"], collect_new_curves=0
    )
    market = LiveMarket(settings, sink)
    try:
        await market.start()
        assert market.chain is not None
        await eventually(lambda: {s.pair for s in swaps(sink)} == PAIRS, timeout_s=20)
        assert world.traders is not None
        await world.traders.stop()  # the market stands still: what was sent is all there is
        await asyncio.sleep(0.5)
        await market.chain.drain()
        landed = list(world.traders.recent)
        await eventually(lambda: swaps(sink)[-1].signature == landed[-1], timeout_s=10)
        await market.chain.drain()
        jup = next(s for s in reversed(swaps(sink)) if s.base_mint == JUP)
        async with httpx.AsyncClient(timeout=5.0) as http:
            record = await RpcClient(urls["SOLANA_RPC_URL"], client=http).get_transaction_record(
                jup.signature
            )
    finally:
        await market.stop()
        await world.stop()

    produced = swaps(sink)
    assert world.traders.stats.failed == 0
    # Every swap the traders landed once the collector listened was decoded and attributed, in order.
    signatures = [s.signature for s in produced]
    assert signatures == landed[landed.index(signatures[0]) :]
    assert market.chain.stats.dead_letters == market.chain.stats.resolve_failed == 0
    # The last swap of each pool states the reserves the chain's pool holds now.
    last: dict[str, Swap] = {}
    for swap in produced:
        last[swap.pool] = swap
    for pool, swap in last.items():
        chain_pool = world.pools.pools[pool]
        assert (swap.base_reserve, swap.quote_reserve) == (chain_pool.base_reserve, chain_pool.quote_reserve)
        assert (swap.base_mint, swap.quote_mint) == (chain_pool.base_mint, chain_pool.quote_mint)
    # Features from those swaps price each pair as its pools do (depth-weighted; arbitrage keeps the
    # two pools of a pair within a fee or so of each other).
    folder = FeatureFolder(snapshot_interval_ms=200, **feature_tables(hops=False))
    snapshots: dict[str, FeatureSnapshot] = {}
    for offset, swap in enumerate(produced):
        snap = folder.fold(swap, 0, offset, swap.received_ms)
        if snap is not None:
            snapshots[snap.pair] = snap
    assert set(snapshots) == PAIRS
    for pair, snap in snapshots.items():
        pools = [p for p in world.pools.pools.values() if p.pool in last and last[p.pool].pair == pair]
        assert pools
        for pool in pools:
            assert snap.price == pytest.approx(human_price(pool), rel=0.02), pair
    # The Token-2022 coin: its swap moved Token-2022 balances, and the trader's change read from the
    # transaction's pre/post token balances (how a fill is booked from what landed) is the swap's amount.
    assert record is not None and record.err is None
    # token balances name the mint as on mainnet (the sandbox's RPC maps its chain mints)
    jup_mint = world.rpc.mint_name(str(world.chain.mint_address(JUP)))
    vault_owner = str(world.chain.pool_authority)
    moved = [b for b in record.pre_token_balances + record.post_token_balances if b.mint == jup_mint]
    assert moved and {b.program_id for b in moved} == {str(TOKEN_2022_PROGRAM_ID)}
    trader = {b.owner for b in moved} - {vault_owner}
    assert len(trader) == 1
    change = sum(b.amount for b in record.post_token_balances if b.mint == jup_mint and b.owner in trader)
    change -= sum(b.amount for b in record.pre_token_balances if b.mint == jup_mint and b.owner in trader)
    assert change == (jup.base_amount if jup.side == "buy" else -jup.base_amount)


def swaps(sink: MemorySink) -> list[Swap]:
    out: list[Any] = [decode(Swap, value) for _key, value in sink.on(RAW_SWAPS.name)]
    return out
