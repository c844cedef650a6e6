"""A wallet's token balances as the chain holds them: what live trading reconciles its database with."""

from __future__ import annotations

from collections import Counter

from chain.rpc.client import TOKEN_PROGRAM_ID, Address, RpcClient
from market.tokens import WSOL

TOKEN_2022_PROGRAM_ID = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # spl-token-2022's program id


async def wallet_token_balances(rpc: RpcClient, owner: Address) -> dict[str, int]:
    """Raw amount by mint over every token account the owner holds (SPL Token and Token-2022); the
    two reads are tied to one state of the chain by `minContextSlot` (the second not older than the first)."""
    totals: Counter[str] = Counter()
    first = await rpc.get_token_accounts_by_owner(owner, program_id=TOKEN_PROGRAM_ID)
    second = await rpc.get_token_accounts_by_owner(
        owner, program_id=TOKEN_2022_PROGRAM_ID, min_context_slot=first.slot
    )
    for account in [*first.value, *second.value]:
        totals[account.mint] += account.amount
    return dict(totals)


async def wallet_funds(rpc: RpcClient, owner: Address, fee_reserve_lamports: int) -> dict[str, int]:
    """What live orders may be sized from: every token balance, plus the native SOL above the fee reserve
    counted as wrapped SOL (a SOL swap wraps it; fees come out of it). Read after the token balances and
    not older than them (`minContextSlot`), so the sum is not from two far-apart states of the chain."""
    tokens = await wallet_token_balances(rpc, owner)
    slot = await rpc.get_slot()
    lamports = await rpc.get_balance(owner, min_context_slot=slot)
    funds = dict(tokens)
    spendable = max(0, lamports.value - fee_reserve_lamports)
    if spendable:
        funds[WSOL] = funds.get(WSOL, 0) + spendable
    return funds
