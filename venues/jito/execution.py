"""Jito's block engine (PROTOCOLS.md §3): the bundle relay client (sendBundle, getBundleStatuses,
getTipAccounts) and the tip transfer.

The tip is a plain SOL transfer to one of the 8 tip accounts placed INSIDE the main transaction (not a
separate one), so nobody can unbundle the swap and keep the tip ("uncle bandit"), and never through an
address lookup table. The account is chosen by the transaction's order id hash, spreading load evenly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import httpx
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from chain.rpc import JsonRpcTransport
from venues.fees import MIN_JITO_TIP_LAMPORTS
from venues.jito.schemas import BundleStatus, parse_bundle_status

TIP_ACCOUNTS: tuple[Pubkey, ...] = tuple(
    Pubkey.from_string(address)
    for address in (
        "96gYZGLnJYVFmbjzopPSU6QiEV5fGqZNyN9nmNhvrZU5",
        "HFqU5x63VTqvQss8hp11i4wVV8bD44PvwucfZ2bU7gRe",
        "Cw8CFyM9FkoMi7K7Crf6HNQqf4uEMzpKw6QNghXLvLkY",
        "ADaUMid9yfUytqMBgopwjb2DTLSokTSzL1zt6iGPaS49",
        "DfXygSm4jCyNCybVYYK6DwvWqjKee8pbDmJGcLWNDXjh",
        "ADuUkR4vqLUMWXxW9gh6D6L8pMSawimctcNZ5pGwDcEt",
        "DttWaMuVvTiduZRnguLF7jNxTgiMBZ1hyAumKUiL2KRL",
        "3AVi9Tg9Uo68tJfuvoKvqKNWKkC5wPdSSdeBnizKZ6jT",
    )
)
MAX_BUNDLE_TRANSACTIONS = 5


def tip_account(key: str) -> Pubkey:
    """One of the 8 tip accounts, picked deterministically from `key` (e.g. the order id)."""
    return TIP_ACCOUNTS[hashlib.sha256(key.encode("utf-8")).digest()[0] % len(TIP_ACCOUNTS)]


def tip_instruction(payer: Pubkey, lamports: int, key: str) -> Instruction:
    if lamports < MIN_JITO_TIP_LAMPORTS:
        raise ValueError(f"a Jito tip must be at least {MIN_JITO_TIP_LAMPORTS} lamports, not {lamports}")
    return transfer(TransferParams(from_pubkey=payer, to_pubkey=tip_account(key), lamports=lamports))


class JitoClient:
    """JSON-RPC to `<block engine>/api/v1/bundles`, on the shared transport (`chain.rpc.JsonRpcTransport`:
    its timeout, 429 and error-code policy). Opens nothing until the first call."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        auth_uuid: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        headers = {"x-jito-auth": auth_uuid} if auth_uuid else {}
        self._rpc = JsonRpcTransport(url, timeout_s=timeout_s, headers=headers, name="jito", client=client)

    async def close(self) -> None:
        await self._rpc.close()

    async def _call(self, method: str, params: list[Any]) -> Any:
        return await self._rpc.call(method, params)

    async def send_bundle(self, transactions_base64: Sequence[str]) -> str:
        """Send 1 to 5 signed transactions, run atomically in order; returns the bundle id."""
        if not 1 <= len(transactions_base64) <= MAX_BUNDLE_TRANSACTIONS:
            raise ValueError(f"a bundle holds 1 to {MAX_BUNDLE_TRANSACTIONS} transactions")
        return str(await self._call("sendBundle", [list(transactions_base64), {"encoding": "base64"}]))

    async def get_bundle_statuses(self, bundle_ids: Sequence[str]) -> list[BundleStatus | None]:
        if not 1 <= len(bundle_ids) <= MAX_BUNDLE_TRANSACTIONS:
            raise ValueError(f"getBundleStatuses takes 1 to {MAX_BUNDLE_TRANSACTIONS} ids")
        result = await self._call("getBundleStatuses", [list(bundle_ids)])
        return [None if entry is None else parse_bundle_status(entry) for entry in result["value"]]

    async def get_tip_accounts(self) -> list[str]:
        """The block engine's current tip accounts (base58); `TIP_ACCOUNTS` holds the published eight."""
        return [str(account) for account in await self._call("getTipAccounts", [])]
