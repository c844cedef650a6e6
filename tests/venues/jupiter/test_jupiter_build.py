"""Jupiter swaps with address lookup tables, through `/swap-instructions` and `/swap`: the documented
answer compiles to the vector's v0 message, and the venue builds, simulates (with a compute-unit limit)
and lands such routes against local doubles of Jupiter and the RPC node (LiteSVM resolves the tables)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chain.local import MEMO_PROGRAM_ID, LocalChain
from chain.rpc import RpcClient
from core.errors import DecodeError, VenueError
from sandbox.http import serve
from sandbox.jito import SandboxJito
from sandbox.jupiter import SandboxJupiter
from sandbox.rpc import SandboxRpc
from sandbox.world import SOL, USDC, sol_usdc_pool
from streams.records import Order
from venues.fee_source import FixedFees
from venues.fees import COMPUTE_BUDGET_PROGRAM_ID, PriorityFeePolicy, TipPolicy, unit_limit
from venues.interface import PreparedTx
from venues.jito.execution import TIP_ACCOUNTS, JitoClient
from venues.jupiter.build import (
    SwapInstructions,
    compile_v0,
    decompile,
    parse_instruction,
    parse_lookup_table,
)
from venues.jupiter.config import JupiterConfig
from venues.jupiter.execution import JupiterVenue

VECTOR = json.loads((Path(__file__).parent.parent / "vectors" / "jupiter.json").read_text())
ALT_CASE = VECTOR["swap_instructions_with_lookup_table"]
STATE = sol_usdc_pool()  # the sandbox's SOL/USDC pool, the route its Jupiter quotes


def _vector_parts() -> tuple[SwapInstructions, list[Instruction]]:
    parsed = SwapInstructions.parse(ALT_CASE["response"])
    own = [parse_instruction(ALT_CASE["added_by_builder"][k]) for k in ("memo", "jito_tip")]
    return parsed, own


def test_the_documented_answer_with_a_lookup_table_compiles_to_the_vector_message() -> None:
    parsed, own = _vector_parts()
    table_case = ALT_CASE["lookup_table_account"]
    table = parse_lookup_table(Pubkey.from_string(table_case["address"]), bytes(table_case["data"]["bytes"]))
    assert parsed.lookup_tables == [table.key]
    assert len(table.addresses) == (table_case["data"]["len"] - 56) // 32
    expected = ALT_CASE["expected_v0_message"]
    message = compile_v0(
        Pubkey.from_string(expected["static_account_keys"][0]),
        [*parsed.compute_budget, *parsed.body(), *own],
        [table],
        Hash.from_string(expected["recent_blockhash"]),
    )
    assert bytes(message) == bytes(expected["serialized_message"]["bytes"])
    assert [str(k) for k in message.account_keys] == expected["static_account_keys"]
    lookup = message.address_table_lookups[0]
    assert (list(bytes(lookup.writable_indexes)), list(bytes(lookup.readonly_indexes))) == (
        expected["address_table_lookups"][0]["writable_indexes"],
        expected["address_table_lookups"][0]["readonly_indexes"],
    )
    # Tip accounts, signers and programs stay static keys.
    assert str(TIP_ACCOUNTS[0]) in expected["static_account_keys"]


def test_decompiling_with_the_tables_gives_back_every_instruction_and_flag() -> None:
    parsed, own = _vector_parts()
    table_case = ALT_CASE["lookup_table_account"]
    table = parse_lookup_table(Pubkey.from_string(table_case["address"]), bytes(table_case["data"]["bytes"]))
    original = [*parsed.compute_budget, *parsed.body(), *own]
    payer = Pubkey.from_string(ALT_CASE["expected_v0_message"]["static_account_keys"][0])
    message = compile_v0(payer, original, [table], Hash.default())
    assert decompile(message, [table]) == original
    with pytest.raises(DecodeError, match="was not given"):
        decompile(message, [])
    with pytest.raises(DecodeError):
        parse_lookup_table(table.key, b"\x01\x02")
    with pytest.raises(DecodeError):
        SwapInstructions.parse({**ALT_CASE["response"], "swapInstruction": {"programId": "x"}})


def order(i: int, side: str = "buy", kind: str = "entry") -> Order:
    amount = 1_000_000 + i if side == "buy" else 10_000_000 + i
    return Order(
        id=f"ord:{i}",
        signal_id=f"sig:{i}",
        pair="SOL/USDC",
        side=side,
        amount_in=amount,
        min_amount_out=0,
        venue="raydium",
        pool=STATE.pool,
        pool_state=STATE,
        kind=kind,
        reason="t",
        ts_ms=i,
        origin_ms=i,
        decided_ms=i,
    )


@dataclass
class Stack:
    rpc: SandboxRpc
    jupiter: SandboxJupiter
    jito: SandboxJito
    chain: LocalChain
    wallet: Keypair
    rpc_client: RpcClient
    jito_client: JitoClient
    http: httpx.AsyncClient
    jup_url: str

    def venue(self, **config: object) -> JupiterVenue:
        return JupiterVenue(
            self.rpc_client,
            self.wallet,
            JupiterConfig(url=f"{self.jup_url}/swap/v1", **config),  # type: ignore[arg-type]
            fees=FixedFees(PriorityFeePolicy(20_000), TipPolicy(15_000)),
            jito=self.jito_client,
            client=self.http,
        )


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    wallet = Keypair()
    chain = LocalChain({SOL: 9, USDC: 6}, wallet)
    chain.fund_wallet({SOL: 10**13, USDC: 10**12})
    rpc = SandboxRpc(chain, slot_s=0.02, window=1_000)
    jupiter = SandboxJupiter(rpc, wallet.pubkey(), [STATE])
    jito = SandboxJito(rpc)
    runners = []
    runner, rpc_url = await serve([("POST", "/", rpc.handle)])
    runners.append(runner)
    runner, jup_url = await serve(jupiter.routes())
    runners.append(runner)
    runner, jito_url = await serve([("POST", "/api/v1/bundles", jito.handle)])
    runners.append(runner)
    http = httpx.AsyncClient(timeout=5.0)
    rpc_client = RpcClient(rpc_url, client=http)
    jito_client = JitoClient(f"{jito_url}/api/v1/bundles", client=http, requests_per_s=1_000)
    try:
        yield Stack(rpc, jupiter, jito, chain, wallet, rpc_client, jito_client, http, jup_url)
    finally:
        await http.aclose()
        for r in runners:
            await r.cleanup()


def _budget(tx: VersionedTransaction) -> list[bytes]:
    keys = list(tx.message.account_keys)
    return [
        bytes(ix.data)
        for ix in tx.message.instructions
        if keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM_ID
    ]


def _tx(prepared: PreparedTx) -> VersionedTransaction:
    return VersionedTransaction.from_bytes(base64.b64decode(prepared.raw_base64))


@pytest.mark.parametrize("swap_instructions", [True, False], ids=["swap-instructions", "swap"])
async def test_a_lookup_table_route_compiles_simulates_with_a_unit_limit_and_lands(
    stack: Stack, swap_instructions: bool
) -> None:
    venue = stack.venue(swap_instructions=swap_instructions)
    before = stack.chain.balances()
    prepared = await venue.prepare(order(1), {})
    assert isinstance(prepared, PreparedTx)
    tx = _tx(prepared)
    assert isinstance(tx.message, MessageV0)
    table = stack.jupiter.tables[0]
    assert [lookup.account_key for lookup in tx.message.address_table_lookups] == [table.key]
    # The simulation carried the chain's maximum unit limit and no price; the signed one ours.
    probe = stack.rpc.simulated[-1]
    assert _budget(probe) == [bytes([2]) + (1_400_000).to_bytes(4, "little")]
    assert probe.message.address_table_lookups == tx.message.address_table_lookups
    assert prepared.unit_limit < 1_400_000 and prepared.unit_price == 20_000
    assert _budget(tx) == [
        bytes([2]) + prepared.unit_limit.to_bytes(4, "little"),
        bytes([3]) + (20_000).to_bytes(8, "little"),
    ]
    keys = list(tx.message.account_keys)
    assert bytes(tx.message.instructions[-1].data) == b"ord:1"
    assert keys[tx.message.instructions[-1].program_id_index] == MEMO_PROGRAM_ID
    path = "swap-instructions" if swap_instructions else "swap"
    assert stack.jupiter.requests[path] == 1 and stack.rpc.methods["getMultipleAccounts"] == 1
    stack.rpc.execute(base64.b64decode(prepared.raw_base64))
    assert stack.rpc.landed[prepared.signature][1] is None
    after = stack.chain.balances()
    assert after[USDC] - before[USDC] == -prepared.in_amount
    assert after[SOL] - before[SOL] == prepared.out_amount


async def test_the_unit_limit_is_the_simulation_times_the_margin_capped(stack: Stack) -> None:
    prepared = await stack.venue(cu_margin_bps=5_000).prepare(order(2), {})
    assert isinstance(prepared, PreparedTx)
    sim = await stack.rpc_client.simulate_transaction(
        base64.b64encode(bytes(stack.rpc.simulated[-1])).decode(), sig_verify=False
    )
    assert prepared.unit_limit == unit_limit(sim.units_consumed, 5_000)
    capped = await stack.venue(max_unit_limit=1_000).prepare(order(3), {})
    assert isinstance(capped, PreparedTx) and capped.unit_limit == 1_000


async def test_a_bundle_pays_its_tip_and_no_priority_fee_unless_told(stack: Stack) -> None:
    prepared = await stack.venue(use_jito=True).prepare(order(4, kind="stop_loss"), {})
    assert isinstance(prepared, PreparedTx)
    tx = _tx(prepared)
    assert _budget(tx) == [bytes([2]) + prepared.unit_limit.to_bytes(4, "little")]  # a limit, no price
    keys = list(tx.message.account_keys)
    tips = [
        ix
        for ix in tx.message.instructions
        if any(a < len(keys) and keys[a] in TIP_ACCOUNTS for a in bytes(ix.accounts))
    ]
    assert len(tips) == 1 and int.from_bytes(bytes(tips[0].data)[4:12], "little") == 15_000
    paid = await stack.venue(use_jito=True, priority_fee_in_bundles=True).prepare(order(5), {})
    assert isinstance(paid, PreparedTx)
    assert _budget(_tx(paid))[1] == bytes([3]) + (20_000).to_bytes(8, "little")


async def test_a_lookup_table_the_node_lacks_is_a_transient_venue_error(stack: Stack) -> None:
    stack.jupiter.tables[0] = type(stack.jupiter.tables[0])(
        Pubkey.new_unique(), stack.jupiter.tables[0].addresses
    )
    with pytest.raises(VenueError, match="not found"):
        await stack.venue().prepare(order(6), {})
