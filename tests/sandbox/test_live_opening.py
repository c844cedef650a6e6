"""A live run's PnL is measured from the wallet on chain at start, not from the paper wallet: before the
workers seed the database from the chain it holds nothing (and `solbot run` then took the paper opening
balances, 10,000 USDC and 50 SOL, for a wallet that may hold 25 USDC)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from core.settings import load_settings
from market.tokens import JUP, USDC
from sandbox.world import World
from solbot import runner
from solbot.run_status import Wallet


async def test_a_live_run_opens_on_the_wallets_balances_on_chain(world: World) -> None:
    world.chain.fund_wallet({JUP: 5_000})
    settings = load_settings(database_url=None, redis_url=None, solana_rpc_url=world.urls["SOLANA_RPC_URL"])
    live = SimpleNamespace(address=str(world.wallet.pubkey()))
    out = io.StringIO()
    opening = await runner.run_opening(SimpleNamespace(), settings, live, out)  # type: ignore[arg-type]
    jup = world.rpc.mint_name(str(world.chain.mint_address(JUP)))
    assert opening.balances[USDC] == 10_000 * 10**6 and opening.balances[jup] == 5_000
    assert out.getvalue() == ""


async def test_an_unreadable_chain_falls_back_to_the_stored_wallet_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = Wallet({USDC: 25 * 10**6})

    async def read_stored(*_: object) -> Wallet:
        return stored

    monkeypatch.setattr(runner, "opening_wallet", read_stored)
    settings = load_settings(
        database_url=None, redis_url=None, solana_rpc_url="http://127.0.0.1:9/?api-key=SECRET"
    )
    out = io.StringIO()
    live = SimpleNamespace(address="11111111111111111111111111111111")
    opening = await runner.run_opening(SimpleNamespace(database_url="unused"), settings, live, out)  # type: ignore[arg-type]
    assert opening is stored
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "PnL is measured from the database's wallet" in lines[0]
    assert "SECRET" not in out.getvalue()  # an RPC URL's key never reaches the console
