"""Jupiter's answers as instructions, and the v0 message compiled from them with lookup tables.

Why build the transaction ourselves: the compute budget (unit limit from our own simulation, unit
price from the fee policy, none in Jito bundles), the order's memo and the Jito tip must go into the
same transaction as the swap. Routes use address lookup tables routinely (jup-ag/docs
`build-swap-transaction.mdx`): each table named by `/swap-instructions` (`addressLookupTableAddresses`),
or by a `/swap` transaction's `address_table_lookups`, is read from the chain and the message compiled
with all of them (`MessageV0.try_compile`), so the swap's many accounts fit in one packet. Signers,
program ids and the Jito tip account stay static keys (the compiler never puts them in a table).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey

from core.errors import DecodeError
from venues.fees import COMPUTE_BUDGET_PROGRAM_ID

ADDRESS_LOOKUP_TABLE_PROGRAM_ID = "AddressLookupTab1e1111111111111111111111111"


def parse_instruction(entry: Any) -> Instruction:
    """`{programId, accounts[{pubkey, isSigner, isWritable}], data (base64)}` as an Instruction."""
    try:
        metas = [
            AccountMeta(
                Pubkey.from_string(a["pubkey"]),
                is_signer=bool(a["isSigner"]),
                is_writable=bool(a["isWritable"]),
            )
            for a in entry["accounts"]
        ]
        return Instruction(Pubkey.from_string(entry["programId"]), base64.b64decode(entry["data"]), metas)
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"jupiter instruction is not shaped as documented: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class SwapInstructions:
    """A `/swap-instructions` answer. `compute_budget` is Jupiter's own (we replace it)."""

    compute_budget: list[Instruction]
    setup: list[Instruction]
    swap: Instruction
    cleanup: list[Instruction]
    other: list[Instruction]
    lookup_tables: list[Pubkey]

    @classmethod
    def parse(cls, body: dict[str, Any]) -> SwapInstructions:
        try:
            cleanup = body.get("cleanupInstruction")
            return cls(
                compute_budget=[parse_instruction(i) for i in body["computeBudgetInstructions"]],
                setup=[parse_instruction(i) for i in body["setupInstructions"]],
                swap=parse_instruction(body["swapInstruction"]),
                cleanup=[] if cleanup is None else [parse_instruction(cleanup)],
                other=[parse_instruction(i) for i in body.get("otherInstructions") or []],
                lookup_tables=[Pubkey.from_string(a) for a in body["addressLookupTableAddresses"]],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DecodeError(f"jupiter /swap-instructions: {exc!r}") from exc

    def body(self) -> list[Instruction]:
        """What executes the swap, in the documented order (setup, swap, cleanup), then the rest."""
        return [*self.setup, self.swap, *self.cleanup, *self.other]


def parse_lookup_table(address: Pubkey, data: bytes) -> AddressLookupTableAccount:
    """An `AddressLookupTable` account (56-byte header, then 32-byte addresses) with its address."""
    try:
        table = AddressLookupTable.deserialize(data)
    except Exception as exc:  # solders raises its own error types for bad bytes
        raise DecodeError(f"lookup table {address}: not an address lookup table ({exc})") from exc
    return AddressLookupTableAccount(address, list(table.addresses))


def decompile(message: MessageV0, tables: Sequence[AddressLookupTableAccount] = ()) -> list[Instruction]:
    """The message's instructions with full account metas; `tables` must hold every table it looks up.

    Account order in a v0 message: static keys, then each lookup's writable addresses, then each
    lookup's read-only ones (loaded addresses are never signers)."""
    by_key = {table.key: table.addresses for table in tables}
    writable_loaded: list[Pubkey] = []
    readonly_loaded: list[Pubkey] = []
    for lookup in message.address_table_lookups:
        addresses = by_key.get(lookup.account_key)
        if addresses is None:
            raise DecodeError(f"lookup table {lookup.account_key} was not given")
        try:
            writable_loaded += [addresses[i] for i in bytes(lookup.writable_indexes)]
            readonly_loaded += [addresses[i] for i in bytes(lookup.readonly_indexes)]
        except IndexError:
            raise DecodeError(f"lookup table {lookup.account_key} is shorter than the message says") from None
    static = list(message.account_keys)
    keys = static + writable_loaded + readonly_loaded
    header = message.header
    signed = header.num_required_signatures
    writable_signed = signed - header.num_readonly_signed_accounts
    writable_static = len(static) - header.num_readonly_unsigned_accounts
    loaded_writable_end = len(static) + len(writable_loaded)

    def meta(index: int) -> AccountMeta:
        if index < signed:
            return AccountMeta(keys[index], is_signer=True, is_writable=index < writable_signed)
        if index < len(static):
            return AccountMeta(keys[index], is_signer=False, is_writable=index < writable_static)
        return AccountMeta(keys[index], is_signer=False, is_writable=index < loaded_writable_end)

    return [
        Instruction(keys[ix.program_id_index], bytes(ix.data), [meta(i) for i in bytes(ix.accounts)])
        for ix in message.instructions
    ]


def without_compute_budget(instructions: Sequence[Instruction]) -> list[Instruction]:
    return [ix for ix in instructions if ix.program_id != COMPUTE_BUDGET_PROGRAM_ID]


def compile_v0(
    payer: Pubkey,
    instructions: Sequence[Instruction],
    tables: Sequence[AddressLookupTableAccount],
    blockhash: Hash,
) -> MessageV0:
    return MessageV0.try_compile(payer, list(instructions), list(tables), blockhash)
