"""Raydium v4 pool resolution: logs notification -> getTransaction -> getAccountInfo -> Swap, against
local PubSub and JSON-RPC servers speaking Solana's formats (transactions compiled by solders)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.pubkey import Pubkey

from chain.borsh import b58decode, b58encode
from chain.rpc import RpcClient
from collectors.chain_collector import ChainCollector
from collectors.solana_ws import SolanaWsClient
from core.errors import DecodeError
from market.tokens import USDC, WSOL
from streams.codec import decode
from streams.records import Swap
from tests.collectors.solana_pubsub_server import PUMP, PubSubServer, eventually
from tests.collectors.solana_rpc_server import (
    RpcServer,
    amm_info_bytes,
    ray_log_line,
    swap_instruction,
    transaction_result,
)
from tests.collectors.test_chain_collector import TRADE_129_LINE, MemorySink, pump_tx
from venues.raydium import decoders as raydium
from venues.raydium.data import RaydiumPoolResolver, swap_accounts

RAY = raydium.PROGRAM_ID
# The real SwapBaseIn of tests/chain/test_log_walker.py (a Jupiter -> Raydium v4 route).
REAL_RAY_LOG = (
    "Program log: ray_log: A2SoNgAAAAAAAAAAAAAAAAABAAAAAAAAAB7IPhAIAAAAjEpmligAAACk8vyzBgAAAFoWSgEAAAAA"
)


@dataclass
class Pool:
    amm: Pubkey
    coin_vault: Pubkey
    pc_vault: Pubkey


def make_pool(
    rpc: RpcServer, *, coin: str = WSOL, pc: str = USDC, decimals: tuple[int, int] = (9, 6)
) -> Pool:
    pool = Pool(Pubkey.new_unique(), Pubkey.new_unique(), Pubkey.new_unique())
    data = amm_info_bytes(
        coin_vault=pool.coin_vault,
        pc_vault=pool.pc_vault,
        coin_mint=coin,
        pc_mint=pc,
        coin_decimals=decimals[0],
        pc_decimals=decimals[1],
    )
    rpc.add_account(str(pool.amm), data)
    return pool


def ray_logs(*lines: str) -> list[str]:
    return [f"Program {RAY} invoke [1]", *lines, f"Program {RAY} success"]


def add_swap_tx(
    rpc: RpcServer, sig: str, pools: list[Pool], lines: list[str], *, accounts: int = 18, **kw: object
) -> list[str]:
    payer = Pubkey.new_unique()
    logs = ray_logs(*lines)
    ixs = [swap_instruction(p.amm, p.coin_vault, p.pc_vault, payer, accounts=accounts) for p in pools]
    result = transaction_result(sig, slot=5, logs=logs, ray_ix=ixs[0], payer=payer, **kw)  # type: ignore[arg-type]
    if len(ixs) == 2:  # two hops: append the second swap as another top-level instruction
        second = transaction_result(sig, slot=5, logs=logs, ray_ix=ixs[1], payer=payer)
        keys = result["transaction"]["message"]["accountKeys"]
        other_keys = second["transaction"]["message"]["accountKeys"]
        [ix] = second["transaction"]["message"]["instructions"]
        for key in other_keys:
            if key not in keys:
                keys.append(key)
        ix["accounts"] = [keys.index(other_keys[i]) for i in ix["accounts"]]
        ix["programIdIndex"] = keys.index(other_keys[ix["programIdIndex"]])
        result["transaction"]["message"]["instructions"].append(ix)
    rpc.add_transaction(result)
    return logs


class Rig:
    def __init__(
        self, ws: PubSubServer, rpc: RpcServer, collector: ChainCollector, resolver: RaydiumPoolResolver
    ):
        self.ws, self.rpc, self.collector, self.resolver = ws, rpc, collector, resolver


@pytest.fixture
async def rig() -> AsyncIterator[tuple[Rig, MemorySink]]:
    sink = MemorySink()
    async with PubSubServer() as ws, RpcServer() as rpc:
        client = RpcClient(rpc.url, timeout_s=5)
        resolver = RaydiumPoolResolver(client, retry_s=0.01, pool_cache_size=2)
        collector = ChainCollector(sink, pool_lookup=resolver)
        wsc = SolanaWsClient(ws.url, stall_s=5)
        collector.attach(wsc)
        ws.expect = 5
        task = asyncio.create_task(wsc.run())
        await asyncio.wait_for(wsc.connected.wait(), 5)
        try:
            yield Rig(ws, rpc, collector, resolver), sink
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await collector.close()
            await client.close()


def swaps(sink: MemorySink) -> list[Swap]:
    return [decode(Swap, v) for _, v in sink.on("raw.swaps")]


def test_base58_round_trip() -> None:
    for data in (b"", b"\0\0\x01", bytes(range(40)), bytes(Pubkey.new_unique())):
        assert b58decode(b58encode(data)) == data
    key = Pubkey.new_unique()
    assert b58encode(bytes(key)) == str(key)
    with pytest.raises(DecodeError):
        b58decode("0OIl")


def test_amm_info_at_the_published_offsets() -> None:
    vaults = Pubkey.new_unique(), Pubkey.new_unique()
    data = amm_info_bytes(
        coin_vault=vaults[0], pc_vault=vaults[1], coin_mint=USDC, pc_mint=WSOL, coin_decimals=6, pc_decimals=9
    )
    info = raydium.AmmInfo.decode(data)
    assert (info.coin_vault, info.pc_vault) == (str(vaults[0]), str(vaults[1]))
    assert (info.coin_vault_mint, info.pc_vault_mint, info.coin_decimals, info.pc_decimals) == (
        USDC,
        WSOL,
        6,
        9,
    )
    assert info.fee_bps == 25 and info.status == 6
    pool = info.to_pool_info("amm", quote_mints=(USDC, WSOL))
    assert not pool.base_is_coin  # a USDC/SOL pool trades as SOL/USDC
    with pytest.raises(DecodeError):
        raydium.AmmInfo.decode(data[:-1])


async def test_a_raydium_swap_gets_its_pool_and_mints(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    pool = make_pool(r.rpc)
    logs = add_swap_tx(r.rpc, "sigA", [pool], [REAL_RAY_LOG])
    await r.ws.notify_slot(77)
    await r.ws.notify_logs(RAY, signature="sigA", logs=logs, slot=77)
    await eventually(lambda: r.collector.stats.swaps == 1)
    [swap] = swaps(sink)
    expected = raydium.decode_ray_log(REAL_RAY_LOG)
    assert isinstance(expected, raydium.SwapBaseIn)
    assert (swap.venue, swap.pool, swap.pair) == ("raydium", str(pool.amm), "SOL/USDC")
    assert (swap.base_mint, swap.quote_mint, swap.base_decimals, swap.quote_decimals) == (WSOL, USDC, 9, 6)
    assert expected.direction == raydium.PC_TO_COIN  # USDC in, SOL out: the taker bought SOL
    assert (swap.side, swap.base_amount, swap.quote_amount) == (
        "buy",
        expected.out_amount,
        expected.amount_in,
    )
    assert swap.base_reserve == expected.pool_coin - expected.out_amount  # reserves from the log
    assert (swap.fee_bps, swap.slot, swap.signature) == (25, 77, "sigA")
    method, params = r.rpc.calls[0]
    assert method == "getTransaction"
    assert params[1] == {"encoding": "json", "commitment": "confirmed", "maxSupportedTransactionVersion": 0}
    assert r.collector.stats.resolved == 1 and r.collector.stats.unattributed == 0


async def test_v0_route_with_lookup_table_and_17_accounts(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    pool = make_pool(r.rpc, coin=USDC, pc=WSOL, decimals=(6, 9))
    table = AddressLookupTableAccount(
        Pubkey.new_unique(), [Pubkey.new_unique(), pool.coin_vault, pool.pc_vault]
    )
    line = ray_log_line(
        direction=raydium.PC_TO_COIN, amount_in=10**9, out=149_000_000, pool_coin=10**12, pool_pc=10**13
    )
    logs = add_swap_tx(r.rpc, "sigV0", [pool], [line], accounts=17, lookup=table, via_jupiter=True)
    tx = r.rpc.transactions["sigV0"]
    assert tx["version"] == 0 and tx["meta"]["loadedAddresses"]["writable"]  # the vaults come from the table
    assert tx["meta"]["innerInstructions"][0]["instructions"][0]["stackHeight"] == 2
    await r.ws.notify_logs(RAY, signature="sigV0", logs=logs, slot=78)
    await eventually(lambda: r.collector.stats.swaps == 1)
    [swap] = swaps(sink)
    # coin is USDC, so base is the pc side (SOL); PC_TO_COIN paid SOL in for USDC: a sell of SOL.
    assert (swap.pair, swap.side, swap.base_amount, swap.quote_amount) == (
        "SOL/USDC",
        "sell",
        10**9,
        149_000_000,
    )
    assert (swap.base_reserve, swap.quote_reserve) == (10**13 + 10**9, 10**12 - 149_000_000)


def test_jsonparsed_shape_names_the_same_accounts() -> None:
    rpc = RpcServer()
    pool = make_pool(rpc)
    payer = Pubkey.new_unique()
    ix = swap_instruction(pool.amm, pool.coin_vault, pool.pc_vault, payer, accounts=18)
    tx = transaction_result("p", slot=1, logs=[], ray_ix=ix, payer=payer)
    keys = tx["transaction"]["message"]["accountKeys"]
    parsed_keys = [
        {"pubkey": k, "signer": i == 0, "source": "transaction", "writable": True} for i, k in enumerate(keys)
    ]
    [compiled] = tx["transaction"]["message"]["instructions"]
    parsed_ix = {
        "accounts": [keys[i] for i in compiled["accounts"]],
        "data": compiled["data"],
        "programId": keys[compiled["programIdIndex"]],
        "stackHeight": None,
    }
    tx["transaction"]["message"] = {
        **tx["transaction"]["message"],
        "accountKeys": parsed_keys,
        "instructions": [parsed_ix],
    }
    assert swap_accounts(tx)[0].amm == str(pool.amm)
    assert swap_accounts(tx)[0].pc_vault == str(pool.pc_vault)


async def test_two_hops_in_one_transaction_share_one_get_transaction(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    first, second = make_pool(r.rpc), make_pool(r.rpc, coin="JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN")
    one = ray_log_line(direction=raydium.COIN_TO_PC, amount_in=5, out=700, pool_coin=10**9, pool_pc=10**11)
    two = ray_log_line(direction=raydium.PC_TO_COIN, amount_in=700, out=9, pool_coin=10**9, pool_pc=10**11)
    logs = add_swap_tx(r.rpc, "hops", [first, second], [one, two])
    await r.ws.notify_logs(RAY, signature="hops", logs=logs, slot=80)
    await eventually(lambda: r.collector.stats.swaps == 2)
    assert [s.pool for s in swaps(sink)] == [str(first.amm), str(second.amm)]
    assert [m for m, _ in r.rpc.calls].count("getTransaction") == 1
    assert swaps(sink)[1].pair == "JUPyiw/USDC"


async def test_pool_account_is_read_once(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    pool = make_pool(r.rpc)
    for i in range(3):
        logs = add_swap_tx(r.rpc, f"same{i}", [pool], [REAL_RAY_LOG])
        await r.ws.notify_logs(RAY, signature=f"same{i}", logs=logs, slot=90 + i)
    await eventually(lambda: r.collector.stats.swaps == 3)
    assert [m for m, _ in r.rpc.calls].count("getAccountInfo") == 1
    assert [s.signature for s in swaps(sink)] == ["same0", "same1", "same2"]


async def test_rate_limits_and_late_transactions_are_retried(rig: tuple[Rig, MemorySink]) -> None:
    r, _ = rig
    pool = make_pool(r.rpc)
    logs = add_swap_tx(r.rpc, "busy", [pool], [REAL_RAY_LOG])
    r.rpc.rate_limit = {"getTransaction": 1, "getAccountInfo": 2}
    r.rpc.not_found["busy"] = 1
    await r.ws.notify_logs(RAY, signature="busy", logs=logs, slot=91)
    await eventually(lambda: r.collector.stats.swaps == 1)
    assert r.resolver.stats.rate_limited == 3 and r.resolver.stats.not_found_retries == 1


async def test_failures_are_counted_and_the_stream_goes_on(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    good = make_pool(r.rpc)
    foreign = make_pool(r.rpc)
    r.rpc.add_account(str(foreign.amm), r.rpc.accounts[str(foreign.amm)][0], owner=PUMP)  # not a Raydium pool
    bad_logs = add_swap_tx(r.rpc, "foreign", [foreign], [REAL_RAY_LOG])
    good_logs = add_swap_tx(r.rpc, "fine", [good], [REAL_RAY_LOG])
    await r.ws.notify_logs(RAY, signature="foreign", logs=bad_logs, slot=92)
    await r.ws.notify_logs(RAY, signature="missing", logs=ray_logs(REAL_RAY_LOG), slot=92)  # never found
    await r.ws.notify_logs(RAY, signature="fine", logs=good_logs, slot=93)
    await eventually(lambda: r.collector.stats.swaps == 1 and r.collector.stats.resolve_failed == 2)
    assert [s.signature for s in swaps(sink)] == ["fine"]


async def test_resolution_does_not_block_dispatch_and_keeps_order(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    pool = make_pool(r.rpc)
    slow_logs = add_swap_tx(r.rpc, "slow", [pool], [REAL_RAY_LOG])
    fast_logs = add_swap_tx(r.rpc, "fast", [pool], [REAL_RAY_LOG])
    r.rpc.delay_s["slow"] = 0.5
    await r.ws.notify_logs(RAY, signature="slow", logs=slow_logs, slot=94)
    await r.ws.notify_logs(RAY, signature="fast", logs=fast_logs, slot=95)
    await r.ws.notify_logs(PUMP, signature="pump", logs=pump_tx(TRADE_129_LINE), slot=95)
    # The Pump.fun trade behind them is produced while the slow transaction is still being fetched ...
    await eventually(lambda: r.collector.stats.swaps == 1, timeout_s=0.4)
    assert [s.signature for s in swaps(sink)] == ["pump"]
    # ... and the pool's two swaps come out in the order they arrived.
    await eventually(lambda: r.collector.stats.swaps == 3)
    assert [s.signature for s in swaps(sink)] == ["pump", "slow", "fast"]
