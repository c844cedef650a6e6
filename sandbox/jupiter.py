"""The sandbox's Jupiter-shaped API (`/swap/v1`: quote, swap, swap-instructions; `/price/v3`; shapes from
Jupiter's API reference, dev.jup.ag/docs/api/swap-api and dev.jup.ag/docs/api/price-api/v3) whose routes
are the sandbox's constant-product pools (`sandbox.pools`: they log each landed swap as Raydium does, and
their reserves follow the vaults)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from aiohttp import web
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from chain.local import transfer_checked_ix
from market import amm
from market.tokens import USDC
from sandbox.faults import Faults
from sandbox.pools import RaydiumPools
from sandbox.rpc import SandboxRpc
from streams.records import PoolState
from venues.fees import set_compute_unit_limit


class SandboxJupiter:
    """`GET /swap/v1/quote`, `POST /swap/v1/swap` and `POST /swap/v1/swap-instructions` over one
    constant-product pool per mint pair. With `lookup_table` (the default) the pools' vaults and mints go
    in an address lookup table on the chain, as Jupiter's routes use them: `/swap` compiles its message
    with it and `/swap-instructions` names it in `addressLookupTableAddresses`."""

    def __init__(
        self,
        rpc: SandboxRpc,
        wallet: Pubkey,
        pools: list[PoolState],
        faults: Faults | None = None,
        *,
        lookup_table: bool = True,
        amm: RaydiumPools | None = None,
    ):
        """`amm`: the pools' states shared with the rest of the world (its log hook already installed);
        without it, the API keeps its own."""
        self.rpc = rpc
        self.chain = rpc.chain
        self.wallet = wallet
        self.faults = faults or Faults()
        self.hang_s = 1.0
        self.pairs: dict[tuple[str, str], str] = {}  # (input mint, output mint) -> pool address
        if amm is None:
            amm = RaydiumPools(self.chain, {})
            rpc.log_hooks.append(amm)
        self.amm = amm
        self.requests: dict[str, int] = {}
        for state in pools:
            if state.pool not in amm.pools:
                amm.add(state)
            for mint in (state.base_mint, state.quote_mint):
                self.chain.delegate_vault(state.pool, mint, wallet)
            self.pairs[(state.base_mint, state.quote_mint)] = state.pool
            self.pairs[(state.quote_mint, state.base_mint)] = state.pool
        self.tables: list[AddressLookupTableAccount] = []
        if lookup_table:
            keys: dict[Pubkey, None] = {}
            for state in pools:
                for mint in (state.base_mint, state.quote_mint):
                    keys[self.chain.vault(state.pool, mint)] = None
                    keys[self.chain.mint_address(mint)] = None
            table = list(keys)
            self.tables = [AddressLookupTableAccount(rpc.add_lookup_table(table), table)]

    def routes(self, prefix: str = "/swap/v1") -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/price/v3", self.price),
            ("GET", f"{prefix}/quote", self.quote),
            ("POST", f"{prefix}/swap", self.swap),
            ("POST", f"{prefix}/swap-instructions", self.swap_instructions),
        ]

    async def _fault(self, path: str) -> web.Response | None:
        self.requests[path] = self.requests.get(path, 0) + 1
        fault = self.faults.draw("timeout", "rate_limit")
        if fault == "rate_limit":
            return web.json_response(
                {"error": "Rate limit exceeded"}, status=429, headers={"Retry-After": "0.01"}
            )
        if fault == "timeout":
            await asyncio.sleep(self.hang_s)
        return None

    def _quote(self, input_mint: str, output_mint: str, amount: int, slippage_bps: int) -> dict[str, Any]:
        state = self.amm.pools[self.pairs[(input_mint, output_mint)]]
        buy = input_mint == state.quote_mint
        r_in, r_out = (
            (state.quote_reserve, state.base_reserve) if buy else (state.base_reserve, state.quote_reserve)
        )
        out = amm.quote_out(amount, r_in, r_out, state.fee_bps)
        return {
            "inputMint": input_mint,
            "inAmount": str(amount),
            "outputMint": output_mint,
            "outAmount": str(out),
            "otherAmountThreshold": str(out - out * slippage_bps // 10_000),
            "swapMode": "ExactIn",
            "slippageBps": slippage_bps,
            "priceImpactPct": "0",
            "contextSlot": self.rpc.height(),
            "routePlan": [
                {
                    "swapInfo": {
                        "ammKey": state.pool,
                        "label": state.venue,
                        "inputMint": input_mint,
                        "outputMint": output_mint,
                        "inAmount": str(amount),
                        "outAmount": str(out),
                    },
                    "percent": 100,
                }
            ],
        }

    def usd_prices(self) -> dict[str, float]:
        """Each routed mint's USD price, from the pools' reserves: USDC is 1, a mint quoted in USDC takes
        its pool's price, a mint quoted in a priced mint (BONK in SOL) that price times its pool's."""
        prices = {USDC: 1.0}
        states = list(self.amm.pools.values())
        for _ in range(2):  # two hops reach every mint of the sandbox's pairs
            for state in states:
                if state.quote_mint in prices and state.base_mint not in prices and state.base_reserve > 0:
                    human = (state.quote_reserve / 10**state.quote_decimals) / (
                        state.base_reserve / 10**state.base_decimals
                    )
                    prices[state.base_mint] = human * prices[state.quote_mint]
        return prices

    async def price(self, request: web.Request) -> web.Response:
        """`GET /price/v3?ids=<mints>`: `{mint: {usdPrice, blockId, decimals, priceChange24h}}`, a mint
        the pools do not price is left out (as Jupiter leaves out a mint it has no price for)."""
        if (fault := await self._fault("price")) is not None:
            return fault
        prices = self.usd_prices()
        body: dict[str, Any] = {}
        for mint in request.query.get("ids", "").split(","):
            if mint in prices:
                decimals = self.chain.decimals(mint)
                body[mint] = {
                    "usdPrice": prices[mint],
                    "blockId": self.rpc.height(),
                    "decimals": decimals,
                    "priceChange24h": None,
                }
        return web.json_response(body)

    async def quote(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("quote")) is not None:
            return fault
        q = request.query
        body = self._quote(q["inputMint"], q["outputMint"], int(q["amount"]), int(q.get("slippageBps", "50")))
        return web.json_response(body)

    def _swap_ixs(self, body: dict[str, Any]) -> tuple[Pubkey, list[Instruction]]:
        """The route as instructions: the input into the pool's vault, the output out of the other."""
        quote = body["quoteResponse"]
        user = Pubkey.from_string(body["userPublicKey"])
        spent, received = quote["inputMint"], quote["outputMint"]
        state = self.amm.pools[self.pairs[(spent, received)]]
        chain = self.chain
        decimals = {state.base_mint: state.base_decimals, state.quote_mint: state.quote_decimals}
        return user, [
            transfer_checked_ix(
                chain.wallet_account(spent),
                chain.mint_address(spent),
                chain.vault(state.pool, spent),
                user,
                int(quote["inAmount"]),
                decimals[spent],
                chain.token_program(spent),
            ),
            transfer_checked_ix(
                chain.vault(state.pool, received),
                chain.mint_address(received),
                chain.wallet_account(received),
                user,
                int(quote["outAmount"]),
                decimals[received],
                chain.token_program(received),
            ),
        ]

    async def swap(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("swap")) is not None:
            return fault
        user, ixs = self._swap_ixs(await request.json())
        ixs = [set_compute_unit_limit(1_400_000), *ixs]
        message = MessageV0.try_compile(user, ixs, self.tables, self.rpc.svm.latest_blockhash())
        unsigned = VersionedTransaction.populate(
            message, [_NULL_SIG] * message.header.num_required_signatures
        )
        return web.json_response(
            {
                "swapTransaction": base64.b64encode(bytes(unsigned)).decode(),
                "lastValidBlockHeight": self.rpc.last_valid(),
                "prioritizationFeeLamports": 0,
            }
        )

    async def swap_instructions(self, request: web.Request) -> web.Response:
        """The route as `/swap-instructions` answers it: the setup (here none), the swap as one
        instruction per leg (a real route is one program call; two transfers play it), the tables."""
        if (fault := await self._fault("swap-instructions")) is not None:
            return fault
        _, ixs = self._swap_ixs(await request.json())
        return web.json_response(
            {
                "tokenLedgerInstruction": None,
                "computeBudgetInstructions": [instruction_json(set_compute_unit_limit(1_400_000))],
                "setupInstructions": [instruction_json(ixs[0])],
                "swapInstruction": instruction_json(ixs[1]),
                "cleanupInstruction": None,
                "otherInstructions": [],
                "addressLookupTableAddresses": [str(t.key) for t in self.tables],
            }
        )


def instruction_json(ix: Instruction) -> dict[str, Any]:
    """An instruction as Jupiter's API writes it."""
    return {
        "programId": str(ix.program_id),
        "accounts": [
            {"pubkey": str(m.pubkey), "isSigner": m.is_signer, "isWritable": m.is_writable}
            for m in ix.accounts
        ],
        "data": base64.b64encode(bytes(ix.data)).decode(),
    }


_NULL_SIG = Signature.default()
