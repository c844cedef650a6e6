"""The sandbox's Pump.fun double: the simulated market's launches and curve trades replayed on the chain
(what the chain collector's decoders read back equals the simulator's records), and the world's wallet
trading a launched curve through the registry's venue, its fills read from the landed transactions the
way mainnet allows."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from chain.local import memo_ix, token_amount
from chain.rpc import RpcClient, TransactionRecord
from collectors.live import LiveMarket
from core.settings import load_settings
from market import bonding_curve as bc
from market.simulator import PUMPFUN, MarketSimulator
from market.tokens import WSOL
from sandbox.pump import CONSTRAINT_SEEDS, TOO_LITTLE_SOL_RECEIVED, TOO_MUCH_SOL_REQUIRED
from sandbox.world import World, WorldConfig
from streams.codec import decode
from streams.records import Launch, Order, PoolState, Swap
from streams.topics import RAW_LAUNCHES, RAW_POOLS, RAW_SWAPS
from tests.sandbox.helpers import eventually
from venues import registry
from venues.interface import PreparedTx
from venues.landed import landing_from_record
from venues.lifecycle import CONFIRMED, LifecycleConfig, OrderLifecycle
from venues.pumpfun.addresses import GLOBAL, PROGRAM_ID, bonding_curve_pda
from venues.pumpfun.execution import PumpFunVenue
from venues.pumpfun.instructions import Coin, TradeAccounts, buy_instruction, sell_instruction
from venues.pumpfun.schemas import CreateEvent, TradeEvent
from venues.registry import VenueContext, build_venue

GAP = (0.5, 1.5)
FAST = LifecycleConfig(poll_interval_s=0.01, backoff_base_s=0.01, backoff_max_s=0.05, max_call_retries=3)


async def decoded(rpc: RpcClient, signature: str) -> list[Launch | Swap]:
    """The records the chain collector makes of one landed transaction, from `getTransaction`'s logs."""
    record = await rpc.get_transaction_record(signature)
    assert record is not None and record.err is None
    out: list[Launch | Swap] = []
    for found in registry.decode_transaction_logs(
        record.logs, signature=signature, slot=record.slot, received_ms=0
    ):
        event = found.event
        if isinstance(event, CreateEvent):
            out.append(event.parse_to_launch(slot=record.slot, signature=signature, received_ms=0))
        elif isinstance(event, TradeEvent):
            out.append(
                event.parse_to_swap(bonding_curve=None, slot=record.slot, signature=signature, received_ms=0)
            )
    return out


@pytest.mark.parametrize("world", [{"traders": 2, "launch_gap_s": GAP}], indirect=True)
async def test_the_traders_replay_launches_and_curve_trades_as_the_simulator_made_them(
    world: World, rpc: RpcClient
) -> None:
    traders = world.traders
    assert traders is not None
    await eventually(lambda: traders.stats.launches >= 1 and world.pump.trades >= 5, timeout_s=30)
    await traders.stop()
    newest_first = await rpc.get_signatures_for_address(PROGRAM_ID)
    landed = [r for info in reversed(newest_first) for r in await decoded(rpc, info.signature)]
    sim = MarketSimulator(
        seed=world.config.seed,
        pairs=world.config.pairs,
        rate_eps=world.config.rate_eps,
        start_ms=traders.sim.start_ms,
        launch_gap_s=GAP,
    )
    expected: list[Launch | Swap] = []
    for event in sim.events():  # up to the last one replayed (the simulator applies an event as it yields it)
        if isinstance(event, Launch) or event.venue == PUMPFUN:
            expected.append(event)
            if len(expected) == len(landed):
                break
    assert any(isinstance(r, Launch) for r in landed) and sum(isinstance(r, Swap) for r in landed) >= 5
    for got, want in zip(landed, expected, strict=True):
        fields: tuple[str, ...]
        if isinstance(want, Launch):
            assert isinstance(got, Launch)
            fields = ("mint", "bonding_curve", "name", "symbol", "creator", "virtual_base_reserve")
            fields += ("virtual_quote_reserve", "real_base_reserve", "total_supply")
        else:
            assert isinstance(got, Swap)
            fields = ("pool", "base_mint", "quote_mint", "side", "base_amount", "quote_amount", "fee_bps")
            fields += ("base_reserve", "quote_reserve", "real_base_reserve")
        assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}
    # The chain's curves are the simulator's, as its events left them.
    for state in sim.pools():
        if state.venue == PUMPFUN and Pubkey.from_string(state.pool) in world.pump.curves:
            curve = world.pump.curves[Pubkey.from_string(state.pool)].curve
            assert (curve.virtual_token_reserves, curve.virtual_sol_reserves, curve.real_token_reserves) == (
                state.base_reserve,
                state.quote_reserve,
                state.real_base_reserve,
            )
    assert traders.stats.failed == 0


def a_launch(n: int) -> Launch:
    mint = Keypair().pubkey()
    c = bc.Curve.initial()
    return Launch(
        mint=str(mint), bonding_curve=str(bonding_curve_pda(mint)), name=f"Test {n}", symbol=f"T{n}",
        creator=str(Keypair().pubkey()), virtual_base_reserve=c.virtual_token_reserves,
        virtual_quote_reserve=c.virtual_sol_reserves, real_base_reserve=c.real_token_reserves,
        total_supply=bc.TOKEN_TOTAL_SUPPLY, slot=0, ts_ms=0, received_ms=0, signature="",
    )  # fmt: skip


def launched(world: World) -> Launch:
    payer = Keypair()
    world.rpc.svm.airdrop(payer.pubkey(), 10**9)
    launch = a_launch(1)
    signature = world.pump.launch(launch, payer)
    assert world.rpc.landed[signature][1] is None
    return launch


def curve_order(launch: Launch, oid: str, side: str, amount_in: int) -> Order:
    state = PoolState(
        venue=PUMPFUN, pool=launch.bonding_curve, base_mint=launch.mint, quote_mint=WSOL,
        base_decimals=6, quote_decimals=9, base_reserve=launch.virtual_base_reserve,
        quote_reserve=launch.virtual_quote_reserve, fee_bps=125, real_base_reserve=launch.real_base_reserve,
    )  # fmt: skip
    return Order(
        id=oid, signal_id=f"sig:{oid}", pair=f"{launch.symbol}/SOL", side=side, amount_in=amount_in,
        min_amount_out=0, venue=PUMPFUN, pool=state.pool, pool_state=state, kind="entry", reason="test",
        ts_ms=1, origin_ms=1, decided_ms=1,
    )  # fmt: skip


async def landed_record(rpc: RpcClient, signature: str) -> TransactionRecord:
    for _ in range(200):
        record = await rpc.get_transaction_record(signature)
        if record is not None:
            return record
        await asyncio.sleep(0.01)
    raise AssertionError(f"{signature} never landed")


async def test_the_wallet_buys_then_sells_a_launched_coin_through_the_registry_venue(
    world: World, rpc: RpcClient, tmp_path: Path
) -> None:
    launch = launched(world)
    venue = build_venue(
        "pumpfun", load_settings(data_dir=tmp_path), VenueContext(rpc=rpc, keypair=world.wallet)
    )
    assert isinstance(venue, PumpFunVenue) and venue.config.recipients_from_global
    owner, mint = world.wallet.pubkey(), Pubkey.from_string(launch.mint)
    svm = world.rpc.svm

    def lamports() -> int:
        held = svm.get_account(owner)
        return 0 if held is None else held.lamports

    coin_account = world.chain.open_account(owner, launch.mint)  # created by the double's first buy
    curve = bc.Curve.initial()
    # Buy with 1 SOL: exactly the tokens quoted, paying the curve's cost and fee, plus the fee.
    before = lamports()
    prepared = await venue.prepare(curve_order(launch, "pump:buy", "buy", 10**9), {})
    assert isinstance(prepared, PreparedTx)
    await venue.broadcast(prepared.raw_base64)
    record = await landed_record(rpc, prepared.signature)
    assert record.err is None
    bought = landing_from_record(record, prepared.signature, str(owner), WSOL, launch.mint)
    tokens, cost, fee = bc.buy_cost(curve, prepared.out_amount, 125)
    assert (
        (bought.in_amount, bought.out_amount)
        == (cost + fee, tokens)
        == (prepared.in_amount, prepared.out_amount)
    )
    assert before - lamports() == cost + fee + record.fee
    assert token_amount(svm.get_account(coin_account)) == tokens
    curve = bc.apply_buy(curve, tokens, cost)
    assert (await venue.read_curve(mint)).curve() == curve
    # Sell them all: the curve's proceeds less its fee, less the fee.
    before = lamports()
    prepared = await venue.prepare(curve_order(launch, "pump:sell", "sell", tokens), {})
    assert isinstance(prepared, PreparedTx)
    await venue.broadcast(prepared.raw_base64)
    record = await landed_record(rpc, prepared.signature)
    assert record.err is None
    sold = landing_from_record(record, prepared.signature, str(owner), launch.mint, WSOL)
    gross, fee = bc.sell_proceeds(curve, tokens, 125)
    assert (
        (sold.in_amount, sold.out_amount)
        == (tokens, gross - fee)
        == (prepared.in_amount, prepared.out_amount)
    )
    assert lamports() - before == gross - fee - record.fee
    assert token_amount(svm.get_account(coin_account)) == 0
    assert (await venue.read_curve(mint)).curve() == bc.apply_sell(curve, tokens, gross)
    # What the collector reads of the wallet's own trades: its key, the fee it paid on the curve.
    [swap] = await decoded(rpc, prepared.signature)
    assert isinstance(swap, Swap) and (swap.side, swap.base_amount, swap.fee_bps) == ("sell", tokens, 125)
    assert (await rpc.get_account_info(str(GLOBAL))) is not None


def send(world: World, owner: Keypair, ixs: list[Instruction]) -> tuple[str, object]:
    message = MessageV0.try_compile(
        owner.pubkey(), [*ixs, memo_ix("t")], [], world.rpc.svm.latest_blockhash()
    )
    signature = world.rpc.execute(bytes(VersionedTransaction(message, [owner])))
    return signature, world.rpc.landed[signature][1]


def test_bounds_and_unknown_curves_fail_as_the_program_fails_them_and_still_pay_the_fee() -> None:
    world = World()
    launch = launched(world)
    owner = world.wallet
    coin = Coin(Pubkey.from_string(launch.mint), Pubkey.from_string(launch.creator))
    accounts = TradeAccounts(coin, owner.pubkey(), world.pump.recipients)
    tokens, cost, fee = bc.buy_cost(bc.Curve.initial(), 10**12, 125)
    before = world.rpc.svm.get_account(owner.pubkey())
    assert before is not None
    signature, err = send(world, owner, [buy_instruction(accounts, tokens, cost + fee - 1)])
    assert err == {"InstructionError": [0, {"Custom": TOO_MUCH_SOL_REQUIRED}]}
    after = world.rpc.svm.get_account(owner.pubkey())
    assert after is not None and before.lamports - after.lamports == world.rpc.history[signature].fee
    signature, err = send(world, owner, [buy_instruction(accounts, tokens, cost + fee)])
    assert err is None
    gross, fee = bc.sell_proceeds(bc.apply_buy(bc.Curve.initial(), tokens, cost), tokens, 125)
    _, err = send(world, owner, [sell_instruction(accounts, tokens, gross - fee + 1)])
    assert err == {"InstructionError": [0, {"Custom": TOO_LITTLE_SOL_RECEIVED}]}
    other = TradeAccounts(Coin(Keypair().pubkey(), coin.creator), owner.pubkey(), world.pump.recipients)
    _, err = send(world, owner, [sell_instruction(other, tokens, 0)])
    assert err == {"InstructionError": [0, {"Custom": CONSTRAINT_SEEDS}]}
    stranger = Keypair()  # a key the sandbox does not hold: it cannot execute for it
    world.rpc.svm.airdrop(stranger.pubkey(), 10**9)
    theirs = TradeAccounts(coin, stranger.pubkey(), world.pump.recipients)
    _, err = send(world, stranger, [buy_instruction(theirs, 10**6, 10**9)])
    assert err is not None


class MemorySink:
    """The collectors' producer, keeping what they send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def on(self, topic: str) -> list[tuple[bytes, bytes]]:
        return [(k, v) for t, k, v in self.sent if t == topic]


async def test_the_chain_collector_produces_the_replayed_launches_swaps_and_curve_states(
    tmp_path: Path,
) -> None:
    """The live collectors on the world's PubSub and RPC: each landed launch is a `Launch` on raw.launches,
    each curve trade a pumpfun `Swap` on raw.swaps, and the followed curve's account a `PoolState`."""
    world = World(WorldConfig(slot_s=0.02, traders=2, launch_gap_s=GAP))
    urls = await world.start()
    sink = MemorySink()
    settings = load_settings(
        data_dir=tmp_path, solana_rpc_url=urls["SOLANA_RPC_URL"], solana_ws_url=urls["SOLANA_WS_URL"]
    )
    market = LiveMarket(settings, sink)

    def produced(topic: str) -> list[Any]:
        kind = {RAW_LAUNCHES.name: Launch, RAW_SWAPS.name: Swap, RAW_POOLS.name: PoolState}[topic]
        return [decode(kind, value) for _key, value in sink.on(topic)]

    try:
        await market.start()
        assert market.chain is not None and world.traders is not None
        await eventually(
            lambda: (
                produced(RAW_LAUNCHES.name)
                and any(s.venue == PUMPFUN for s in produced(RAW_SWAPS.name))
                and any(p.venue == PUMPFUN for p in produced(RAW_POOLS.name))
            ),
            timeout_s=30,
        )
        await world.traders.stop()
        await asyncio.sleep(0.3)
        await market.chain.drain()
    finally:
        await market.stop()
        await world.stop()
    launches = {launch.mint: launch for launch in produced(RAW_LAUNCHES.name)}
    assert set(launches) <= set(world.traders.launched)
    for mint, launch in launches.items():
        assert (launch.bonding_curve, launch.creator) == (
            world.traders.launched[mint].bonding_curve,
            world.traders.launched[mint].creator,
        )
    curve_swaps = [s for s in produced(RAW_SWAPS.name) if s.venue == PUMPFUN]
    assert all(s.base_mint in world.traders.launched and s.fee_bps == 125 for s in curve_swaps)
    assert market.chain.stats.dead_letters == 0
    for state in produced(RAW_POOLS.name):
        if state.venue == PUMPFUN:
            assert state.base_mint in launches and state.quote_mint == WSOL


async def test_the_life_cycle_settles_the_wallets_curve_orders_booked_from_the_landed_meta(
    world: World, rpc: RpcClient, tmp_path: Path, venue_db: asyncpg.Pool
) -> None:
    """`OrderLifecycle` drives the registry's venue to a confirmed buy and sell; what the landed
    transactions' meta says (`landing_from_record`) is what the chain moved, fee apart."""
    launch = launched(world)
    venue = build_venue(
        "pumpfun", load_settings(data_dir=tmp_path), VenueContext(rpc=rpc, keypair=world.wallet)
    )
    assert isinstance(venue, PumpFunVenue)
    lifecycle = OrderLifecycle(venue_db, venue, FAST)
    owner = world.wallet.pubkey()
    coin_account = world.chain.open_account(owner, launch.mint)
    held = 0
    for oid, side, spent, received in (
        ("life:buy", "buy", WSOL, launch.mint),
        ("life:sell", "sell", launch.mint, WSOL),
    ):
        before = world.rpc.svm.get_account(owner)
        assert before is not None
        outcome = await lifecycle.run(curve_order(launch, oid, side, 5 * 10**8 if side == "buy" else held))
        assert outcome.status == CONFIRMED
        record = await landed_record(rpc, outcome.signature)
        landing = landing_from_record(record, outcome.signature, str(owner), spent, received)
        assert (landing.in_amount, landing.out_amount) == (outcome.in_amount, outcome.out_amount)
        after = world.rpc.svm.get_account(owner)
        assert after is not None
        sol = landing.in_amount if side == "buy" else -landing.out_amount
        assert before.lamports - after.lamports == sol + record.fee
        held += landing.out_amount if side == "buy" else -landing.in_amount
        assert token_amount(world.rpc.svm.get_account(coin_account)) == held
    assert held == 0
