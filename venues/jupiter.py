"""The Jupiter venue (PROTOCOLS.md §2): quote → swap transaction → our compute budget → sign → simulate.

Jupiter returns an unsigned `VersionedTransaction`. We take its instructions apart, drop its compute
budget instructions and put our own first (unit limit from a simulation's `unitsConsumed` * margin,
unit price from `PriorityFeePolicy`), add a memo carrying the order id (so two equal orders can never
produce byte-identical transactions, and the chain records which order a swap belongs to) and, for
Jito, the tip transfer inside the same transaction. Transactions using address lookup tables cannot be
recompiled without fetching the tables; they are refused (`VenueRejected`) rather than sent unbudgeted.

`prepare` only builds and signs; it never sends. Sending, confirming and retrying belong to
`venues.lifecycle.OrderLifecycle`, which stores the signed bytes before `broadcast` is ever called.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from chain.local import memo_ix
from chain.rpc import HTTP_TOO_MANY_REQUESTS, RpcClient, is_blockhash_not_found, retry_after_s
from core.errors import (
    BlockhashNotFound,
    PreflightFailed,
    RpcRateLimited,
    RpcTimeout,
    VenueError,
    VenueRejected,
)
from market.fills import input_mint
from streams.records import Order
from venues.fees import (
    COMPUTE_BUDGET_PROGRAM_ID,
    PriorityFeePolicy,
    TipPolicy,
    budgeted_transaction,
    transaction_base64,
    unit_limit,
)
from venues.jito import JitoClient, tip_instruction

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.jup.ag/swap/v1"


@dataclass(frozen=True, slots=True)
class Quote:
    """The quote response's fields we use, as integers; `raw` is passed back to /swap untouched."""

    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    other_amount_threshold: int
    slippage_bps: int
    price_impact_pct: str
    raw: dict[str, Any]

    @classmethod
    def parse(cls, body: dict[str, Any]) -> Quote:
        return cls(
            input_mint=str(body["inputMint"]),
            output_mint=str(body["outputMint"]),
            in_amount=int(body["inAmount"]),
            out_amount=int(body["outAmount"]),
            other_amount_threshold=int(body["otherAmountThreshold"]),
            slippage_bps=int(body["slippageBps"]),
            price_impact_pct=str(body.get("priceImpactPct", "0")),
            raw=body,
        )


@dataclass(frozen=True, slots=True)
class PreparedTx:
    """A signed transaction ready to send, with what it will move if it lands."""

    signature: str
    raw_base64: str
    last_valid_block_height: int
    in_amount: int
    out_amount: int
    unit_limit: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class JupiterConfig:
    url: str = DEFAULT_URL
    api_key: str = ""
    max_slippage_bps: int = 300
    cu_margin_bps: int = 2_000
    timeout_s: float = 10.0
    use_jito: bool = False
    skip_preflight: bool = False


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


class JupiterVenue:
    """Builds and signs Jupiter swaps for one wallet; sends via the RPC node or as a Jito bundle."""

    name = "jupiter"

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

    async def quote(self, order: Order, slippage_bps: int = 0) -> Quote:
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
        return Quote.parse(await self._request("GET", "/quote", params=params))

    async def prepare(self, order: Order) -> PreparedTx | None:
        """Quote, build, budget, sign. None when the market cannot meet the order's bound (slippage)."""
        first = await self.quote(order)
        if first.out_amount < order.min_amount_out:
            return None
        quote = await self.quote(order, self.slippage_bps(order, first.out_amount))
        if quote.other_amount_threshold < order.min_amount_out or quote.out_amount < order.min_amount_out:
            return None
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
        # Simulate with the chain's maximum budget to learn what the swap really consumes.
        probe = self._sign(body, blockhash, None, 0)
        simulation = await self.rpc.simulate_transaction(transaction_base64(probe), sig_verify=False)
        if is_blockhash_not_found(simulation.err):
            # The quote's blockhash went stale before we signed: transient, prepare again.
            raise BlockhashNotFound(
                f"order {order.id}: swap blockhash expired before signing", data=simulation.err
            )
        if simulation.err is not None:
            raise PreflightFailed(
                f"order {order.id}: simulation failed: {simulation.err}", data=simulation.err
            )
        limit = unit_limit(simulation.units_consumed, self.config.cu_margin_bps)
        price = self.fees.unit_price(limit)
        # Sign with the node's newest blockhash, not the one /swap chose before quoting and simulating: the
        # transaction then has the longest life it can get, and a blockhash that went stale meanwhile
        # cannot doom it to wait out its expiry.
        latest = await self.rpc.get_latest_blockhash()
        if latest.last_valid_block_height >= last_valid:
            blockhash, last_valid = Hash.from_string(latest.blockhash), latest.last_valid_block_height
        tx = self._sign(body, blockhash, limit, price)
        return PreparedTx(
            signature=str(tx.signatures[0]),
            raw_base64=transaction_base64(tx),
            last_valid_block_height=last_valid,
            in_amount=quote.in_amount,
            out_amount=quote.out_amount,
            unit_limit=limit,
            unit_price=price,
        )

    def _sign(
        self, body: list[Instruction], blockhash: Hash, limit: int | None, price: int
    ) -> VersionedTransaction:
        return budgeted_transaction(self._wallet, body, blockhash, limit, price)

    async def broadcast(self, raw_base64: str) -> None:
        """Send the stored bytes once, via Jito or the RPC node; the signature never changes."""
        if self.config.use_jito:
            assert self.jito is not None
            await self.jito.send_bundle([raw_base64])
        else:
            await self.rpc.send_transaction(raw_base64, skip_preflight=self.config.skip_preflight)
