"""What a landed transaction moved for the wallet, read from its meta: the fill is booked from this, not
from the quote (a price that moved, a route that took more, fees: the chain's record is the only truth).

Token amounts are the owner's post minus pre token balances per mint (`preTokenBalances` /
`postTokenBalances`). Native SOL (a route that unwraps, `wrapAndUnwrapSol`, or a Pump.fun curve) shows no
token balance for the wallet: it is the fee payer's lamport change (account 0) with the fee added back.

What else the wallet's lamports paid is the transaction's own cost (`Landing.fee_lamports`): the fee,
and when the swap's SOL moved as tokens, every other lamport it lost too (a Jito tip, the rent of an
account it opened). Booked against SOL with the fill, it keeps the database's SOL (token plus native)
equal to the chain's.
"""

from __future__ import annotations

from collections import Counter

from chain.rpc.types import TransactionRecord
from market.tokens import WSOL
from venues.interface import Landing


def token_deltas(record: TransactionRecord, owner: str) -> Counter[str]:
    """Post minus pre token balance, by mint, over the owner's token accounts."""
    deltas: Counter[str] = Counter()
    for balance in record.post_token_balances:
        if balance.owner == owner:
            deltas[balance.mint] += balance.amount
    for balance in record.pre_token_balances:
        if balance.owner == owner:
            deltas[balance.mint] -= balance.amount
    return deltas


def landing_from_record(
    record: TransactionRecord, signature: str, owner: str, spent: str, received: str
) -> Landing:
    """The wallet's side of the swap `signature` landed: `spent` out, `received` in (raw units). The fee
    (lamports, `record.fee`) is not in the amounts; the caller values it."""
    deltas = token_deltas(record, owner)
    native = 0
    if record.pre_balances and record.post_balances:
        native = record.post_balances[0] - record.pre_balances[0] + record.fee
    spent_amount = -deltas.get(spent, 0)
    received_amount = deltas.get(received, 0)
    cost = record.fee - native  # the lamports lost (the fee added back above, taken off again)
    if spent == WSOL and spent_amount == 0:
        spent_amount, cost = -native, record.fee  # the swap's SOL leg is the lamports: only the fee is cost
    if received == WSOL and received_amount == 0:
        received_amount, cost = native, record.fee
    return Landing(
        signature=signature,
        in_amount=max(0, spent_amount),
        out_amount=max(0, received_amount),
        fee_lamports=cost,
    )
