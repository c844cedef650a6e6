"""The sandbox's pools: a swap routed by its Jupiter API lands as real SPL transfers, the pool logs it as
Raydium does (decoded by the registry's own decoder through the log walker, pushed to a logsSubscribe
on the program), and the next quote prices against the moved reserves."""

from __future__ import annotations

import asyncio
import base64

import httpx
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chain.logs import walk_logs
from chain.rpc import RpcClient
from collectors.solana_ws import Notification, SolanaWsClient
from market import amm
from market import bonding_curve as bc
from sandbox.pools import ray_log_line
from sandbox.pump import trade_event_line
from sandbox.world import SOL, USDC, World, sol_usdc_pool
from tests.sandbox.helpers import b64, eventually
from venues import registry
from venues.pumpfun.schemas import PROGRAM_ID as PUMP
from venues.raydium import decoders as raydium
from venues.raydium.schemas import PC_TO_COIN, SwapBaseIn


def test_the_ray_log_encoder_round_trips_through_the_decoder() -> None:
    swap = SwapBaseIn(1_000_000_000, 0, PC_TO_COIN, 1_000_000_000, 10**15, 150 * 10**12, 13_299_999)
    assert raydium.decode_ray_log(ray_log_line(swap)) == swap


async def _swap(world: World, amount: int) -> tuple[str, dict[str, str]]:
    base = world.urls["JUPITER_URL"]
    async with httpx.AsyncClient() as http:
        params = {"inputMint": USDC, "outputMint": SOL, "amount": str(amount), "slippageBps": "50"}
        quote = (await http.get(f"{base}/swap/v1/quote", params=params)).json()
        body = {"quoteResponse": quote, "userPublicKey": str(world.wallet.pubkey())}
        unsigned = VersionedTransaction.from_bytes(
            base64.b64decode((await http.post(f"{base}/swap/v1/swap", json=body)).json()["swapTransaction"])
        )
    message = unsigned.message
    assert isinstance(message, MessageV0)
    signed = VersionedTransaction.populate(message, [world.wallet.sign_message(to_bytes_versioned(message))])
    return b64(signed), quote


async def test_a_routed_swap_logs_ray_log_and_moves_the_reserves(world: World, rpc: RpcClient) -> None:
    client = SolanaWsClient(world.urls["SOLANA_WS_URL"], stall_s=5.0)
    pushed: list[Notification] = []

    async def keep(note: Notification) -> None:
        pushed.append(note)

    client.subscribe_logs(raydium.PROGRAM_ID, keep)
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        raw, quote = await _swap(world, 1_000_000_000)
        signature = await rpc.send_transaction(raw)
        record = await rpc.get_transaction_record(signature)
        assert record is not None and record.err is None
        found = walk_logs(
            record.logs,
            {raydium.PROGRAM_ID: raydium.LOG_DECODER},
            signature=signature,
            slot=record.slot,
            received_ms=0,
        )
        state = sol_usdc_pool()
        assert [e.event for e in found] == [
            SwapBaseIn(
                1_000_000_000,
                0,
                PC_TO_COIN,
                1_000_000_000,
                state.base_reserve,
                state.quote_reserve,
                int(quote["outAmount"]),
            )
        ]
        await eventually(lambda: pushed)
        assert pushed[0].result["value"]["signature"] == signature
        assert pushed[0].result["value"]["logs"] == record.logs
        _, again = await _swap(world, 1_000_000_000)
        moved = amm.quote_out(
            1_000_000_000,
            state.quote_reserve + 1_000_000_000,
            state.base_reserve - int(quote["outAmount"]),
            25,
        )
        assert int(again["outAmount"]) == moved < int(quote["outAmount"])
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


def test_the_pump_curve_logs_a_trade_event_the_registry_decodes() -> None:
    user = Pubkey.new_unique()
    after = bc.Curve(1_000_000_000_000, 30_000_000_000, 800_000_000_000)
    line = trade_event_line(
        "7R4zU5pgHFxRQaNUhhCAPFXaSN6AWiheD6rRfkFJpump", 10**9, 35 * 10**9, True, user, after
    )
    logs = [f"Program {PUMP} invoke [1]", line, f"Program {PUMP} success"]
    found = registry.decode_transaction_logs(logs, signature="s", slot=1, received_ms=0)  # the collector's
    event = found[0].event
    assert (event.sol_amount, event.token_amount, event.is_buy, event.user) == (
        10**9,
        35 * 10**9,
        True,
        str(user),
    )
    assert (event.virtual_sol_reserves, event.virtual_token_reserves, event.real_token_reserves) == (
        30_000_000_000,
        1_000_000_000_000,
        800_000_000_000,
    )
