"""What the RPC answers, as small frozen records, and how each is read from the answer's JSON."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from core.errors import RpcError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AtSlot(Generic[T]):
    """An answer with the slot the node answered at (`context.slot`): reads that must describe one state
    of the chain compare these (and ask the next node for `minContextSlot`)."""

    value: T
    slot: int


@dataclass(frozen=True, slots=True)
class LatestBlockhash:
    blockhash: str
    last_valid_block_height: int
    slot: int


@dataclass(frozen=True, slots=True)
class EpochInfo:
    """`getEpochInfo`: a slot and the block height at that slot, from one answer of one node."""

    slot: int
    height: int


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """One `getSignaturesForAddress` entry: a landed transaction naming the address, and its memo."""

    signature: str
    slot: int
    err: object
    memo: str | None


@dataclass(frozen=True, slots=True)
class Simulation:
    err: object  # None when the simulation succeeded
    logs: list[str]
    units_consumed: int


@dataclass(frozen=True, slots=True)
class AccountInfo:
    data: bytes
    owner: str
    lamports: int
    slot: int  # the context slot the node answered at


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    slot: int
    confirmations: int | None  # None once rooted
    err: object  # None when the transaction succeeded
    confirmation_status: str | None  # processed | confirmed | finalized


@dataclass(frozen=True, slots=True)
class TokenAccount:
    """An SPL token account (read jsonParsed): `amount` in base units."""

    pubkey: str
    mint: str
    owner: str
    amount: int
    decimals: int
    program_id: str  # the token program that owns it (SPL Token or Token-2022)


@dataclass(frozen=True, slots=True)
class PrioritizationFee:
    slot: int
    micro_lamports: int  # per compute unit, the lowest that landed in that slot


@dataclass(frozen=True, slots=True)
class TokenBalance:
    """One entry of a transaction's pre/post token balances."""

    account_index: int
    mint: str
    owner: str | None
    amount: int
    decimals: int
    program_id: str | None = None  # SPL Token or Token-2022 (a node writes it since v1.14)


@dataclass(frozen=True, slots=True)
class TransactionRecord:
    """A landed transaction and what it did, from `getTransaction` (base64 or jsonParsed)."""

    slot: int
    block_time: int | None
    err: object  # None when it succeeded
    fee: int
    logs: list[str]
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[TokenBalance]
    post_token_balances: list[TokenBalance]
    compute_units_consumed: int | None
    transaction: bytes | None  # the signed bytes (base64 encoding); None when read jsonParsed
    parsed: dict[str, Any] | None  # the `transaction` object (jsonParsed encoding); None for base64


def context_slot(result: dict[str, Any]) -> int:
    return int(result["context"]["slot"])


def account_info(value: dict[str, Any] | None, slot: int, method: str) -> AccountInfo | None:
    """An account read with `encoding: base64`; None when it does not exist."""
    if value is None:
        return None
    data = value.get("data")
    if not (isinstance(data, list) and len(data) == 2 and data[1] == "base64"):
        raise RpcError(f'{method}: data is not [<base64>, "base64"]')
    try:
        raw = base64.b64decode(str(data[0]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RpcError(f"{method}: data is not valid base64") from exc
    return AccountInfo(
        data=raw, owner=str(value.get("owner")), lamports=int(value.get("lamports") or 0), slot=slot
    )


def signature_status(entry: dict[str, Any] | None) -> SignatureStatus | None:
    if entry is None:
        return None
    confirmations = entry.get("confirmations")
    return SignatureStatus(
        slot=int(entry.get("slot") or 0),
        confirmations=None if confirmations is None else int(confirmations),
        err=entry.get("err"),
        confirmation_status=entry.get("confirmationStatus"),
    )


def token_account(entry: dict[str, Any]) -> TokenAccount:
    account = entry["account"]
    data = account["data"]
    if not isinstance(data, dict) or "parsed" not in data:
        raise RpcError("getTokenAccountsByOwner: account data is not jsonParsed")
    info = data["parsed"]["info"]
    amount = info["tokenAmount"]
    return TokenAccount(
        pubkey=str(entry["pubkey"]),
        mint=str(info["mint"]),
        owner=str(info["owner"]),
        amount=int(amount["amount"]),
        decimals=int(amount["decimals"]),
        program_id=str(account["owner"]),
    )


def token_balance(entry: dict[str, Any]) -> TokenBalance:
    amount = entry["uiTokenAmount"]
    owner = entry.get("owner")
    return TokenBalance(
        account_index=int(entry["accountIndex"]),
        mint=str(entry["mint"]),
        owner=None if owner is None else str(owner),
        amount=int(amount["amount"]),
        decimals=int(amount["decimals"]),
        program_id=None if entry.get("programId") is None else str(entry["programId"]),
    )


def transaction_record(result: dict[str, Any]) -> TransactionRecord:
    meta = result.get("meta") or {}
    tx = result.get("transaction")
    raw: bytes | None = None
    parsed: dict[str, Any] | None = None
    if isinstance(tx, list) and len(tx) == 2 and tx[1] == "base64":
        try:
            raw = base64.b64decode(str(tx[0]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RpcError("getTransaction: transaction is not valid base64") from exc
    elif isinstance(tx, dict):
        parsed = tx
    else:
        raise RpcError('getTransaction: transaction is neither [<base64>, "base64"] nor an object')
    block_time = result.get("blockTime")
    units = meta.get("computeUnitsConsumed")
    return TransactionRecord(
        slot=int(result["slot"]),
        block_time=None if block_time is None else int(block_time),
        err=meta.get("err"),
        fee=int(meta.get("fee") or 0),
        logs=[str(line) for line in meta.get("logMessages") or []],
        pre_balances=[int(b) for b in meta.get("preBalances") or []],
        post_balances=[int(b) for b in meta.get("postBalances") or []],
        pre_token_balances=[token_balance(e) for e in meta.get("preTokenBalances") or []],
        post_token_balances=[token_balance(e) for e in meta.get("postTokenBalances") or []],
        compute_units_consumed=None if units is None else int(units),
        transaction=raw,
        parsed=parsed,
    )
