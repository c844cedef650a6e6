"""The Jupiter venue (PROTOCOLS.md §2): quote → swap transaction → our compute budget → sign → simulate.

Jupiter returns an unsigned `VersionedTransaction`. We take its instructions apart, drop its compute
budget instructions and put our own first (unit limit from a simulation's `unitsConsumed` * margin,
unit price from `PriorityFeePolicy`), add a memo carrying the order id (so two equal orders can never
produce byte-identical transactions, and the chain records which order a swap belongs to) and, for
Jito, the tip transfer inside the same transaction. Transactions using address lookup tables cannot be
recompiled without fetching the tables; they are refused (`VenueRejected`) rather than sent unbudgeted.

`prepare` only builds and signs; it never sends. Sending, confirming and retrying belong to
`venues.lifecycle.OrderLifecycle`, which stores the signed bytes before `broadcast` is ever called. The
simulation that sizes the budget is the shared preflight (`venues.preflight`).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from typing import Any

import httpx
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from chain.local import memo_ix
from chain.rpc import HTTP_TOO_MANY_REQUESTS, RpcClient, retry_after_s
from core.errors import DecodeError, RpcRateLimited, RpcTimeout, VenueError, VenueRejected
from market.fills import SLIPPAGE, input_mint
from market.venues import VenueName
from streams.records import Order
from venues.fees import (
    COMPUTE_BUDGET_PROGRAM_ID,
    PriorityFeePolicy,
    TipPolicy,
    budgeted_transaction,
    transaction_base64,
)
from venues.interface import PreparedTx, Refused, TransactionVenue, validate_order
from venues.jito.execution import JitoClient, tip_instruction
from venues.jupiter.config import JupiterConfig
from venues.jupiter.schemas import QuoteResponse
from venues.preflight import preflight

log = logging.getLogger(__name__)


def decompile(message: MessageV0) -> list[Instruction]:
    """The message's instructions with full account metas (no lookup tables allowed)."""
    if list(message.address_table_lookups):
        raise VenueRejected("transaction uses address lookup tables; use /swap-instructions instead")
    keys = list(message.account_keys)
    header = message.header
    signed = header.num_required_signatures
    writable_signed = signed - header.num_readonly_signed_accounts
    writable_unsigned = len(keys) - header.num_readonly_unsigned_accounts

    def meta(index: int) -> AccountMeta:
        is_signer = index < signed
        writable = index < writable_signed if is_signer else index < writable_unsigned
        return AccountMeta(keys[index], is_signer=is_signer, is_writable=writable)

    return [
        Instruction(keys[ix.program_id_index], bytes(ix.data), [meta(i) for i in bytes(ix.accounts)])
        for ix in message.instructions
    ]


class JupiterVenue(TransactionVenue):
    """Builds and signs Jupiter swaps for one wallet; sends via the RPC node or as a Jito bundle."""

    name: str = VenueName.JUPITER.value

    def __init__(
        self,
        rpc: RpcClient,
        wallet: Keypair,
        config: JupiterConfig | None = None,
        *,
        fees: PriorityFeePolicy | None = None,
        tips: TipPolicy | None = None,
        jito: JitoClient | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config or JupiterConfig()
        if self.config.use_jito and jito is None:
            raise ValueError("use_jito needs a JitoClient")
        self.rpc = rpc
        self.jito = jito
        self.fees = fees or PriorityFeePolicy()
        self.tips = tips or TipPolicy()
        self._wallet = wallet
        self._wallet_pk = wallet.pubkey()
        headers = {"x-api-key": self.config.api_key} if self.config.api_key else {}
        self._http = (
            client
            if client is not None
            else httpx.AsyncClient(timeout=self.config.timeout_s, headers=headers)
        )
        self._owns_http = client is None

    def __repr__(self) -> str:  # never the keypair
        return f"JupiterVenue(wallet={self._wallet_pk}, url={self.config.url})"

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, f"{self.config.url}{path}", **kwargs)
        except httpx.TimeoutException as exc:
            raise RpcTimeout(f"jupiter {path}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise VenueError(f"jupiter {path}: transport error {type(exc).__name__}") from exc
        if response.status_code == HTTP_TOO_MANY_REQUESTS:
            raise RpcRateLimited(f"jupiter {path}: rate limited", retry_after_s(response))
        if 400 <= response.status_code < 500:
            raise VenueRejected(f"jupiter {path}: HTTP {response.status_code}")
        if response.status_code >= 500:
            raise VenueError(f"jupiter {path}: HTTP {response.status_code}")
        body = response.json()
        if not isinstance(body, dict):
            raise VenueError(f"jupiter {path}: answer is not a JSON object")
        return body

    def slippage_bps(self, order: Order, expected_out: int) -> int:
        """The tolerance that makes Jupiter's on-chain minimum equal to the order's own bound."""
        if expected_out <= 0:
            return 0
        slack = max(0, expected_out - order.min_amount_out)
        return min(self.config.max_slippage_bps, slack * 10_000 // expected_out)

    async def quote(self, order: Order, slippage_bps: int = 0) -> QuoteResponse:
        state = order.pool_state
        spent = input_mint(order)
        received = state.base_mint if spent == state.quote_mint else state.quote_mint
        params: dict[str, str | int] = {
            "inputMint": spent,
            "outputMint": received,
            "amount": order.amount_in,
            "slippageBps": slippage_bps,
            "swapMode": "ExactIn",
        }
        if self.config.use_jito:
            params["forJitoBundle"] = "true"
        body = await self._request("GET", "/quote", params=params)
        try:
            return QuoteResponse.parse(body)
        except DecodeError as exc:  # an answer not shaped as documented: the venue's fault, maybe passing
            raise VenueError(f"jupiter /quote: {exc}") from exc

    async def prepare(self, order: Order, wallet: Mapping[str, int]) -> PreparedTx | Refused:
        """Quote, build, budget, sign. `Refused(slippage)` when the market cannot meet the order's bound.
        `wallet` is not consulted: the chain refuses what it cannot pay."""
        validate_order(order)
        first = await self.quote(order)
        if first.out_amount < order.min_amount_out:
            return Refused(SLIPPAGE)
        quote = await self.quote(order, self.slippage_bps(order, first.out_amount))
        if quote.other_amount_threshold < order.min_amount_out or quote.out_amount < order.min_amount_out:
            return Refused(SLIPPAGE)
        swap = await self._request(
            "POST",
            "/swap",
            json={
                "userPublicKey": str(self._wallet_pk),
                "quoteResponse": quote.raw,
                "wrapAndUnwrapSol": True,
                "dynamicComputeUnitLimit": False,
            },
        )
        unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
        last_valid = int(swap["lastValidBlockHeight"])
        message = unsigned.message
        if not isinstance(message, MessageV0):
            raise VenueRejected("jupiter returned a legacy transaction; versioned expected")
        body = [ix for ix in decompile(message) if ix.program_id != COMPUTE_BUDGET_PROGRAM_ID]
        body.append(memo_ix(order.id))
        if self.config.use_jito:
            body.append(tip_instruction(self._wallet_pk, self.tips.tip(), order.id))
        blockhash = message.recent_blockhash
        # Simulated with the chain's maximum budget to learn what the swap really consumes.
        budget = await preflight(
            self.rpc,
            self._wallet,
            body,
            blockhash,
            order_id=order.id,
            fees=self.fees,
            cu_margin_bps=self.config.cu_margin_bps,
        )
        # Sign with the node's newest blockhash, not the one /swap chose before quoting and simulating: the
        # transaction then has the longest life it can get, and a blockhash that went stale meanwhile
        # cannot doom it to wait out its expiry.
        latest = await self.rpc.get_latest_blockhash()
        if latest.last_valid_block_height >= last_valid:
            blockhash, last_valid = Hash.from_string(latest.blockhash), latest.last_valid_block_height
        tx = budgeted_transaction(self._wallet, body, blockhash, budget.unit_limit, budget.unit_price)
        return PreparedTx(
            signature=str(tx.signatures[0]),
            raw_base64=transaction_base64(tx),
            last_valid_block_height=last_valid,
            in_amount=quote.in_amount,
            out_amount=quote.out_amount,
            unit_limit=budget.unit_limit,
            unit_price=budget.unit_price,
        )

    async def broadcast(self, raw_base64: str) -> None:
        """Send the stored bytes once, via Jito or the RPC node; the signature never changes."""
        if self.config.use_jito:
            assert self.jito is not None
            await self.jito.send_bundle([raw_base64])
        else:
            await self.rpc.send_transaction(raw_base64, skip_preflight=self.config.skip_preflight)
