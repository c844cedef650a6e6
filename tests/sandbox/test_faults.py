"""Each fault kind of the sandbox, seen through the project's RPC client."""

from __future__ import annotations

import httpx
import pytest
from solders.hash import Hash

from chain.rpc import RpcClient
from core.errors import BlockhashNotFound, RpcRateLimited, RpcTimeout
from sandbox.faults import ROLLBACK_SLOTS, Faults
from sandbox.world import World
from tests.sandbox.helpers import b64, eventually, usdc_payment


async def _blockhash(rpc: RpcClient) -> Hash:
    return Hash.from_string((await rpc.get_latest_blockhash()).blockhash)


def _faulty(world: World, **kinds: float) -> None:
    world.rpc.faults = Faults(seed=3, **kinds)  # type: ignore[arg-type]


async def test_a_dropped_transaction_is_acknowledged_and_never_lands(world: World, rpc: RpcClient) -> None:
    tx = usdc_payment(world, 5, await _blockhash(rpc), "dropped")
    _faulty(world, drop=1.0)
    assert await rpc.send_transaction(b64(tx)) == str(tx.signatures[0])
    _faulty(world)
    sent_at = world.rpc.height()
    await eventually(lambda: world.rpc.height() > sent_at + 5)
    assert (await rpc.get_signature_statuses([str(tx.signatures[0])]))[0] is None
    assert "dropped" not in world.rpc.executed_memos and world.rpc.faults.counts == {}


async def test_a_429_carries_retry_after(world: World) -> None:
    _faulty(world, rate_limit=1.0)
    async with httpx.AsyncClient() as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "getSlot", "params": []}
        answer = await http.post(world.urls["SOLANA_RPC_URL"], json=body)
    assert answer.status_code == 429 and float(answer.headers["Retry-After"]) > 0
    assert answer.json()["error"]["code"] == 429
    async with httpx.AsyncClient(timeout=2.0) as http:
        with pytest.raises(RpcRateLimited):
            await RpcClient(world.urls["SOLANA_RPC_URL"], client=http).get_slot()


async def test_a_timeout_answers_after_the_client_gave_up(world: World) -> None:
    _faulty(world, timeout=1.0)
    world.rpc.hang_s = 0.5
    async with httpx.AsyncClient(timeout=0.1) as http:
        with pytest.raises(RpcTimeout):
            await RpcClient(world.urls["SOLANA_RPC_URL"], client=http).get_slot()


async def test_an_expired_blockhash_is_answered_blockhash_not_found(world: World, rpc: RpcClient) -> None:
    tx = usdc_payment(world, 5, await _blockhash(rpc), "expired")
    _faulty(world, blockhash_not_found=1.0)
    with pytest.raises(BlockhashNotFound):
        await rpc.send_transaction(b64(tx))
    assert "expired" not in world.rpc.executed_memos


async def test_slow_confirmation_shows_processed_until_slots_later(world: World, rpc: RpcClient) -> None:
    world.rpc.faults = Faults(slow_confirmation_slots=20)
    signature = await rpc.send_transaction(b64(usdc_payment(world, 5, await _blockhash(rpc), "slow")))
    landed_slot = world.rpc.landed[signature][0]
    early = (await rpc.get_signature_statuses([signature]))[0]
    assert early is not None and early.confirmation_status == "processed"
    await eventually(lambda: world.rpc.height() >= landed_slot + 21)
    status = (await rpc.get_signature_statuses([signature]))[0]
    assert status is not None and status.slot == landed_slot and status.confirmation_status == "confirmed"


async def test_a_lagging_node_answers_stale_slots_and_statuses(world: World, rpc: RpcClient) -> None:
    world.rpc.faults = Faults(lag_slots=30)
    signature = await rpc.send_transaction(b64(usdc_payment(world, 5, await _blockhash(rpc), "lag")))
    at = await rpc.get_signature_statuses_at([signature])
    assert at.value == [None]  # it landed, but this node has not seen that slot yet
    assert at.slot < world.rpc.landed[signature][0]
    assert await rpc.get_slot() <= world.rpc.height() - 30
    assert await rpc.get_block_height() <= world.rpc.height() - 30


async def test_a_rolled_back_slot_shows_processed_then_nothing(world: World, rpc: RpcClient) -> None:
    tx = usdc_payment(world, 5, await _blockhash(rpc), "rolled back")
    _faulty(world, rollback=1.0)
    signature = await rpc.send_transaction(b64(tx))
    _faulty(world)
    seen = (await rpc.get_signature_statuses([signature]))[0]
    assert seen is not None and seen.confirmation_status == "processed"
    start = world.rpc.rolled_back[signature]
    await eventually(lambda: world.rpc.height() >= start + ROLLBACK_SLOTS)
    assert (await rpc.get_signature_statuses([signature]))[0] is None
    assert "rolled back" not in world.rpc.executed_memos
