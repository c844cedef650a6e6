"""Compute budget instructions (docs/protocols §5.1) and the priority-fee and Jito-tip policies.

Why a policy object: the unit price decides landing odds and cost at once; keeping it pure and capped
(`max_fee_lamports`) means a spike in the fee market can never spend more than the operator allowed.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
SET_COMPUTE_UNIT_LIMIT = 2
SET_COMPUTE_UNIT_PRICE = 3
MAX_COMPUTE_UNITS = 1_400_000
BASE_FEE_LAMPORTS_PER_SIGNATURE = 5_000
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000


def set_compute_unit_limit(units: int) -> Instruction:
    if not 0 <= units <= 0xFFFF_FFFF:
        raise ValueError("compute unit limit must fit a u32")
    return Instruction(
        COMPUTE_BUDGET_PROGRAM_ID, bytes([SET_COMPUTE_UNIT_LIMIT]) + units.to_bytes(4, "little"), []
    )


def set_compute_unit_price(micro_lamports: int) -> Instruction:
    if not 0 <= micro_lamports <= 2**64 - 1:
        raise ValueError("compute unit price must fit a u64")
    return Instruction(
        COMPUTE_BUDGET_PROGRAM_ID, bytes([SET_COMPUTE_UNIT_PRICE]) + micro_lamports.to_bytes(8, "little"), []
    )


def budgeted_transaction(
    payer: Keypair,
    body: list[Instruction],
    blockhash: Hash,
    limit: int | None,
    price: int | None,
    tables: Sequence[AddressLookupTableAccount] = (),
) -> VersionedTransaction:
    """A signed v0 transaction, compute budget first, compiled with the lookup `tables` the body's
    accounts may be found in. `limit` None: no budget at all; `price` None: a unit limit without a unit
    price (a Jito bundle pays its tip, not a priority fee)."""
    budget = [] if limit is None else [set_compute_unit_limit(limit)]
    if limit is not None and price is not None:
        budget.append(set_compute_unit_price(price))
    message = MessageV0.try_compile(payer.pubkey(), budget + body, list(tables), blockhash)
    return VersionedTransaction(message, [payer])


def transaction_base64(tx: VersionedTransaction) -> str:
    """The wire form RPC `sendTransaction` / `simulateTransaction` and Jito bundles take."""
    return base64.b64encode(bytes(tx)).decode("ascii")


def priority_fee_lamports(unit_limit: int, micro_lamports_per_unit: int) -> int:
    """ceil(limit * price / 1e6): what the compute budget costs on top of the signature fees."""
    return -(-unit_limit * micro_lamports_per_unit // MICRO_LAMPORTS_PER_LAMPORT)


def unit_limit(
    units_consumed: int, margin_bps: int = 2_000, floor: int = 1_000, cap: int = MAX_COMPUTE_UNITS
) -> int:
    """Simulation's units plus a margin (default 20 %), never below `floor` nor above `cap` (at most the
    chain's 1.4 M)."""
    padded = -(-units_consumed * (10_000 + margin_bps) // 10_000)
    return max(floor, min(cap, MAX_COMPUTE_UNITS, padded))


@dataclass(frozen=True, slots=True)
class PriorityFeePolicy:
    """A target unit price, capped so the whole priority fee never exceeds `max_fee_lamports`."""

    micro_lamports_per_unit: int = 10_000
    max_fee_lamports: int = 100_000

    def unit_price(self, limit: int) -> int:
        if limit <= 0:
            return 0
        cap = self.max_fee_lamports * MICRO_LAMPORTS_PER_LAMPORT // limit
        return max(0, min(self.micro_lamports_per_unit, cap))


MIN_JITO_TIP_LAMPORTS = 1_000


@dataclass(frozen=True, slots=True)
class TipPolicy:
    """A Jito tip: `tip_lamports` clamped to [1,000 (Jito's minimum), `max_tip_lamports`]."""

    tip_lamports: int = 10_000
    max_tip_lamports: int = 1_000_000

    def __post_init__(self) -> None:
        if self.max_tip_lamports < MIN_JITO_TIP_LAMPORTS:
            raise ValueError(f"max_tip_lamports must be >= {MIN_JITO_TIP_LAMPORTS}")

    def tip(self) -> int:
        return max(MIN_JITO_TIP_LAMPORTS, min(self.tip_lamports, self.max_tip_lamports))
