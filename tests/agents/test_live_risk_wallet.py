"""Live risk sizes from the wallet on chain (getTokenAccountsByOwner + getBalance), not from the paper
opening balances: at start (the fresh risk state) and at each reconciliation, against `solbot sandbox`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from agent_fakes import context
from test_risk_runner import signal_event, state_of

from agents.live_wallet import WalletFunds
from agents.reconcile import RiskReconciler
from agents.risk import RiskRunner
from chain.rpc import RpcClient
from chain.rpc.balances import wallet_token_balances
from core.settings import Settings, load_settings
from market.tokens import USDC, WSOL
from risk.state import PendingOrder
from sandbox.world import World

RESERVE_SOL = 0.05


@pytest.fixture
async def rpc(world: World) -> AsyncIterator[RpcClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield RpcClient(world.urls["SOLANA_RPC_URL"], client=http)


def live_settings(paper_usdc: float) -> Settings:
    return load_settings(
        database_url=None,
        redis_url=None,
        risk_fill_wait_ms=60_000,
        paper_start_usdc=paper_usdc,
        live_fee_reserve_sol=RESERVE_SOL,
        opening_inventory="excluded",
    )


async def expected_funds(rpc: RpcClient, owner: str) -> dict[str, int]:
    """The wallet as the chain holds it: its token balances, native SOL above the reserve as SOL."""
    funds = await wallet_token_balances(rpc, owner)
    lamports = (await rpc.get_balance(owner)).value
    funds[WSOL] = funds.get(WSOL, 0) + lamports - round(RESERVE_SOL * 10**9)
    return funds


async def test_live_risk_opens_on_the_wallet_and_sizes_from_it(world: World, rpc: RpcClient) -> None:
    owner = str(world.wallet.pubkey())
    settings = live_settings(paper_usdc=5_000_000.0)  # paper money the wallet does not have
    runner = RiskRunner(context(settings))
    runner.wallet = WalletFunds(settings, owner, rpc)
    await runner.decide_batch([signal_event(0, "sig:a", 1_000)])
    state = state_of(runner)
    funds = await expected_funds(rpc, owner)
    assert state.balances == funds and funds[USDC] == 10_000 * 10**6
    orders = [orjson.loads(v) for _, v, _ in runner.ctx.topics.orders_topic.sent]  # type: ignore[attr-defined]
    rej = [orjson.loads(v) for _, v, _ in runner.ctx.topics.rejected_topic.sent]  # type: ignore[attr-defined]
    assert len(orders) == 1, rej
    # The same signal on the paper wallet would have bought with more USDC than the chain holds.
    paper = RiskRunner(context(settings))
    await paper.decide_batch([signal_event(0, "sig:a", 1_000)])
    paper_orders = [orjson.loads(v) for _, v, _ in paper.ctx.topics.orders_topic.sent]  # type: ignore[attr-defined]
    assert orders[0]["amount_in"] <= funds[USDC] < paper_orders[0]["amount_in"]


async def test_each_reconciliation_takes_the_wallet_balances_unless_orders_are_pending(
    world: World, rpc: RpcClient
) -> None:
    owner = str(world.wallet.pubkey())
    settings = live_settings(paper_usdc=10_000.0)
    runner = RiskRunner(context(settings))
    runner.wallet = WalletFunds(settings, owner, rpc)
    reconciler = RiskReconciler(runner.ctx, runner)
    state = await runner.opening_state()
    world.chain.fund_wallet({USDC: 123 * 10**6})  # a deposit (or a trade made by hand)
    assert await reconciler.sync_wallet(state)
    assert state.balances == await expected_funds(rpc, owner)
    assert state.balances[USDC] == 10_123 * 10**6
    state.pending["ord:a"] = PendingOrder("SOL/USDC", "buy", USDC, 1, 1, "entry")
    world.chain.fund_wallet({USDC: 1})
    assert not await reconciler.sync_wallet(state)  # deferred: the pending order may have landed
    assert state.balances[USDC] == 10_123 * 10**6
