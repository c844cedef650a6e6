"""The Solana RPC calls a venue and the collectors need, on the shared JSON-RPC transport.

Errors come from `chain.rpc.transport` (by code, 429 with Retry-After, timeouts). `sendTransaction`
always sends `maxRetries: 0`: the order life cycle re-broadcasts the same signed bytes itself, so it
alone decides when a transaction is dead. Reads whose answer has a context report its slot (`AtSlot`, or
a record's `slot`) and take `min_context_slot`: a node behind that slot answers -32016,
`MinContextSlotNotReached`. Addresses and signatures may be given as strings or solders values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from solders.pubkey import Pubkey
from solders.signature import Signature

from chain.rpc.transport import JsonRpcTransport
from chain.rpc.types import (
    AccountInfo,
    AtSlot,
    EpochInfo,
    LatestBlockhash,
    PrioritizationFee,
    SignatureInfo,
    SignatureStatus,
    Simulation,
    TokenAccount,
    TransactionRecord,
    account_info,
    context_slot,
    signature_status,
    token_account,
    transaction_record,
)
from core.errors import RpcError

MAX_SIGNATURES = 256  # getSignatureStatuses
MAX_ACCOUNTS = 100  # getMultipleAccounts
MAX_FEE_ACCOUNTS = 128  # getRecentPrioritizationFees
TOKEN_PROGRAM_ID = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"

Address = str | Pubkey
TxSignature = str | Signature


def _with_min_slot(config: dict[str, Any], min_context_slot: int | None) -> dict[str, Any]:
    if min_context_slot is not None:
        config["minContextSlot"] = min_context_slot
    return config


class RpcClient:
    """Solana JSON-RPC over HTTP. The constructor opens nothing; `close` releases the connection pool.

    `client`: an httpx client whose timeout to adopt (see `JsonRpcTransport`); `transport`: a transport
    to share, which `close` then leaves open.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
        transport: JsonRpcTransport | None = None,
    ) -> None:
        self.url = url
        self._rpc = transport or JsonRpcTransport(url, timeout_s=timeout_s, client=client)
        self._owns_transport = transport is None

    async def close(self) -> None:
        if self._owns_transport:
            await self._rpc.close()

    async def call(self, method: str, params: list[Any]) -> Any:
        """One request; the `result`, or the mapped exception."""
        return await self._rpc.call(method, params)

    # -- blocks and slots --------------------------------------------------------------------------

    async def get_latest_blockhash(
        self, commitment: str = "confirmed", *, min_context_slot: int | None = None
    ) -> LatestBlockhash:
        config = _with_min_slot({"commitment": commitment}, min_context_slot)
        result = await self.call("getLatestBlockhash", [config])
        value = result["value"]
        return LatestBlockhash(
            blockhash=str(value["blockhash"]),
            last_valid_block_height=int(value["lastValidBlockHeight"]),
            slot=context_slot(result),
        )

    async def get_block_height(
        self, commitment: str = "confirmed", *, min_context_slot: int | None = None
    ) -> int:
        config = _with_min_slot({"commitment": commitment}, min_context_slot)
        return int(await self.call("getBlockHeight", [config]))

    async def get_slot(self, commitment: str = "confirmed", *, min_context_slot: int | None = None) -> int:
        config = _with_min_slot({"commitment": commitment}, min_context_slot)
        return int(await self.call("getSlot", [config]))

    async def get_epoch_info(
        self, commitment: str = "confirmed", *, min_context_slot: int | None = None
    ) -> EpochInfo:
        """The slot and the block height at it, read together (a height alone says nothing of the slot
        it was read at, which an expiry proof must compare with a status answer's slot)."""
        config = _with_min_slot({"commitment": commitment}, min_context_slot)
        result = await self.call("getEpochInfo", [config])
        try:
            return EpochInfo(slot=int(result["absoluteSlot"]), height=int(result["blockHeight"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RpcError(f"getEpochInfo: unexpected answer ({type(exc).__name__})") from exc

    async def get_signatures_for_address(
        self, address: Address, *, limit: int = 1000, min_context_slot: int | None = None
    ) -> list[SignatureInfo]:
        """The address's landed transactions, newest first (at most `limit`, ≤ 1000), with their memos."""
        config = _with_min_slot({"commitment": "confirmed", "limit": limit}, min_context_slot)
        result = await self.call("getSignaturesForAddress", [str(address), config])
        try:
            return [
                SignatureInfo(str(e["signature"]), int(e["slot"]), e.get("err"), e.get("memo"))
                for e in result
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise RpcError(f"getSignaturesForAddress: unexpected answer ({type(exc).__name__})") from exc

    async def get_recent_prioritization_fees(
        self, accounts: Sequence[Address] = ()
    ) -> list[PrioritizationFee]:
        """Per recent slot, the lowest fee (micro-lamports per CU) that landed writing to all `accounts`."""
        if len(accounts) > MAX_FEE_ACCOUNTS:
            raise ValueError(f"getRecentPrioritizationFees takes at most {MAX_FEE_ACCOUNTS} accounts")
        params: list[Any] = [[str(a) for a in accounts]] if accounts else []
        result = await self.call("getRecentPrioritizationFees", params)
        return [
            PrioritizationFee(slot=int(entry["slot"]), micro_lamports=int(entry["prioritizationFee"]))
            for entry in result
        ]

    # -- transactions ------------------------------------------------------------------------------

    async def send_transaction(self, tx_base64: str, *, skip_preflight: bool = False) -> str:
        """Broadcast once (maxRetries 0); the transaction's first signature, base58."""
        config = {
            "encoding": "base64",
            "skipPreflight": skip_preflight,
            "preflightCommitment": "confirmed",
            "maxRetries": 0,
        }
        return str(await self.call("sendTransaction", [tx_base64, config]))

    async def simulate_transaction(
        self, tx_base64: str, *, sig_verify: bool = False, replace_recent_blockhash: bool = False
    ) -> Simulation:
        config = {
            "encoding": "base64",
            "commitment": "confirmed",
            "sigVerify": sig_verify,
            "replaceRecentBlockhash": replace_recent_blockhash,
        }
        value = (await self.call("simulateTransaction", [tx_base64, config]))["value"]
        return Simulation(
            err=value.get("err"),
            logs=[str(line) for line in value.get("logs") or []],
            units_consumed=int(value.get("unitsConsumed") or 0),
        )

    async def get_signature_statuses(
        self, signatures: Sequence[TxSignature], *, search_history: bool = False
    ) -> list[SignatureStatus | None]:
        """Statuses aligned with `signatures` (≤ 256 a call); None where the node has not seen one."""
        return (await self.get_signature_statuses_at(signatures, search_history=search_history)).value

    async def get_signature_statuses_at(
        self, signatures: Sequence[TxSignature], *, search_history: bool = False
    ) -> AtSlot[list[SignatureStatus | None]]:
        """`get_signature_statuses` with the slot the node answered at. `search_history` also looks
        beyond the node's recent status cache (for a transaction older than ~150 slots)."""
        if len(signatures) > MAX_SIGNATURES:
            raise ValueError(f"getSignatureStatuses takes at most {MAX_SIGNATURES} signatures")
        result = await self.call(
            "getSignatureStatuses",
            [[str(s) for s in signatures], {"searchTransactionHistory": search_history}],
        )
        return AtSlot([signature_status(entry) for entry in result["value"]], context_slot(result))

    async def get_transaction(
        self, signature: TxSignature, *, encoding: str = "json", commitment: str = "confirmed"
    ) -> dict[str, Any] | None:
        """The transaction with its meta (`json`, `jsonParsed` or `base64`), v0 included; None while
        the node does not have it (it answers `result: null`)."""
        if encoding not in ("json", "jsonParsed", "base64"):
            raise ValueError("get_transaction reads the json, jsonParsed or base64 encodings")
        config = {"encoding": encoding, "commitment": commitment, "maxSupportedTransactionVersion": 0}
        result = await self.call("getTransaction", [str(signature), config])
        if result is not None and not isinstance(result, dict):
            raise RpcError("getTransaction: result is neither null nor an object")
        return result

    async def get_transaction_record(
        self, signature: TxSignature, *, encoding: str = "base64", commitment: str = "confirmed"
    ) -> TransactionRecord | None:
        """What a landed transaction did (fee, logs, balances, token balances); None while the node
        does not have it. `base64` keeps the signed bytes, `jsonParsed` the parsed message."""
        if encoding not in ("base64", "jsonParsed"):
            raise ValueError("get_transaction_record reads the base64 or jsonParsed encodings")
        result = await self.get_transaction(signature, encoding=encoding, commitment=commitment)
        return None if result is None else transaction_record(result)

    # -- accounts ----------------------------------------------------------------------------------

    async def get_account_info(
        self, pubkey: Address, *, commitment: str = "confirmed", min_context_slot: int | None = None
    ) -> AccountInfo | None:
        """The account's raw data (base64 on the wire) and owner; None when it does not exist."""
        config = _with_min_slot({"encoding": "base64", "commitment": commitment}, min_context_slot)
        result = await self.call("getAccountInfo", [str(pubkey), config])
        value = result.get("value") if isinstance(result, dict) else None
        if value is None:
            return None
        return account_info(value, context_slot(result), "getAccountInfo")

    async def get_multiple_accounts(
        self,
        pubkeys: Sequence[Address],
        *,
        commitment: str = "confirmed",
        min_context_slot: int | None = None,
    ) -> AtSlot[list[AccountInfo | None]]:
        """Up to 100 accounts read at one slot, aligned with `pubkeys`; None where one does not exist."""
        if len(pubkeys) > MAX_ACCOUNTS:
            raise ValueError(f"getMultipleAccounts takes at most {MAX_ACCOUNTS} accounts")
        config = _with_min_slot({"encoding": "base64", "commitment": commitment}, min_context_slot)
        result = await self.call("getMultipleAccounts", [[str(p) for p in pubkeys], config])
        slot = context_slot(result)
        return AtSlot([account_info(v, slot, "getMultipleAccounts") for v in result["value"]], slot)

    async def get_balance(
        self, owner: Address, *, commitment: str = "confirmed", min_context_slot: int | None = None
    ) -> AtSlot[int]:
        """The owner's lamports (native SOL: what pays fees and rent, and what Jupiter wraps)."""
        config = _with_min_slot({"commitment": commitment}, min_context_slot)
        result = await self.call("getBalance", [str(owner), config])
        return AtSlot(int(result["value"]), context_slot(result))

    async def get_token_accounts_by_owner(
        self,
        owner: Address,
        *,
        mint: Address | None = None,
        program_id: Address = TOKEN_PROGRAM_ID,
        commitment: str = "confirmed",
        min_context_slot: int | None = None,
    ) -> AtSlot[list[TokenAccount]]:
        """The owner's token accounts of one `mint`, or else of one token program (SPL Token by
        default; Token-2022 is another program id)."""
        selector = {"mint": str(mint)} if mint is not None else {"programId": str(program_id)}
        config = _with_min_slot({"encoding": "jsonParsed", "commitment": commitment}, min_context_slot)
        result = await self.call("getTokenAccountsByOwner", [str(owner), selector, config])
        return AtSlot([token_account(entry) for entry in result["value"]], context_slot(result))
