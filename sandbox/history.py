"""The sandbox's transaction history: what each landed transaction did, kept as a node's `getTransaction`
answers it (solana-com docs, content/docs/en/rpc/http/gettransaction.mdx: meta with err, fee, pre/post
lamport balances, pre/post token balances, log messages, units consumed, loaded addresses), and the
parsed token accounts `getTokenAccountsByOwner` answers (encoding jsonParsed)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chain.borsh import b58encode

LAMPORTS_PER_SIGNATURE = 5_000
TOKEN_PROGRAMS = frozenset(
    {
        Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
        Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"),
    }
)
COMPUTE_BUDGET = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
TOKEN_ACCOUNT_LEN = 165
_ALT_HEADER = 56


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Lamports and token balances of a transaction's accounts at one instant."""

    lamports: list[int]
    tokens: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Record:
    """One landed transaction with its meta."""

    slot: int
    block_time: int
    raw: bytes
    err: Any
    logs: list[str]
    units: int
    fee: int
    pre: Snapshot
    post: Snapshot
    loaded: tuple[list[str], list[str]]  # (writable, readonly) addresses from lookup tables


def account_keys(svm: LiteSVM, tx: VersionedTransaction) -> tuple[list[Pubkey], list[str], list[str]]:
    """Every account a transaction names, in the order a node indexes them: static keys, then the
    lookup tables' writable addresses, then their readonly ones."""
    keys = list(tx.message.account_keys)
    writable: list[str] = []
    readonly: list[str] = []
    if isinstance(tx.message, MessageV0):
        for lookup in tx.message.address_table_lookups:
            table = svm.get_account(lookup.account_key)
            data = bytes(table.data) if table is not None else b""
            entries = [data[i : i + 32] for i in range(_ALT_HEADER, len(data), 32)]
            writable += [
                str(Pubkey.from_bytes(entries[i])) for i in bytes(lookup.writable_indexes) if i < len(entries)
            ]
            readonly += [
                str(Pubkey.from_bytes(entries[i])) for i in bytes(lookup.readonly_indexes) if i < len(entries)
            ]
    return keys + [Pubkey.from_string(k) for k in writable + readonly], writable, readonly


def parse_token_account(account: Account | None) -> tuple[Pubkey, Pubkey, int] | None:
    """(mint, owner, amount) of an SPL Token or Token-2022 account, else None."""
    if account is None or account.owner not in TOKEN_PROGRAMS or len(account.data) < TOKEN_ACCOUNT_LEN:
        return None
    data = bytes(account.data)
    return Pubkey.from_bytes(data[:32]), Pubkey.from_bytes(data[32:64]), int.from_bytes(data[64:72], "little")


def mint_decimals(svm: LiteSVM, mint: Pubkey) -> int:
    account = svm.get_account(mint)
    return bytes(account.data)[44] if account is not None and len(account.data) > 44 else 0


def ui_amount(amount: int, decimals: int) -> dict[str, Any]:
    """`uiTokenAmount` / `tokenAmount` as a node writes it."""
    text = str(amount) if decimals == 0 else f"{amount / 10**decimals:.{decimals}f}".rstrip("0").rstrip(".")
    return {"amount": str(amount), "decimals": decimals, "uiAmount": float(text), "uiAmountString": text}


def snapshot(svm: LiteSVM, keys: list[Pubkey]) -> Snapshot:
    lamports, tokens = [], []
    for index, key in enumerate(keys):
        account = svm.get_account(key)
        lamports.append(0 if account is None else account.lamports)
        parsed = parse_token_account(account)
        if parsed is None or account is None:
            continue
        mint, owner, amount = parsed
        tokens.append(
            {
                "accountIndex": index,
                "mint": str(mint),
                "owner": str(owner),
                "programId": str(account.owner),
                "uiTokenAmount": ui_amount(amount, mint_decimals(svm, mint)),
            }
        )
    return Snapshot(lamports, tokens)


def fee_of(tx: VersionedTransaction) -> int:
    """The base fee per signature plus the priority fee (unit price x unit limit, rounded up), from the
    transaction's compute-budget instructions (SetComputeUnitLimit = 2, SetComputeUnitPrice = 3)."""
    keys = list(tx.message.account_keys)
    limit, price, others = None, 0, 0
    for ix in tx.message.instructions:
        data = bytes(ix.data)
        if keys[ix.program_id_index] != COMPUTE_BUDGET:
            others += 1
        elif data[:1] == b"\x02":
            limit = int.from_bytes(data[1:5], "little")
        elif data[:1] == b"\x03":
            price = int.from_bytes(data[1:9], "little")
    units = limit if limit is not None else min(200_000 * others, 1_400_000)
    priority = (price * units + 999_999) // 1_000_000
    return LAMPORTS_PER_SIGNATURE * tx.message.header.num_required_signatures + priority


def transaction_json(record: Record, encoding: str) -> dict[str, Any]:
    """`getTransaction`'s result for one record (`base64`, or `json` with the message's keys)."""
    tx = VersionedTransaction.from_bytes(record.raw)
    if encoding == "base64":
        body: Any = [base64.b64encode(record.raw).decode(), "base64"]
    else:
        message = tx.message
        body = {
            "signatures": [str(s) for s in tx.signatures],
            "message": {
                "accountKeys": [str(k) for k in message.account_keys],
                "recentBlockhash": str(message.recent_blockhash),
                "instructions": [
                    {
                        "programIdIndex": ix.program_id_index,
                        "accounts": list(bytes(ix.accounts)),
                        "data": b58encode(bytes(ix.data)),
                        "stackHeight": None,
                    }
                    for ix in message.instructions
                ],
                "header": {
                    "numRequiredSignatures": message.header.num_required_signatures,
                    "numReadonlySignedAccounts": message.header.num_readonly_signed_accounts,
                    "numReadonlyUnsignedAccounts": message.header.num_readonly_unsigned_accounts,
                },
            },
        }
    meta = {
        "err": record.err,
        "status": {"Ok": None} if record.err is None else {"Err": record.err},
        "fee": record.fee,
        "preBalances": record.pre.lamports,
        "postBalances": record.post.lamports,
        "preTokenBalances": record.pre.tokens,
        "postTokenBalances": record.post.tokens,
        "logMessages": record.logs,
        "computeUnitsConsumed": record.units,
        "innerInstructions": [],
        "rewards": [],
        "loadedAddresses": {"writable": record.loaded[0], "readonly": record.loaded[1]},
    }
    version: Any = 0 if isinstance(tx.message, MessageV0) else "legacy"
    return {
        "slot": record.slot,
        "blockTime": record.block_time,
        "meta": meta,
        "transaction": body,
        "version": version,
    }


def token_account_json(address: Pubkey, account: Account, svm: LiteSVM) -> dict[str, Any] | None:
    """One entry of `getTokenAccountsByOwner` (jsonParsed), or None if `account` is no token account."""
    parsed = parse_token_account(account)
    if parsed is None:
        return None
    mint, owner, amount = parsed
    program = "spl-token" if str(account.owner).startswith("Tokenkeg") else "spl-token-2022"
    info = {
        "isNative": False,
        "mint": str(mint),
        "owner": str(owner),
        "state": "initialized",
        "tokenAmount": ui_amount(amount, mint_decimals(svm, mint)),
    }
    return {
        "pubkey": str(address),
        "account": {
            "data": {
                "parsed": {"info": info, "type": "account"},
                "program": program,
                "space": len(account.data),
            },
            "executable": False,
            "lamports": account.lamports,
            "owner": str(account.owner),
            "rentEpoch": 18446744073709551615,
            "space": len(account.data),
        },
    }
