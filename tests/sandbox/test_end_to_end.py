"""The Jupiter and Jito paths end to end on the sandbox: orders driven through the persisted order life
cycle (`venues.lifecycle`) by the Jupiter venue, over `/swap-instructions` with an address lookup table,
sent to the RPC node or as Jito bundles within the block engine's rate limit; each lands, the trader's
balances move on the chain, and the fill equals what the landed transaction's token balances say."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from solders.transaction import VersionedTransaction

from chain.rpc import RpcClient, TransactionRecord
from market.fills import FILLED
from sandbox.faults import Faults
from sandbox.world import SOL, USDC, World, sol_usdc_pool
from streams.records import Order
from venues.fee_source import FixedFees
from venues.fees import PriorityFeePolicy, TipPolicy
from venues.interface import Landing
from venues.jito.execution import TIP_ACCOUNTS, JitoClient
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue
from venues.lifecycle import CONFIRMED, LifecycleConfig, OrderLifecycle

TIP = 15_000


def order(i: int, side: str) -> Order:
    state = sol_usdc_pool()
    return Order(
        id=f"e2e:{i}",
        signal_id=f"sig:{i}",
        pair="SOL/USDC",
        side=side,
        amount_in=2_000_000 if side == "buy" else 10_000_000,  # 2 USDC, or 0.01 SOL
        min_amount_out=0,
        venue="raydium",
        pool=state.pool,
        pool_state=state,
        kind="entry",
        reason="e2e",
        ts_ms=i,
        origin_ms=i,
        decided_ms=i,
    )


@dataclass
class Trader:
    world: World
    rpc: RpcClient
    jito: JitoClient
    http: httpx.AsyncClient

    def venue(self, *, use_jito: bool) -> JupiterVenue:
        return JupiterVenue(
            self.rpc,
            self.world.wallet,
            JupiterConfig(
                url=f"{self.world.urls['JUPITER_URL']}/swap/v1", swap_instructions=True, use_jito=use_jito
            ),
            fees=FixedFees(PriorityFeePolicy(20_000), TipPolicy(TIP)),
            jito=self.jito,
            client=self.http,
            bundle_poll_s=0.1,
        )


@pytest.fixture
async def trader(world: World) -> AsyncIterator[Trader]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        rpc = RpcClient(world.urls["SOLANA_RPC_URL"], client=http)
        jito = JitoClient(world.urls["JITO_URL"], client=http, requests_per_s=4.0)  # the engine allows 5/s
        yield Trader(world, rpc, jito, http)


def _config() -> LifecycleConfig:
    return LifecycleConfig(
        poll_interval_s=0.05, resend_interval_s=5.0, backoff_base_s=0.01, backoff_max_s=0.2
    )


def landed_deltas(record: TransactionRecord, world: World) -> dict[str, int]:
    """The trader's token balance changes by the bot's mint, from the landed transaction's meta (the world
    reports its chain mints as the mainnet mints they stand for)."""
    owner = str(world.wallet.pubkey())
    assert not {str(local) for local in world.chain.mints().values()} & {
        b.mint for b in record.post_token_balances
    }
    out: dict[str, int] = {}
    for sign, balances in ((-1, record.pre_token_balances), (1, record.post_token_balances)):
        for b in balances:
            if b.owner == owner:
                out[b.mint] = out.get(b.mint, 0) + sign * b.amount
    return out


async def _drive(trader: Trader, pool: asyncpg.Pool, orders: list[Order], *, use_jito: bool) -> None:
    venue = trader.venue(use_jito=use_jito)
    lifecycle = OrderLifecycle(pool, venue, _config())
    for o in orders:
        before = trader.world.chain.balances()
        fill = await asyncio.wait_for(lifecycle.execute(o, {}, 0), 30)
        assert fill.status == FILLED, fill.reason
        outcome = await lifecycle.outcome(o.id)
        assert outcome.status == CONFIRMED and fill.signature == outcome.signature
        record = await trader.rpc.get_transaction_record(outcome.signature)
        assert record is not None and record.err is None
        tx = VersionedTransaction.from_bytes(record.transaction or b"")
        assert [t.account_key for t in tx.message.address_table_lookups] == [
            trader.world.jupiter.tables[0].key
        ]
        deltas = landed_deltas(record, trader.world)
        spent, got = (USDC, SOL) if o.side == "buy" else (SOL, USDC)
        landing = Landing(outcome.signature, -deltas[spent], deltas[got])
        assert venue.finalize(o, landing, 0) == fill  # the fill is what landed
        after = trader.world.chain.balances()
        assert (
            after[spent] == before[spent] - landing.in_amount
            and after[got] == before[got] + landing.out_amount
        )
        keys = [str(k) for k in tx.message.account_keys]
        tipped = [k for k in keys if k in {str(t) for t in TIP_ACCOUNTS}]
        assert bool(tipped) == use_jito
        if use_jito:
            i = keys.index(tipped[0])
            assert record.post_balances[i] - record.pre_balances[i] == TIP
    assert max(trader.world.rpc.executed_memos.values()) == 1


async def test_jupiter_swap_instructions_with_a_lookup_table_through_the_life_cycle(
    trader: Trader, venue_db: asyncpg.Pool
) -> None:
    await _drive(trader, venue_db, [order(1, "buy"), order(2, "sell")], use_jito=False)
    assert trader.world.jito.methods == []


async def test_jito_bundles_land_atomically_within_the_rate_limit(
    trader: Trader, venue_db: asyncpg.Pool
) -> None:
    # The RPC node lags 50 slots (0.5 s), so the venue hears of its bundles from the block engine first.
    trader.world.rpc.faults = Faults(lag_slots=50)
    await _drive(trader, venue_db, [order(3, "buy"), order(4, "sell"), order(5, "buy")], use_jito=True)
    engine = trader.world.jito
    assert engine.methods.count("sendBundle") >= 3 and engine.rate_limited == 0
    assert engine.methods.count("getInflightBundleStatuses") > 0  # polled by the venue's BundleTracker
    assert all(trader.world.rpc.landed[s][1] is None for sigs in engine.bundles.values() for s in sigs)
