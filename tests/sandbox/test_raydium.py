"""The sandbox's Raydium AMM v4 double: what it refuses, and what a swap it executes moves and logs."""

from __future__ import annotations

import base64
import struct

import pytest
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_2022_PROGRAM_ID

from chain.local import ChainError, memo_ix, token_amount
from market import amm
from market.tokens import JUP, USDC
from sandbox.world import World
from venues.raydium.schemas import AMM_INFO_SIZE, AmmInfo


def jup_pool(world: World) -> str:
    return next(p for p, s in world.pools.pools.items() if s.base_mint == JUP)


def send(world: World, owner: Keypair, pool: str, *, buy: bool, amount_in: int, minimum_out: int = 0) -> str:
    ix = world.amm.swap_ix(pool, owner.pubkey(), buy=buy, amount_in=amount_in, minimum_out=minimum_out)
    message = MessageV0.try_compile(owner.pubkey(), [ix, memo_ix("t")], [], world.rpc.svm.latest_blockhash())
    return world.rpc.execute(bytes(VersionedTransaction(message, [owner])))


def funded_trader(world: World, *, register: bool = True) -> Keypair:
    owner = Keypair()
    world.rpc.svm.airdrop(owner.pubkey(), 10**9)
    world.chain.open_account(owner.pubkey(), USDC, 1_000 * 10**6)
    if register:
        world.amm.register(owner)
    return owner


def test_a_buy_moves_token_2022_and_spl_tokens_and_logs_the_reserves_before() -> None:
    world = World()
    pool = jup_pool(world)
    before = world.pools.pools[pool]
    trader = funded_trader(world)
    signature = send(world, trader, pool, buy=True, amount_in=100 * 10**6)
    assert world.rpc.landed[signature][1] is None
    out = amm.quote_out(100 * 10**6, before.quote_reserve, before.base_reserve, before.fee_bps)
    jup_account = world.chain.open_account(trader.pubkey(), JUP)
    held = world.rpc.svm.get_account(jup_account)
    assert held is not None and held.owner == TOKEN_2022_PROGRAM_ID and token_amount(held) == out
    after = world.pools.pools[pool]
    assert (after.base_reserve, after.quote_reserve) == (
        before.base_reserve - out,
        before.quote_reserve + 100 * 10**6,
    )
    assert world.chain.vault_balances(pool) == {JUP: after.base_reserve, USDC: after.quote_reserve}
    logs = world.rpc.details[signature][0]
    ray = [line for line in logs if line.startswith("Program log: ray_log: ")]
    assert len(ray) == 1  # the double logs it; the transfer hook does not log it again
    fields = struct.unpack("<BQQQQQQQ", base64.b64decode(ray[0].removeprefix("Program log: ray_log: ")))
    assert fields[5:] == (before.base_reserve, before.quote_reserve, out)
    info = AmmInfo.decode(base64.b64decode(world.rpc.account_value(pool)["data"][0]))  # type: ignore[index]
    assert len(base64.b64decode(world.rpc.account_value(pool)["data"][0])) == AMM_INFO_SIZE  # type: ignore[index]
    assert (info.coin_vault_mint, info.pc_vault_mint, info.fee_bps) == (JUP, USDC, before.fee_bps)
    assert info.coin_vault == str(world.chain.vault(pool, JUP))


@pytest.mark.parametrize(
    ("case", "code"),
    [("stranger", 7), ("bound", 30), ("broke", 1)],
    ids=["unknown owner", "slippage", "funds"],
)
def test_refused_swaps_land_failed_and_move_nothing(case: str, code: int) -> None:
    world = World()
    pool = jup_pool(world)
    before = world.pools.pools[pool]
    trader = funded_trader(world, register=case != "stranger")
    amount = 10**15 if case == "broke" else 10 * 10**6
    signature = send(
        world, trader, pool, buy=True, amount_in=amount, minimum_out=10**18 if case == "bound" else 0
    )
    assert world.rpc.landed[signature][1] == {"InstructionError": [0, {"Custom": code}]}
    assert world.pools.pools[pool] == before
    assert world.chain.vault_balances(pool) == {JUP: before.base_reserve, USDC: before.quote_reserve}


def test_a_mint_keeps_the_token_program_it_was_created_with() -> None:
    world = World()
    assert world.chain.token_program(JUP) == TOKEN_2022_PROGRAM_ID
    with pytest.raises(ChainError, match="owned by"):
        world.chain.add_token(USDC, 6, program=TOKEN_2022_PROGRAM_ID)
