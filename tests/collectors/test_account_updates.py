"""accountSubscribe: followed pool and bonding-curve accounts -> PoolState on raw.pools, against the local
PubSub server sending accountNotifications with base64 data as Solana does; malformed frames,
undecodable data, disconnects (resubscribe) and curves followed from new Pump.fun mints."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from solders.pubkey import Pubkey

from collectors.chain_collector import ChainCollector
from collectors.solana_ws import SolanaWsClient
from market.tokens import USDC, WSOL
from streams.codec import decode
from streams.records import DeadLetter, Launch, PoolState, Swap
from tests.collectors.solana_pubsub_server import PUMP, PubSubServer, eventually
from tests.collectors.solana_rpc_server import amm_info_bytes
from tests.collectors.test_chain_collector import MemorySink, pump_tx
from tests.venues.pumpfun.pump_vectors import CREATE_339_LINE, TRADE_129_LINE
from venues.pumpfun import decoders as pumpfun
from venues.raydium import decoders as raydium

CURVE = str(Pubkey.new_unique())
POOL = str(Pubkey.new_unique())
TRADE = pumpfun.decode_log_line(TRADE_129_LINE)
assert isinstance(TRADE, pumpfun.TradeEvent)
TRADED_CURVE = pumpfun.bonding_curve_address(TRADE.mint)
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "venues/vectors/pumpfun_events.json").read_text(encoding="utf-8")
)


def curve_data(
    *, virtual_token: int, virtual_sol: int, real_token: int, real_sol: int, complete: bool
) -> str:
    """A BondingCurve account as the program stores it (discriminator, 5 u64, bool, creator, flags)."""
    body = struct.pack("<QQQQQ?", virtual_token, virtual_sol, real_token, real_sol, 10**15, complete)
    body += bytes(Pubkey.new_unique()) + b"\0\0"
    return base64.b64encode(pumpfun.BONDING_CURVE_DISCRIMINATOR + body).decode()


class Rig:
    def __init__(self, server: PubSubServer, collector: ChainCollector, client: SolanaWsClient) -> None:
        self.server, self.collector, self.client = server, collector, client


@pytest.fixture
async def rig() -> AsyncIterator[tuple[Rig, MemorySink]]:
    sink = MemorySink()
    async with PubSubServer() as server:
        client = SolanaWsClient(server.url, stall_s=5, backoff_initial_s=0.05, backoff_max_s=0.1)
        collector = ChainCollector(sink, new_curve_limit=1)
        collector.attach(client, accounts=(CURVE, POOL, TRADED_CURVE))
        server.expect = 8
        task = asyncio.create_task(client.run())
        await asyncio.wait_for(client.connected.wait(), 5)
        try:
            yield Rig(server, collector, client), sink
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


def states(sink: MemorySink) -> list[PoolState]:
    return [decode(PoolState, v) for _, v in sink.on("raw.pools")]


async def test_subscribes_each_account_in_base64(rig: tuple[Rig, MemorySink]) -> None:
    r, _ = rig
    accounts = [req["params"] for req in r.server.requests if req["method"] == "accountSubscribe"]
    assert accounts == [
        [a, {"encoding": "base64", "commitment": "confirmed"}] for a in (CURVE, POOL, TRADED_CURVE)
    ]


async def test_bonding_curve_update_becomes_a_pool_state(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    data = curve_data(
        virtual_token=10**15, virtual_sol=40 * 10**9, real_token=7 * 10**14, real_sol=10**10, complete=False
    )
    await r.server.notify_slot(501)
    await r.server.notify_account(CURVE, data_b64=data, slot=501, lamports=10**10 + 1_461_600)
    await eventually(lambda: r.collector.stats.account_updates == 1)
    [(key, _)] = sink.on("raw.pools")
    [state] = states(sink)
    assert key == CURVE.encode()
    assert (state.venue, state.pool, state.base_mint, state.quote_mint) == ("pumpfun", CURVE, "", WSOL)
    assert (state.base_reserve, state.quote_reserve) == (10**15, 40 * 10**9)
    assert (state.real_base_reserve, state.real_quote_reserve, state.complete) == (7 * 10**14, 10**10, False)
    assert (state.base_decimals, state.quote_decimals, state.slot) == (6, 9, 501)
    assert 0 < state.ts_ms <= state.received_ms


async def test_a_trade_names_the_curve_and_its_fee(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    await r.server.notify_logs(PUMP, signature="t1", logs=pump_tx(TRADE_129_LINE), slot=502)
    data = curve_data(virtual_token=1, virtual_sol=2, real_token=0, real_sol=85 * 10**9, complete=True)
    await r.server.notify_account(TRADED_CURVE, data_b64=data, slot=503, lamports=1)
    await eventually(lambda: r.collector.stats.account_updates == 1)
    [state] = states(sink)
    assert (state.pool, state.base_mint, state.complete) == (TRADED_CURVE, TRADE.mint, True)
    swap = decode(Swap, sink.on("raw.swaps")[0][1])
    assert state.fee_bps == swap.fee_bps
    # Keyed by the pair its swap named (raw.pools is partitioned as raw.swaps), not by the curve's address.
    [(key, _)] = sink.on("raw.pools")
    assert key == swap.pair.encode() == sink.on("raw.swaps")[0][0]


async def test_raydium_pool_account_gives_mints_decimals_and_fee(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    raw = amm_info_bytes(
        coin_vault=Pubkey.new_unique(),
        pc_vault=Pubkey.new_unique(),
        coin_mint=USDC,
        pc_mint=WSOL,
        coin_decimals=6,
        pc_decimals=9,
    )
    await r.server.notify_account(
        POOL, data_b64=base64.b64encode(raw).decode(), slot=504, lamports=6_124_800, owner=raydium.PROGRAM_ID
    )
    await eventually(lambda: r.collector.stats.account_updates == 1)
    [state] = states(sink)
    assert (state.venue, state.base_mint, state.quote_mint) == ("raydium", WSOL, USDC)
    assert (state.base_decimals, state.quote_decimals, state.fee_bps) == (9, 6, 25)
    assert (state.base_reserve, state.quote_reserve) == (0, 0)  # they live in the vaults


async def test_malformed_frames_and_bad_data_do_not_stop_the_stream(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    sub = r.server.sub_id("accountSubscribe", CURVE)
    await r.server.send_raw('{"jsonrpc":"2.0","method":"accountNotification","params":{"result":')  # cut off
    value = {"data": ["not base64!", "base64"], "owner": PUMP, "lamports": 1}
    frame = {
        "jsonrpc": "2.0",
        "method": "accountNotification",
        "params": {"result": {"context": {"slot": 9}, "value": value}, "subscription": sub},
    }
    await r.server.send_raw(orjson.dumps(frame).decode())
    await r.server.notify_account(CURVE, data_b64=base64.b64encode(b"\x01" * 90).decode(), slot=9, lamports=1)
    await r.server.notify_account(
        CURVE, data_b64=base64.b64encode(b"x").decode(), slot=9, lamports=1, owner=USDC
    )
    good = curve_data(virtual_token=5, virtual_sol=6, real_token=1, real_sol=2, complete=False)
    await r.server.notify_account(CURVE, data_b64=good, slot=10, lamports=1)
    await eventually(lambda: r.collector.stats.account_updates == 1)
    assert r.client.stats.malformed == 1 and r.collector.stats.dead_letters == 3
    letters = [(k, decode(DeadLetter, v)) for k, v in sink.on("dlq.raw")]
    assert {k for k, _ in letters} == {b"solana.accounts"}
    reasons = [d.reason for _, d in letters]
    assert "base64" in reasons[0] and "discriminator" in reasons[1] and "neither" in reasons[2]
    assert base64.b64decode(letters[0][1].value_b64).startswith(b'{"jsonrpc"')  # the frame as it came


async def test_disconnect_resubscribes_followed_and_new_curves(rig: tuple[Rig, MemorySink]) -> None:
    r, sink = rig
    await r.server.notify_logs(PUMP, signature="c1", logs=pump_tx(CREATE_339_LINE), slot=600)
    await eventually(lambda: r.collector.stats.new_curves_followed == 1)
    launch = decode(Launch, sink.on("raw.launches")[0][1])
    await eventually(lambda: any(req["params"][:1] == [launch.bonding_curve] for req in r.server.requests))
    # The bound (1 here): a second coin's launch is produced, its curve not followed.
    raw = base64.b64decode(CREATE_339_LINE.removeprefix("Program data: "))
    for key in (launch.mint, launch.bonding_curve):
        raw = raw.replace(bytes(Pubkey.from_string(key)), bytes(Pubkey.new_unique()))
    other = f"Program data: {base64.b64encode(raw).decode()}"
    await r.server.notify_logs(PUMP, signature="c2", logs=pump_tx(other), slot=601)
    await eventually(lambda: r.collector.stats.launches == 2)
    assert r.collector.stats.new_curves_followed == 1
    await r.server.drop()
    await eventually(lambda: r.server.connections == 2 and r.client.connected.is_set())
    second = [req["params"][0] for req in r.server.requests[9:] if req["method"] == "accountSubscribe"]
    assert second == [CURVE, POOL, TRADED_CURVE, launch.bonding_curve]
    data = curve_data(virtual_token=3, virtual_sol=4, real_token=1, real_sol=1, complete=False)
    await r.server.notify_account(launch.bonding_curve, data_b64=data, slot=602, lamports=1)
    await eventually(lambda: r.collector.stats.account_updates == 1)
    [state] = states(sink)
    assert (state.pool, state.base_mint) == (launch.bonding_curve, launch.mint)
    assert r.client.stats.reconnects == 1


async def test_a_curves_pool_state_keeps_the_creator_fee_split_its_last_trade_paid(
    rig: tuple[Rig, MemorySink],
) -> None:
    """The account does not say what its trades pay: the last trade's protocol + creator split does, so
    the pricers can round each part up as the program does."""
    r, sink = rig
    line = VECTORS["trade_event"][-1]["program_data_log_line"]  # current IDL: 95 + 30 bps
    event = pumpfun.decode_log_line(line)
    assert isinstance(event, pumpfun.TradeEvent)
    curve = pumpfun.bonding_curve_address(event.mint)
    assert r.collector.follow_account(curve, mint=event.mint)
    await r.server.notify_logs(PUMP, signature="t2", logs=pump_tx(line), slot=600)
    await eventually(lambda: len(sink.on("raw.swaps")) == 1)
    swap = decode(Swap, sink.on("raw.swaps")[0][1])
    assert (swap.fee_bps, swap.creator_fee_bps) == (125, 30)
    data = curve_data(
        virtual_token=10**15, virtual_sol=3 * 10**10, real_token=7 * 10**14, real_sol=10**9, complete=False
    )
    await r.server.notify_account(curve, data_b64=data, slot=601, lamports=1)
    await eventually(lambda: r.collector.stats.account_updates == 1)
    [state] = states(sink)
    assert (state.pool, state.fee_bps, state.creator_fee_bps) == (curve, 125, 30)
