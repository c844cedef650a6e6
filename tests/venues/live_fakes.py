"""Local HTTP servers shaped like Solana RPC (backed by LiteSVM), Jupiter /swap/v1 and Jito, with faults.

The RPC double really executes what it is sent on a `LocalChain`: balances move, signatures verify, and
a blockhash is valid for exactly `window` block heights (the SVM only accepts its latest blockhash, so
the double rotates it exactly when the previous one expires). Block height advances with wall time.
Programs the SVM does not have (Pump.fun) are played by a `ProgramDouble` registered on the RPC double:
it checks the transaction and executes the program's effect on the chain as SPL transfers.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from aiohttp import web
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import TransactionErrorFieldless

from chain.local import MEMO_PROGRAM_ID, LocalChain, memo_ix, transfer_checked_ix
from market import amm
from market import bonding_curve as bc
from streams.records import PoolState
from venues.fees import set_compute_unit_limit
from venues.pumpfun import schemas as pump
from venues.pumpfun.addresses import TOKEN_PROGRAM_ID


class ProgramDouble(Protocol):
    """A program the SVM does not have, played by the RPC double."""

    def run(self, tx: VersionedTransaction, *, execute: bool) -> tuple[object, int]:
        """(the wire error or None, units consumed); with `execute`, its effect happens on the chain."""
        ...


@dataclass
class Faults:
    """Probabilities per request (seeded RNG): each request draws at most one fault."""

    timeout: float = 0.0  # answer after the client gave up (sendTransaction: executed first, 50 %)
    rate_limit: float = 0.0  # HTTP 429 with Retry-After
    blockhash_not_found: float = 0.0  # sendTransaction only: -32002 BlockhashNotFound, not executed
    drop: float = 0.0  # sendTransaction only: accepted (signature returned) but never executed
    seed: int = 7
    rng: random.Random = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self, *kinds: str) -> str:
        roll = self.rng.random()
        for kind in kinds:
            p = getattr(self, kind)
            if roll < p:
                self.counts[kind] = self.counts.get(kind, 0) + 1
                return kind
            roll -= p
        return ""


class FakeRpc:
    """The Solana JSON-RPC double over a `LocalChain`."""

    def __init__(
        self, chain: LocalChain, *, slot_s: float = 0.02, window: int = 40, faults: Faults | None = None
    ):
        self.chain = chain
        self.svm = chain.svm
        self.slot_s = slot_s
        self.window = window
        self.faults = faults or Faults()
        self.hang_s = 1.0
        self._start = time.monotonic()
        self._epoch = 0
        self.landed: dict[str, tuple[int, object, str]] = {}  # signature -> (slot, err, memo)
        self.executed_memos: dict[str, int] = {}
        self.programs: dict[Pubkey, ProgramDouble] = {}
        self.accounts: dict[str, Callable[[], tuple[bytes, str]]] = {}  # address -> (data, owner), served
        self.sent = 0  # sendTransaction calls that reached the chain
        self.recent_fees: list[int] = []  # getRecentPrioritizationFees, one entry per recent slot
        self.methods: dict[str, int] = {}  # requests by method
        self.simulated: list[VersionedTransaction] = []  # what simulateTransaction was given

    def add_lookup_table(self, addresses: list[Pubkey]) -> Pubkey:
        """An address lookup table holding `addresses`, on the chain (the SVM resolves v0 lookups)."""
        address = Pubkey.new_unique()
        self.svm.set_account(
            address,
            Account(
                lamports=10**9, data=lookup_table_data(addresses), owner=ALT_PROGRAM_ID, executable=False
            ),
        )
        if self.svm.get_clock().slot < 1:  # tables may not be used in the slot they were extended
            self.svm.warp_to_slot(1)
        return address

    def program_of(self, tx: VersionedTransaction) -> ProgramDouble | None:
        keys = list(tx.message.account_keys)
        for ix in tx.message.instructions:
            double = self.programs.get(keys[ix.program_id_index])
            if double is not None:
                return double
        return None

    def height(self) -> int:
        height = int((time.monotonic() - self._start) / self.slot_s)
        epoch = height // self.window
        while self._epoch < epoch:
            self.svm.expire_blockhash()
            self._epoch += 1
        return height

    def last_valid(self) -> int:
        return (self.height() // self.window + 1) * self.window - 1

    def execute(self, raw: bytes) -> str:
        """Run a transaction if its blockhash is current; returns its signature either way."""
        tx = VersionedTransaction.from_bytes(raw)
        signature = str(tx.signatures[0])
        self.height()
        if signature in self.landed:
            return signature
        double = self.program_of(tx)
        if double is not None:
            if not self.blockhash_current(raw) or not all(tx.verify_with_results()):
                return signature  # dropped, as the SVM drops a stale or badly signed transaction
            err, _units = double.run(tx, execute=True)
            memo = _memo(tx)
            self.landed[signature] = (self.height(), err, memo)
            if err is None:
                self.executed_memos[memo] = self.executed_memos.get(memo, 0) + 1
            return signature
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            if result.err() == TransactionErrorFieldless.BlockhashNotFound:
                return signature  # dropped: its blockhash is gone
            self.landed[signature] = (self.height(), str(result.err()), _memo(tx))
            return signature
        memo = _memo(tx)
        self.landed[signature] = (self.height(), None, memo)
        self.executed_memos[memo] = self.executed_memos.get(memo, 0) + 1
        return signature

    def blockhash_current(self, raw: bytes) -> bool:
        tx = VersionedTransaction.from_bytes(raw)
        self.height()
        return tx.message.recent_blockhash == self.svm.latest_blockhash()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        method, params, rid = body["method"], body.get("params", []), body.get("id")
        self.methods[method] = self.methods.get(method, 0) + 1
        send = method == "sendTransaction"
        kinds = (
            ("timeout", "rate_limit", "blockhash_not_found", "drop") if send else ("timeout", "rate_limit")
        )
        fault = self.faults.draw(*kinds)
        if fault == "rate_limit":
            error = {"code": 429, "message": "Too many requests for a specific RPC call"}
            return web.json_response(
                {"jsonrpc": "2.0", "error": error, "id": rid}, status=429, headers={"Retry-After": "0.01"}
            )
        if fault == "timeout":
            if send and self.faults.rng.random() < 0.5:
                self.execute(base64.b64decode(params[0]))  # it landed, but the client will not hear so
            await asyncio.sleep(self.hang_s)
        try:
            result = self.dispatch(method, params, fault)
        except _RpcFault as exc:
            return web.json_response({"jsonrpc": "2.0", "error": exc.error, "id": rid})
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": rid})

    def dispatch(self, method: str, params: list[Any], fault: str) -> Any:
        context = {"slot": self.height()}
        if method == "getBlockHeight":
            return self.height()
        if method == "getLatestBlockhash":
            value = {"blockhash": str(self.svm.latest_blockhash()), "lastValidBlockHeight": self.last_valid()}
            return {"context": context, "value": value}
        if method == "sendTransaction":
            raw = base64.b64decode(params[0])
            skip = bool(params[1].get("skipPreflight")) if len(params) > 1 else False
            if fault == "blockhash_not_found" or (not skip and not self.blockhash_current(raw)):
                data = {"err": "BlockhashNotFound", "logs": [], "unitsConsumed": 0}
                raise _RpcFault(
                    {
                        "code": -32002,
                        "message": "Transaction simulation failed: Blockhash not found",
                        "data": data,
                    }
                )
            tx = VersionedTransaction.from_bytes(raw)
            if fault == "drop":
                return str(tx.signatures[0])
            self.sent += 1
            return self.execute(raw)
        if method == "simulateTransaction":
            raw = base64.b64decode(params[0])
            tx = VersionedTransaction.from_bytes(raw)
            self.simulated.append(tx)
            double = self.program_of(tx)
            if double is not None:
                if not self.blockhash_current(raw):
                    value = {"err": "BlockhashNotFound", "logs": [], "unitsConsumed": 0}
                else:
                    err, units = double.run(tx, execute=False)
                    value = {"err": err, "logs": [], "unitsConsumed": 0 if err else units}
                return {"context": context, "value": value}
            sim = self.svm.simulate_transaction(tx)
            if isinstance(sim, FailedTransactionMetadata):
                value = {"err": wire_error(sim.err()), "logs": list(sim.meta().logs()), "unitsConsumed": 0}
            else:
                meta = sim.meta()
                value = {
                    "err": None,
                    "logs": list(meta.logs()),
                    "unitsConsumed": meta.compute_units_consumed(),
                }
            return {"context": context, "value": value}
        if method == "getSignatureStatuses":
            out = []
            for sig in params[0]:
                hit = self.landed.get(sig)
                out.append(
                    None
                    if hit is None
                    else {
                        "slot": hit[0],
                        "confirmations": 1,
                        "err": None if hit[1] is None else {"InstructionError": hit[1]},
                        "confirmationStatus": "confirmed",
                    }
                )
            return {"context": context, "value": out}
        if method == "getAccountInfo":
            return {"context": context, "value": self.account_value(params[0])}
        if method == "getMultipleAccounts":
            return {"context": context, "value": [self.account_value(a) for a in params[0]]}
        if method == "getRecentPrioritizationFees":
            start = self.height() - len(self.recent_fees)
            return [{"slot": start + i, "prioritizationFee": f} for i, f in enumerate(self.recent_fees)]
        raise _RpcFault({"code": -32601, "message": "Method not found"})

    def account_value(self, address: str) -> dict[str, Any] | None:
        """An account as `getAccountInfo` writes it: a served one, else what the SVM holds, else None."""
        source = self.accounts.get(address)
        if source is not None:
            data, owner = source()
        else:
            held = self.svm.get_account(Pubkey.from_string(address))
            if held is None:
                return None
            data, owner = bytes(held.data), str(held.owner)
        return {
            "data": [base64.b64encode(data).decode(), "base64"],
            "owner": owner,
            "lamports": 1_461_600,
            "executable": False,
            "space": len(data),
        }


ALT_PROGRAM_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")


def lookup_table_data(addresses: list[Pubkey]) -> bytes:
    """An active lookup table as the program lays it out: u32 state 1, deactivation slot u64::MAX,
    last extended slot 0, start index 0, no authority, padded to the 56-byte header; then the keys."""
    header = (1).to_bytes(4, "little") + (2**64 - 1).to_bytes(8, "little") + bytes(8) + bytes([0, 0])
    return header.ljust(56, b"\0") + b"".join(bytes(a) for a in addresses)


def wire_error(err: Any) -> Any:
    """A solders TransactionError as a node writes it in JSON ("BlockhashNotFound",
    {"InstructionError": [0, {"Custom": 1}]}): solders serializes it inside a simulation result."""
    result = RpcSimulateTransactionResult(err=err, logs=None, accounts=None, units_consumed=None)
    return orjson.loads(result.to_json())["err"]


class _RpcFault(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error


def _memo(tx: VersionedTransaction) -> str:
    keys = list(tx.message.account_keys)
    for ix in tx.message.instructions:
        if keys[ix.program_id_index] == MEMO_PROGRAM_ID:
            return bytes(ix.data).decode("utf-8")
    return ""


class FakeJupiter:
    """`GET /swap/v1/quote`, `POST /swap/v1/swap` and `POST /swap/v1/swap-instructions` over one
    constant-product pool per mint pair. With `lookup_table` (the default) the pools' vaults and mints go
    in an address lookup table on the chain, as Jupiter's routes use them: `/swap` compiles its message
    with it and `/swap-instructions` names it in `addressLookupTableAddresses`."""

    def __init__(
        self,
        rpc: FakeRpc,
        wallet: Pubkey,
        pools: list[PoolState],
        faults: Faults | None = None,
        *,
        lookup_table: bool = True,
    ):
        self.rpc = rpc
        self.chain = rpc.chain
        self.wallet = wallet
        self.faults = faults or Faults()
        self.hang_s = 1.0
        self.pools: dict[tuple[str, str], PoolState] = {}
        self.requests: dict[str, int] = {}
        for state in pools:
            self.chain.ensure_pool(state)
            for mint in (state.base_mint, state.quote_mint):
                self.chain.delegate_vault(state.pool, mint, wallet)
            self.pools[(state.base_mint, state.quote_mint)] = state
            self.pools[(state.quote_mint, state.base_mint)] = state
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
        state = self.pools[(input_mint, output_mint)]
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
        state = self.pools[(spent, received)]
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
            ),
            transfer_checked_ix(
                chain.vault(state.pool, received),
                chain.mint_address(received),
                chain.wallet_account(received),
                user,
                int(quote["outAmount"]),
                decimals[received],
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


class FakePump:
    """Pump.fun's legacy `buy` / `sell` on the RPC double, for one bonding curve.

    The SVM has no Pump.fun program, so this plays it: `getAccountInfo` of the curve serves the account as
    the program lays it out; a transaction calling the program is checked (the instruction's data and
    curve account, the SOL bound, priced with `market.bonding_curve` at the curve's fee) and its effect
    executed on the chain as SPL transfers between the wallet and the curve's vaults, signed by the wallet
    as the vaults' delegate. A bound the curve cannot meet fails the instruction (custom error 6002/6003,
    TooMuchSolRequired / TooLittleSolReceived), as the program does.
    """

    BUY, SELL = bytes([102, 6, 61, 18, 1, 218, 235, 234]), bytes([51, 230, 133, 164, 1, 127, 131, 173])

    def __init__(self, rpc: FakeRpc, wallet: Keypair, state: PoolState, creator: Pubkey) -> None:
        self.rpc, self.chain, self.wallet, self.state, self.creator = rpc, rpc.chain, wallet, state, creator
        self.curve = bc.Curve(state.base_reserve, state.quote_reserve, state.real_base_reserve)
        self.program = Pubkey.from_string(pump.PROGRAM_ID)
        self.chain.ensure_pool(state)
        for mint in (state.base_mint, state.quote_mint):
            self.chain.delegate_vault(state.pool, mint, wallet.pubkey())
        rpc.programs[self.program] = self
        rpc.accounts[state.pool] = lambda: (self.account_data(), pump.PROGRAM_ID)
        # The venue reads the mint's owner for its token program (a legacy SPL Token coin here).
        rpc.accounts[state.base_mint] = lambda: (bytes(82), str(TOKEN_PROGRAM_ID))

    def account_data(self) -> bytes:
        c = self.curve
        fields = (
            c.virtual_token_reserves,
            c.virtual_sol_reserves,
            c.real_token_reserves,
            c.real_sol_reserves,
        )
        body = b"".join(v.to_bytes(8, "little") for v in (*fields, 10**15)) + bytes([c.complete])
        return pump.BONDING_CURVE_DISCRIMINATOR + body + bytes(self.creator) + bytes(3) + bytes(32)

    def run(self, tx: VersionedTransaction, *, execute: bool) -> tuple[object, int]:
        keys = list(tx.message.account_keys)
        found = [
            (i, ix)
            for i, ix in enumerate(tx.message.instructions)
            if keys[ix.program_id_index] == self.program
        ]
        index, ix = found[0]
        data = bytes(ix.data)
        if keys[ix.accounts[3]] != Pubkey.from_string(self.state.pool):
            return {"InstructionError": [index, {"Custom": 2006}]}, 0  # ConstraintSeeds: another curve
        amount, bound = int.from_bytes(data[8:16], "little"), int.from_bytes(data[16:24], "little")
        fee_bps, state = self.state.fee_bps, self.state
        if data[:8] == self.BUY:
            tokens, cost, fee = bc.buy_cost(self.curve, amount, fee_bps)
            if cost + fee > bound:
                return {"InstructionError": [index, {"Custom": 6002}]}, 0
            moves = ((state.quote_mint, cost + fee, True), (state.base_mint, tokens, False))
            after = bc.apply_buy(self.curve, tokens, cost)
        elif data[:8] == self.SELL:
            gross, fee = bc.sell_proceeds(self.curve, amount, fee_bps)
            if gross - fee < bound:
                return {"InstructionError": [index, {"Custom": 6003}]}, 0
            moves = ((state.base_mint, amount, True), (state.quote_mint, gross - fee, False))
            after = bc.apply_sell(self.curve, amount, gross)
        else:
            return {"InstructionError": [index, "InvalidInstructionData"]}, 0
        if execute:
            self._transfer(moves, str(tx.signatures[0]))
            self.curve = after
        return None, 42_000

    def _transfer(self, moves: tuple[tuple[str, int, bool], ...], signature: str) -> None:
        chain, user, pool = self.chain, self.wallet.pubkey(), self.state.pool
        decimals = {
            self.state.base_mint: self.state.base_decimals,
            self.state.quote_mint: self.state.quote_decimals,
        }
        ixs = []
        for mint, amount, into_pool in moves:
            wallet_account, vault = chain.wallet_account(mint), chain.vault(pool, mint)
            source, dest = (wallet_account, vault) if into_pool else (vault, wallet_account)
            ixs.append(
                transfer_checked_ix(source, chain.mint_address(mint), dest, user, amount, decimals[mint])
            )
        ixs.append(memo_ix(signature))  # unique per trade: two equal trades are two transactions
        message = MessageV0.try_compile(user, ixs, [], self.rpc.svm.latest_blockhash())
        result = self.rpc.svm.send_transaction(VersionedTransaction(message, [self.wallet]))
        assert not isinstance(result, FailedTransactionMetadata), result


_NULL_SIG = Signature.default()


async def serve(routes: list[tuple[str, str, Any]]) -> tuple[web.AppRunner, str]:
    """Start an aiohttp server on 127.0.0.1 (random port); returns the runner and its base URL."""
    app = web.Application()
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
