"""The sandbox's JSON-RPC methods through the project's own client (`chain.rpc.RpcClient`)."""

from __future__ import annotations

import httpx
import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from spl.token.constants import TOKEN_2022_PROGRAM_ID as TOKEN_2022

from chain.rpc import RpcClient
from chain.rpc.balances import wallet_token_balances
from core.errors import AlreadyProcessed, BlockhashNotFound
from market.tokens import JUP
from sandbox.world import USDC, World
from tests.sandbox.helpers import b64, eventually, usdc_payment


async def test_the_clock_advances_a_slot_per_tick_and_blockhash_and_height_agree(
    world: World, rpc: RpcClient
) -> None:
    first = await rpc.get_slot()
    await eventually(lambda: world.rpc.height() > first + 3)
    assert await rpc.get_slot() > first + 3
    latest = await rpc.get_latest_blockhash()
    height = await rpc.get_block_height()
    assert latest.blockhash == str(world.rpc.svm.latest_blockhash())
    assert height <= latest.last_valid_block_height < height + 150


async def test_a_blockhash_lands_until_its_last_valid_height_then_is_not_found(
    world: World, rpc: RpcClient
) -> None:
    # Wait for a fresh window, so the blockhash read is valid for the whole 150 blocks.
    start = world.rpc.height()
    await eventually(lambda: world.rpc.height() // 150 > start // 150, timeout_s=10)
    latest = await rpc.get_latest_blockhash()
    issued = await rpc.get_block_height()
    # The blockhash of a 150-block window: valid from the window's first height through its last.
    assert (latest.last_valid_block_height + 1) % 150 == 0
    assert latest.last_valid_block_height - 149 <= issued <= latest.last_valid_block_height
    blockhash = Hash.from_string(latest.blockhash)
    ok = usdc_payment(world, 1_000, blockhash, memo="in time")
    assert await rpc.send_transaction(b64(ok)) == str(ok.signatures[0])
    await eventually(lambda: world.rpc.height() > latest.last_valid_block_height, timeout_s=10)
    late = usdc_payment(world, 1_000, blockhash, memo="too late")
    with pytest.raises(BlockhashNotFound):
        await rpc.send_transaction(b64(late))
    statuses = await rpc.get_signature_statuses([str(ok.signatures[0]), str(late.signatures[0])])
    assert statuses[0] is not None and statuses[0].err is None and statuses[1] is None


async def test_send_simulate_statuses_and_the_transaction_with_its_meta(world: World, rpc: RpcClient) -> None:
    blockhash = Hash.from_string((await rpc.get_latest_blockhash()).blockhash)
    tx = usdc_payment(world, 2_500_000, blockhash)
    simulation = await rpc.simulate_transaction(b64(tx))
    assert simulation.err is None and simulation.units_consumed > 0
    signature = await rpc.send_transaction(b64(tx))
    # Sent again with preflight: the node answers -32002 AlreadyProcessed, not a second landing.
    with pytest.raises(AlreadyProcessed) as already:
        await rpc.send_transaction(b64(tx))
    assert already.value.data["err"] == "AlreadyProcessed"
    assert await rpc.send_transaction(b64(tx), skip_preflight=True) == signature
    assert world.rpc.executed_memos["pay"] == 1
    record = await rpc.get_transaction_record(signature)
    assert record is not None and record.err is None
    assert record.fee == 5_000  # one signature, no priority fee
    assert any("Memo" in line for line in record.logs)
    owner = str(world.wallet.pubkey())
    mint = USDC  # the world reports its chain mints as the mainnet mints they stand for
    pre = {
        b.account_index: b.amount for b in record.pre_token_balances if b.mint == mint and b.owner == owner
    }
    post = {
        b.account_index: b.amount for b in record.post_token_balances if b.mint == mint and b.owner == owner
    }
    assert [pre[i] - post[i] for i in pre] == [2_500_000]
    assert record.pre_balances[0] - record.post_balances[0] == record.fee
    assert await rpc.get_transaction_record(str(Keypair().pubkey())) is None


async def test_accounts_token_accounts_balances_airdrops_and_fees(world: World, rpc: RpcClient) -> None:
    owner = world.wallet.pubkey()
    usdc = world.chain.wallet_account(USDC)
    info = await rpc.get_account_info(usdc)
    assert info is not None and info.owner == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    many = await rpc.get_multiple_accounts([usdc, Keypair().pubkey()])
    assert many.value[0] is not None and many.value[1] is None
    accounts = await rpc.get_token_accounts_by_owner(owner, mint=USDC)
    assert [(a.pubkey, a.amount, a.decimals) for a in accounts.value] == [(str(usdc), 10_000 * 10**6, 6)]
    by_program = await rpc.get_token_accounts_by_owner(owner)
    # SOL (wrapped), USDC and BONK: the SPL mints of the simulated market's pools
    assert len(by_program.value) == 3
    token_2022 = await rpc.get_token_accounts_by_owner(owner, program_id=TOKEN_2022)
    assert [(a.mint, a.program_id) for a in token_2022.value] == [
        (world.rpc.mint_name(str(world.chain.mint_address(JUP))), str(TOKEN_2022))  # named as on mainnet
    ]
    fresh = Keypair().pubkey()
    assert (await rpc.call("getBalance", [str(fresh)]))["value"] == 0
    signature = await rpc.call("requestAirdrop", [str(fresh), 2 * 10**9])
    assert (await rpc.call("getBalance", [str(fresh)]))["value"] == 2 * 10**9
    assert (await rpc.get_signature_statuses([signature]))[0] is not None
    world.rpc.recent_fees = [0, 1_000, 5_000]
    fees = await rpc.get_recent_prioritization_fees([str(owner)])
    assert [f.micro_lamports for f in fees] == [0, 1_000, 5_000]


async def test_the_wallets_balances_count_its_token_2022_accounts(world: World, rpc: RpcClient) -> None:
    # What live reconciliation compares the database with: a Token-2022 holding (JUP) must be read, or a
    # landed JUP buy shows as a mismatch (found by the 60 s `solbot run --live` on the sandbox).
    world.chain.fund_wallet({JUP: 123_456})
    balances = await wallet_token_balances(rpc, world.wallet.pubkey())
    jup = world.rpc.mint_name(str(world.chain.mint_address(JUP)))
    assert balances[jup] == 123_456 and balances[USDC] == 10_000 * 10**6


async def test_malformed_requests_get_json_rpc_errors_not_500s(world: World) -> None:
    url = world.urls["SOLANA_RPC_URL"]
    async with httpx.AsyncClient() as http:
        garbage = await http.post(url, content=b"{not json")
        bad_params = await http.post(
            url, json={"jsonrpc": "2.0", "id": 3, "method": "getBalance", "params": []}
        )
        unknown = await http.post(url, json={"jsonrpc": "2.0", "id": 4, "method": "getNothing"})
    assert garbage.status_code == 200 and garbage.json()["error"]["code"] == -32700
    assert bad_params.json() == {
        "jsonrpc": "2.0",
        "error": {"code": -32602, "message": "Invalid params: IndexError"},
        "id": 3,
    }
    assert unknown.json()["error"]["code"] == -32601
