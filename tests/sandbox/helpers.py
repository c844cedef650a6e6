"""Transactions the sandbox tests sign as the world's trader."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

from solders.hash import Hash
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from chain.local import memo_ix, transfer_checked_ix
from sandbox.world import USDC, World, sol_usdc_pool


def usdc_payment(world: World, amount: int, blockhash: Hash, memo: str = "pay") -> VersionedTransaction:
    """`amount` USDC from the trader into the pool's USDC vault, with a memo."""
    chain, payer = world.chain, world.wallet.pubkey()
    vault = chain.vault(sol_usdc_pool().pool, USDC)
    ixs = [
        transfer_checked_ix(chain.wallet_account(USDC), chain.mint_address(USDC), vault, payer, amount, 6),
        memo_ix(memo),
    ]
    return VersionedTransaction(MessageV0.try_compile(payer, ixs, [], blockhash), [world.wallet])


def b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


async def eventually(check: Callable[[], object], timeout_s: float = 5.0) -> None:
    """Wait until `check()` is truthy (no fixed sleeps)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
