"""A local Solana HTTP JSON-RPC server (aiohttp) answering `getTransaction` and `getAccountInfo` with
bodies shaped as the solana-com RPC docs show them, and transactions compiled by solders (real
account ordering, lookup tables and instruction bytes).

Tests register transactions (`add_transaction`) and accounts (`add_account`), and script faults:
`rate_limit[method] = n` answers the next n calls with HTTP 429 + Retry-After; `not_found[sig] = n`
answers `result: null` n times; `delay_s[sig]` holds a getTransaction answer back. `getLatestBlockhash`
answers a fixed blockhash (the RPC overhead benchmark's call).
"""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import Any

from aiohttp import web
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey

from chain.borsh import b58encode
from venues.raydium import decoders as raydium

RAY = Pubkey.from_string(raydium.PROGRAM_ID)
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
JUPITER = Pubkey.from_string("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
LATEST_BLOCKHASH = "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N"


def amm_info_bytes(
    *,
    coin_vault: Pubkey,
    pc_vault: Pubkey,
    coin_mint: str,
    pc_mint: str,
    coin_decimals: int,
    pc_decimals: int,
    fee: tuple[int, int] = (25, 10_000),
) -> bytes:
    """A 752-byte AmmInfo, written at the absolute offsets of Raydium's published layout
    (LIQUIDITY_STATE_LAYOUT_V4), independently of the decoder's sequential reads."""
    data = bytearray(752)
    struct.pack_into("<QQQQQQ", data, 0, 6, 254, 7, 3, coin_decimals, pc_decimals)  # status..pc_decimals
    struct.pack_into("<QQ", data, 144, 25, 10_000)  # trade fee
    struct.pack_into("<QQ", data, 176, *fee)  # swap fee
    keys = [coin_vault, pc_vault, Pubkey.from_string(coin_mint), Pubkey.from_string(pc_mint)]
    keys += [Pubkey.new_unique() for _ in range(5)]  # lp_mint, open_orders, market, market_program, targets
    for i, key in enumerate(keys):
        data[336 + 32 * i : 368 + 32 * i] = bytes(key)
    return bytes(data)


def ray_log_line(*, direction: int, amount_in: int, out: int, pool_coin: int, pool_pc: int) -> str:
    data = struct.pack("<BQQQQQQQ", 3, amount_in, 0, direction, 0, pool_coin, pool_pc, out)
    return f"Program log: ray_log: {base64.b64encode(data).decode()}"


def swap_instruction(
    amm: Pubkey, coin_vault: Pubkey, pc_vault: Pubkey, user: Pubkey, *, accounts: int
) -> Instruction:
    """AMM v4 swap_base_in (tag 9) with the 18-account list, or 17 without target_orders."""
    metas = [AccountMeta(TOKEN_PROGRAM, False, False), AccountMeta(amm, False, True)]
    metas.append(AccountMeta(Pubkey.new_unique(), False, False))  # amm_authority
    metas.append(AccountMeta(Pubkey.new_unique(), False, True))  # open_orders
    if accounts == 18:
        metas.append(AccountMeta(Pubkey.new_unique(), False, True))  # target_orders
    metas += [AccountMeta(coin_vault, False, True), AccountMeta(pc_vault, False, True)]
    metas += [AccountMeta(Pubkey.new_unique(), False, False) for _ in range(8)]  # market program..signer
    metas += [AccountMeta(Pubkey.new_unique(), False, True), AccountMeta(Pubkey.new_unique(), False, True)]
    metas.append(AccountMeta(user, True, False))
    return Instruction(RAY, struct.pack("<BQQ", 9, 1_000_000, 1), metas)


def _compiled(ix: Any, stack_height: int | None) -> dict[str, Any]:
    return {
        "accounts": list(ix.accounts),
        "data": b58encode(bytes(ix.data)),
        "programIdIndex": ix.program_id_index,
        "stackHeight": stack_height,
    }


def transaction_result(
    signature: str,
    *,
    slot: int,
    logs: list[str],
    ray_ix: Instruction,
    payer: Pubkey,
    lookup: AddressLookupTableAccount | None = None,
    via_jupiter: bool = False,
) -> dict[str, Any]:
    """`getTransaction` json result: legacy without `lookup`, else v0 with the vaults in the table.
    `via_jupiter`: the swap is an inner instruction of a Jupiter route (as most swaps are)."""
    instructions = [ray_ix]
    if via_jupiter:
        route_accounts = [AccountMeta(RAY, False, False), *ray_ix.accounts]
        instructions = [
            Instruction(JUPITER, bytes([229, 23, 203, 151, 122, 227, 173, 42]), route_accounts),
            ray_ix,
        ]
    blockhash = Hash.new_unique()
    message: Any
    if lookup is None:
        message = Message.new_with_blockhash(instructions, payer, blockhash)
        keys, loaded, lookups, version = (
            message.account_keys,
            {"readonly": [], "writable": []},
            None,
            "legacy",
        )
    else:
        message = MessageV0.try_compile(payer, instructions, [lookup], blockhash)
        keys, version = message.account_keys, 0
        table = message.address_table_lookups
        loaded = {
            "writable": [str(lookup.addresses[i]) for t in table for i in bytes(t.writable_indexes)],
            "readonly": [str(lookup.addresses[i]) for t in table for i in bytes(t.readonly_indexes)],
        }
        lookups = [
            {
                "accountKey": str(t.account_key),
                "readonlyIndexes": list(bytes(t.readonly_indexes)),
                "writableIndexes": list(bytes(t.writable_indexes)),
            }
            for t in table
        ]
    compiled = list(message.instructions)
    inner: list[dict[str, Any]] = []
    if via_jupiter:
        inner = [{"index": 0, "instructions": [_compiled(compiled[1], 2)]}]
        compiled = compiled[:1]
    header = message.header
    msg: dict[str, Any] = {
        "accountKeys": [str(k) for k in keys],
        "header": {
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            "numRequiredSignatures": header.num_required_signatures,
        },
        "instructions": [_compiled(ix, None) for ix in compiled],
        "recentBlockhash": str(blockhash),
    }
    if lookups is not None:
        msg["addressTableLookups"] = lookups
    n_keys = len(keys) + len(loaded["writable"]) + len(loaded["readonly"])
    return {
        "blockTime": 1_735_000_000,
        "meta": {
            "computeUnitsConsumed": 44_000,
            "err": None,
            "fee": 5000,
            "innerInstructions": inner,
            "loadedAddresses": loaded,
            "logMessages": logs,
            "postBalances": [1_000_000] * n_keys,
            "postTokenBalances": [],
            "preBalances": [1_005_000] * n_keys,
            "preTokenBalances": [],
            "rewards": [],
            "status": {"Ok": None},
        },
        "slot": slot,
        "transaction": {"message": msg, "signatures": [signature]},
        "version": version,
    }


class RpcServer:
    def __init__(self) -> None:
        self.transactions: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, tuple[bytes, str]] = {}  # pubkey -> (data, owner)
        self.calls: list[tuple[str, list[Any]]] = []
        self.rate_limit: dict[str, int] = {}
        self.not_found: dict[str, int] = {}
        self.delay_s: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add_transaction(self, result: dict[str, Any]) -> None:
        self.transactions[result["transaction"]["signatures"][0]] = result

    def add_account(self, pubkey: str, data: bytes, owner: str = raydium.PROGRAM_ID) -> None:
        self.accounts[pubkey] = (data, owner)

    async def __aenter__(self) -> RpcServer:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        method, params, rid = body["method"], body["params"], body["id"]
        self.calls.append((method, params))
        if self.rate_limit.get(method, 0) > 0:
            self.rate_limit[method] -= 1
            error = {"code": 429, "message": "Too many requests for a specific RPC call"}
            return web.json_response(
                {"jsonrpc": "2.0", "error": error, "id": rid}, status=429, headers={"Retry-After": "0"}
            )
        if method == "getTransaction":
            sig = params[0]
            await asyncio.sleep(self.delay_s.get(sig, 0.0))
            if self.not_found.get(sig, 0) > 0:
                self.not_found[sig] -= 1
                return web.json_response({"jsonrpc": "2.0", "result": None, "id": rid})
            return web.json_response({"jsonrpc": "2.0", "result": self.transactions.get(sig), "id": rid})
        if method == "getAccountInfo":
            found = self.accounts.get(params[0])
            value = None
            if found is not None:
                data, owner = found
                value = {
                    "data": [base64.b64encode(data).decode(), "base64"],
                    "executable": False,
                    "lamports": 6_124_800,
                    "owner": owner,
                    "rentEpoch": 18_446_744_073_709_551_615,
                    "space": len(data),
                }
            result = {"context": {"apiVersion": "2.2.3", "slot": 341_197_053}, "value": value}
            return web.json_response({"jsonrpc": "2.0", "result": result, "id": rid})
        if method == "getLatestBlockhash":  # the RPC overhead benchmark's call (bench/rpc_overhead.py)
            value = {"blockhash": LATEST_BLOCKHASH, "lastValidBlockHeight": 341_197_203}
            result = {"context": {"apiVersion": "2.2.3", "slot": 341_197_053}, "value": value}
            return web.json_response({"jsonrpc": "2.0", "result": result, "id": rid})
        error = {"code": -32601, "message": "Method not found"}
        return web.json_response({"jsonrpc": "2.0", "error": error, "id": rid})
