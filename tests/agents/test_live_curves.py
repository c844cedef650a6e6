"""Live orders on a Pump.fun bonding curve go to the Pump.fun program (the sandbox's double), in the same
batch as Jupiter's: each lands once, is booked from the landed transaction's meta (native SOL for the
curve), and the database equals the chain after a buy and after the sell; a dry run sends nothing."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from solders.keypair import Keypair

from agents.live_execution import LiveExecution
from core.settings import Settings
from market import bonding_curve as bc
from market.fills import FAILED, FILLED
from market.tokens import WSOL
from sandbox.world import World
from streams.records import Order, PoolState
from tests.agents.test_live_execution import build as live_on
from tests.agents.test_live_execution import now_ms
from tests.venues.test_lifecycle_faults import order
from venues.pumpfun.addresses import bonding_curve_pda

SOL_IN = 500_000_000  # 0.5 SOL


def launched(world: World) -> PoolState:
    """A fresh coin on the sandbox's Pump.fun double, as the chain collector would state its curve."""
    mint = Keypair().pubkey()
    curve = world.pump.add_curve(str(mint), Keypair().pubkey()).curve
    return PoolState(
        venue="pumpfun",
        pool=str(bonding_curve_pda(mint)),
        base_mint=str(mint),
        quote_mint=WSOL,
        base_decimals=bc.TOKEN_DECIMALS,
        quote_decimals=9,
        base_reserve=curve.virtual_token_reserves,
        quote_reserve=curve.virtual_sol_reserves,
        fee_bps=world.pump.fee_bps,
        real_base_reserve=curve.real_token_reserves,
        real_quote_reserve=curve.real_sol_reserves,
    )


def curve_order(oid: str, state: PoolState, side: str, amount_in: int) -> Order:
    return Order(
        id=oid, signal_id=f"sig:{oid}", pair="PUMP/SOL", side=side, amount_in=amount_in, min_amount_out=0,
        venue="pumpfun", pool=state.pool, pool_state=state, kind="entry" if side == "buy" else "exit",
        reason="t", ts_ms=1, origin_ms=1, decided_ms=1,
    )  # fmt: skip


def build(
    world: World, pool: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient, *, dry_run: bool = False
) -> LiveExecution:
    live = live_on(world, pool, settings, http, dry_run=dry_run, with_curves=True).live
    live.sol_usdc = 150.0  # what the pipeline publishes to Redis: a SOL-quoted order is valued with it
    return live


@pytest.mark.timeout(120)
async def test_curve_orders_go_to_the_pump_program_and_the_database_equals_the_chain(
    world: World, venue_db: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient
) -> None:
    live = build(world, venue_db, settings, http)
    await live.start()
    state = launched(world)
    buy = curve_order("curve:buy", state, "buy", SOL_IN)
    fills = await live.process("orders", 0, [(0, order(0)), (1, buy)], now_ms())
    by_id = {f.order_id: f for f in fills}
    assert by_id[buy.id].status == FILLED and by_id[order(0).id].status == FILLED, fills
    assert world.pump.trades == 1  # the curve order went to the program, the other one through Jupiter
    bought = by_id[buy.id]
    # Booked from what landed: the wallet's native lamports (the fee added back) and its new token account.
    assert 0 < bought.quote_amount <= SOL_IN and bought.base_amount > 0 and bought.fee_quote > 0
    assert await live.reconcile("after the buy") == []
    sell = curve_order("curve:sell", state, "sell", bought.base_amount)
    [sold] = await live.process("orders", 0, [(2, sell)], now_ms())
    assert sold.status == FILLED and sold.base_amount == bought.base_amount and sold.quote_amount > 0
    assert world.pump.trades == 2 and max(world.rpc.executed_memos.values()) == 1
    assert await live.reconcile("after the sell") == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("world", [{"window": 1000}], indirect=True)  # a blockhash lives 10 s under load
async def test_a_dry_run_simulates_a_curve_order_and_sends_nothing(
    world: World, venue_db: asyncpg.Pool, settings: Settings, http: httpx.AsyncClient
) -> None:
    live = build(world, venue_db, settings, http, dry_run=True)
    await live.start()
    [fill] = await live.process(
        "orders", 0, [(0, curve_order("curve:dry", launched(world), "buy", SOL_IN))], now_ms()
    )
    assert fill.status == FAILED and fill.reason.startswith("dry_run: ok,"), fill.reason
    assert world.rpc.sent == 0 and world.pump.trades == 0
