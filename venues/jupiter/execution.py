"""The Jupiter venue (docs/protocols §2): quote → swap instructions → our compute budget → sign → simulate.

By default the venue asks `/swap-instructions` and builds the transaction itself; with
`swap_instructions` off it takes the unsigned `/swap` transaction apart instead. Either way Jupiter's
compute budget is dropped and ours put first (unit limit from a simulation's `unitsConsumed` x margin,
capped; unit price from the fee source, none in a Jito bundle), a memo carrying the order id is added
(so two equal orders can never produce byte-identical transactions, and the chain records which order a
swap belongs to) and, for Jito, the tip transfer inside the same transaction. Routes with address lookup
tables (most of them) are compiled with those tables, read from the chain (`venues.jupiter.build`).

`prepare` only builds and signs; it never sends. Sending, confirming and retrying belong to
`venues.lifecycle.OrderLifecycle`, which stores the signed bytes before `broadcast` is ever called. The
simulation that sizes the budget is the shared preflight (`venues.preflight`). In bundle mode a
`BundleTracker` remembers each transaction's bundle so the life cycle learns at once when Jito failed
it, and re-sends go out only on a free rate-limit token.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chain.local import memo_ix
from chain.rpc import HTTP_TOO_MANY_REQUESTS, RpcClient, retry_after_s
from chain.rpc.client import MAX_ACCOUNTS
from core.errors import DecodeError, RpcRateLimited, RpcTimeout, VenueError, VenueRejected
from market.fills import SLIPPAGE, input_mint
from market.venues import VenueName
from streams.records import Order
from venues.fee_source import FeeSource, FixedFees
from venues.fees import PriorityFeePolicy, TipPolicy, budgeted_transaction, transaction_base64
from venues.interface import PreparedTx, Refused, RelayVerdict, TransactionVenue, validate_order
from venues.jito.execution import TIP_ACCOUNTS, JitoClient, tip_instruction
from venues.jito.status import BundleTracker
from venues.jupiter.build import (
    SwapInstructions,
    decompile,
    parse_lookup_table,
    without_compute_budget,
)
from venues.jupiter.config import JupiterConfig
from venues.jupiter.schemas import QuoteResponse
from venues.preflight import preflight

log = logging.getLogger(__name__)

__all__ = ["JupiterVenue", "decompile"]


class JupiterVenue(TransactionVenue):
    """Builds and signs Jupiter swaps for one wallet; sends via the RPC node or as a Jito bundle."""

    name: str = VenueName.JUPITER.value

    def __init__(
        self,
        rpc: RpcClient,
        wallet: Keypair,
        config: JupiterConfig | None = None,
        *,
        fees: PriorityFeePolicy | FeeSource | None = None,
        tips: TipPolicy | None = None,
        jito: JitoClient | None = None,
        client: httpx.AsyncClient | None = None,
        bundle_poll_s: float = 1.0,
    ) -> None:
        self.config = config or JupiterConfig()
        if self.config.use_jito and jito is None:
            raise ValueError("use_jito needs a JitoClient")
        self.rpc = rpc
        self.jito = jito
        self.fees: FeeSource = (
            fees
            if fees is not None and not isinstance(fees, PriorityFeePolicy)
            else FixedFees(fees or PriorityFeePolicy(), tips or TipPolicy())
        )
        self.bundles = None if jito is None else BundleTracker(jito, poll_interval_s=bundle_poll_s)
        self.tip_accounts: tuple[Pubkey, ...] = TIP_ACCOUNTS  # the block engine's, once `start` read them
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

    def address(self) -> str:
        return str(self._wallet_pk)

    async def start(self) -> None:
        """In bundle mode, the tip accounts as the block engine names them now (`getTipAccounts`)."""
        if not self.config.use_jito or self.jito is None:
            return
        try:
            accounts = tuple(Pubkey.from_string(a) for a in await self.jito.get_tip_accounts())
        except (VenueError, ValueError) as exc:
            log.warning("jito tip accounts not read (%s); tipping the published eight", exc)
            return
        if accounts:
            self.tip_accounts = accounts

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
        if self.config.swap_instructions:
            body, tables = await self._from_swap_instructions(quote)
        else:
            body, tables = await self._from_swap_transaction(quote)
        body.append(memo_ix(order.id))
        bundle = self.config.use_jito
        if bundle:
            tip = await self.fees.tip(order.kind)
            body.append(tip_instruction(self._wallet_pk, tip, order.id, self.tip_accounts))
        pays_priority = not bundle or self.config.priority_fee_in_bundles
        fees = await self.fees.priority(body, order.kind) if pays_priority else None
        latest = await self.rpc.get_latest_blockhash()
        blockhash = Hash.from_string(latest.blockhash)
        # Simulated at the chain's maximum unit limit to learn what the swap really consumes.
        budget = await preflight(
            self.rpc,
            self._wallet,
            body,
            blockhash,
            order_id=order.id,
            fees=fees,
            cu_margin_bps=self.config.cu_margin_bps,
            tables=tables,
            max_unit_limit=self.config.max_unit_limit,
        )
        # Signed with the node's newest blockhash (read just before simulating), not one Jupiter chose
        # before quoting: the transaction then has the longest life it can get.
        price = budget.unit_price if pays_priority else None
        tx = budgeted_transaction(self._wallet, body, blockhash, budget.unit_limit, price, tables)
        return PreparedTx(
            signature=str(tx.signatures[0]),
            raw_base64=transaction_base64(tx),
            last_valid_block_height=latest.last_valid_block_height,
            in_amount=quote.in_amount,
            out_amount=quote.out_amount,
            unit_limit=budget.unit_limit,
            unit_price=budget.unit_price,
        )

    def _swap_request(self, quote: QuoteResponse) -> dict[str, Any]:
        return {
            "userPublicKey": str(self._wallet_pk),
            "quoteResponse": quote.raw,
            "wrapAndUnwrapSol": True,
            "dynamicComputeUnitLimit": False,
        }

    async def _from_swap_instructions(
        self, quote: QuoteResponse
    ) -> tuple[list[Instruction], list[AddressLookupTableAccount]]:
        answer = await self._request("POST", "/swap-instructions", json=self._swap_request(quote))
        try:
            parsed = SwapInstructions.parse(answer)
        except DecodeError as exc:
            raise VenueError(str(exc)) from exc
        tables = await self.lookup_tables(parsed.lookup_tables)
        return without_compute_budget(parsed.body()), tables

    async def _from_swap_transaction(
        self, quote: QuoteResponse
    ) -> tuple[list[Instruction], list[AddressLookupTableAccount]]:
        swap = await self._request("POST", "/swap", json=self._swap_request(quote))
        unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
        message = unsigned.message
        if not isinstance(message, MessageV0):
            raise VenueRejected("jupiter returned a legacy transaction; versioned expected")
        tables = await self.lookup_tables([lookup.account_key for lookup in message.address_table_lookups])
        try:
            body = without_compute_budget(decompile(message, tables))
        except DecodeError as exc:
            raise VenueError(f"jupiter /swap: {exc}") from exc
        return body, tables

    async def lookup_tables(self, addresses: Sequence[Pubkey]) -> list[AddressLookupTableAccount]:
        """The route's address lookup tables as the chain holds them now (one `getMultipleAccounts`).
        A table the node does not have (yet) is a transient error: Jupiter's tables are live ones."""
        if not addresses:
            return []
        if len(addresses) > MAX_ACCOUNTS:
            raise VenueRejected(f"route uses {len(addresses)} lookup tables")
        found = await self.rpc.get_multiple_accounts(list(addresses))
        tables = []
        for address, account in zip(addresses, found.value, strict=True):
            if account is None:
                raise VenueError(f"lookup table {address} not found on the node")
            try:
                tables.append(parse_lookup_table(address, account.data))
            except DecodeError as exc:
                raise VenueError(str(exc)) from exc
        return tables

    async def broadcast(self, raw_base64: str) -> None:
        """Send the stored bytes once, via Jito or the RPC node; the signature never changes."""
        if self.config.use_jito:
            assert self.jito is not None and self.bundles is not None
            bundle_id = await self.jito.send_bundle([raw_base64])
            self.bundles.sent(_signature_of(raw_base64), bundle_id)
        else:
            await self.rpc.send_transaction(raw_base64, skip_preflight=self.config.skip_preflight)

    async def rebroadcast(self, raw_base64: str) -> None:
        """Through the RPC node: send again. As a bundle: only when the block engine does not hold it
        (not pending, not landed) and a rate-limit token is free now; else nothing is sent."""
        if not self.config.use_jito:
            await self.broadcast(raw_base64)
            return
        assert self.jito is not None and self.bundles is not None
        signature = _signature_of(raw_base64)
        verdict = await self.bundles.verdict(signature)
        if verdict in (RelayVerdict.PENDING, RelayVerdict.LANDED, RelayVerdict.FAILED):
            return
        bundle_id = await self.jito.try_send_bundle([raw_base64])
        if bundle_id is not None:
            self.bundles.sent(signature, bundle_id)

    async def relay_verdict(self, signature: str) -> RelayVerdict:
        if self.bundles is None:
            return RelayVerdict.UNKNOWN
        return await self.bundles.verdict(signature)

    def observe_landing(self, landed: bool) -> None:
        self.fees.observe_landing(landed)


def _signature_of(raw_base64: str) -> str:
    return str(VersionedTransaction.from_bytes(base64.b64decode(raw_base64)).signatures[0])
