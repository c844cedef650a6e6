"""The sandbox behind a balancer (`lag_share`): reads answered by a lagging or a current node, each with
the slot it answered at; getEpochInfo's slot and height from one node; getSignaturesForAddress with
memos as a node writes them and -32016 below `minContextSlot`."""

from __future__ import annotations

import pytest
from solders.hash import Hash

from chain.rpc import RpcClient
from core.errors import MinContextSlotNotReached
from sandbox.faults import Faults
from sandbox.world import World
from tests.sandbox.helpers import b64, usdc_payment


async def test_a_balancer_mixes_a_lagging_node_with_a_current_one(world: World, rpc: RpcClient) -> None:
    world.rpc.faults = Faults(lag_slots=40, lag_share=0.5, seed=5)
    await rpc.get_slot()
    now = world.rpc.height()
    slots = [(await rpc.get_epoch_info()).slot for _ in range(30)]
    behind = [s for s in slots if s < now - 20]
    assert behind and len(behind) < len(slots)  # some reads from each node
    info = await rpc.get_epoch_info()
    assert info.slot == info.height


async def test_signatures_for_address_carry_memos_and_honour_min_context_slot(
    world: World, rpc: RpcClient
) -> None:
    blockhash = await rpc.get_latest_blockhash()
    tx = usdc_payment(world, 1_000, Hash.from_string(blockhash.blockhash), memo="ord:7")
    signature = await rpc.send_transaction(b64(tx))
    found = await rpc.get_signatures_for_address(world.wallet.pubkey())
    assert [(e.signature, e.memo) for e in found][:1] == [(signature, "[5] ord:7")]
    with pytest.raises(MinContextSlotNotReached):
        await rpc.get_signatures_for_address(
            world.wallet.pubkey(), min_context_slot=world.rpc.height() + 10_000
        )
