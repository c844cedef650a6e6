"""The sandbox's PubSub through the collectors' own client (`collectors.solana_ws.SolanaWsClient`)."""

from __future__ import annotations

import asyncio

from solders.hash import Hash

from chain.local import MEMO_PROGRAM_ID
from chain.rpc import RpcClient
from collectors.solana_ws import Notification, SolanaWsClient
from sandbox.world import USDC, World
from tests.sandbox.helpers import b64, eventually, usdc_payment


async def test_slots_logs_accounts_and_a_signature_are_pushed(world: World, rpc: RpcClient) -> None:
    client = SolanaWsClient(world.urls["SOLANA_WS_URL"], stall_s=5.0)
    got: dict[str, list[Notification]] = {"slot": [], "logs": [], "account": []}

    async def keep(kind: str, note: Notification) -> None:
        got[kind].append(note)

    client.subscribe_slots(lambda n: keep("slot", n))
    client.subscribe_logs(str(MEMO_PROGRAM_ID), lambda n: keep("logs", n))
    client.subscribe_account(str(world.chain.wallet_account(USDC)), lambda n: keep("account", n))
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        await eventually(lambda: len(got["slot"]) >= 3)
        slots = [n.result["slot"] for n in got["slot"]]
        assert slots == sorted(slots) and got["slot"][0].result["parent"] == slots[0] - 1
        tx = usdc_payment(world, 7_000, Hash.from_string((await rpc.get_latest_blockhash()).blockhash), "ws")
        confirmation = asyncio.create_task(client.confirmation(str(tx.signatures[0]), timeout_s=5))
        await asyncio.sleep(0.05)  # the subscription is on the wire before the transaction
        await rpc.send_transaction(b64(tx))
        assert await confirmation == {"err": None}
        await eventually(lambda: got["logs"] and got["account"])
        value = got["logs"][0].result["value"]
        assert value["signature"] == str(tx.signatures[0]) and value["err"] is None
        assert any("Memo" in line for line in value["logs"])
        account = got["account"][-1].result["value"]
        assert account["owner"] == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
        assert account["data"][1] == "base64"
        assert client.stats.malformed == 0 and client.stats.unrouted == 0
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_a_signature_that_already_landed_is_notified_at_once(world: World, rpc: RpcClient) -> None:
    tx = usdc_payment(world, 1, Hash.from_string((await rpc.get_latest_blockhash()).blockhash), "early")
    await rpc.send_transaction(b64(tx))
    client = SolanaWsClient(world.urls["SOLANA_WS_URL"], stall_s=5.0)
    runner = asyncio.create_task(client.run())
    try:
        assert await client.confirmation(str(tx.signatures[0]), timeout_s=5) == {"err": None}
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
