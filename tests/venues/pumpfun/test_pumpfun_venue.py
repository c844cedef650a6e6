"""Pump.fun venue: instruction bytes and accounts (docs/protocols/README.md §1.5; every list is checked
against the official vectors in test_pumpfun_instructions.py), curve quotes with a slippage bound, and a
round trip through the order life cycle against a local JSON-RPC server."""

from __future__ import annotations

import base64
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID

from chain.rpc import RpcClient
from core.errors import BlockhashNotFound, DecodeError, PreflightFailed, VenueRejected
from market import bonding_curve as bc
from sandbox.http import serve
from streams.records import Order, PoolState
from venues.interface import PreparedTx
from venues.lifecycle import CONFIRMED, LifecycleConfig, OrderLifecycle
from venues.pumpfun.addresses import (
    BUYBACK_FEE_RECIPIENTS,
    EVENT_AUTHORITY,
    FEE_CONFIG,
    FEE_PROGRAM_ID,
    GLOBAL,
    PROGRAM_ID,
    RESERVED_FEE_RECIPIENTS,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    FeeRecipients,
    bonding_curve_pda,
    bonding_curve_v2_pda,
    creator_vault_pda,
    global_volume_accumulator_pda,
    user_volume_accumulator_pda,
)
from venues.pumpfun.config import PumpFunConfig
from venues.pumpfun.execution import PumpFunVenue, quote_buy, quote_sell
from venues.pumpfun.instructions import Coin, TradeAccounts, buy_instruction, sell_instruction
from venues.pumpfun.schemas import BONDING_CURVE_DISCRIMINATOR, BondingCurveAccount

WSOL = "So11111111111111111111111111111111111111112"
MINT = Keypair().pubkey()
CREATOR = Keypair().pubkey()
FEE_RECIPIENT = Keypair().pubkey()
VTOK, VSOL, RTOK = 1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000


def curve_bytes(
    vtok: int = VTOK,
    vsol: int = VSOL,
    rtok: int = RTOK,
    complete: bool = False,
    mayhem: bool = False,
    cashback: bool = False,
    quote_mint: Pubkey | None = None,
) -> bytes:
    fields = [vtok, vsol, rtok, 0, 10**15]
    body = b"".join(v.to_bytes(8, "little") for v in fields) + bytes([complete]) + bytes(CREATOR)
    flags = bytes([mayhem, cashback]) + bytes(quote_mint or Pubkey.default())
    return BONDING_CURVE_DISCRIMINATOR + body + flags


def test_discriminators_are_the_anchor_hashes() -> None:
    import hashlib

    assert buy_instruction(accounts(), 1, 1).data[:8] == hashlib.sha256(b"global:buy").digest()[:8]
    assert sell_instruction(accounts(), 1, 1).data[:8] == hashlib.sha256(b"global:sell").digest()[:8]
    assert BONDING_CURVE_DISCRIMINATOR == hashlib.sha256(b"account:BondingCurve").digest()[:8]


def accounts(user: Pubkey | None = None, token_program: Pubkey = TOKEN_PROGRAM_ID) -> TradeAccounts:
    coin = Coin(MINT, CREATOR, token_program=token_program)
    return TradeAccounts(coin, user or Keypair().pubkey(), FeeRecipients(normal=FEE_RECIPIENT))


def test_buy_instruction_bytes_and_eighteen_accounts() -> None:
    acc = accounts()
    ix = buy_instruction(acc, 123_456_789, 2**63 + 5, track_volume=True)
    assert (
        bytes(ix.data)
        == bytes.fromhex("66063d1201daebea")
        + (123_456_789).to_bytes(8, "little")
        + (2**63 + 5).to_bytes(8, "little")
        + b"\x01"
    )
    assert len(ix.data) == 25
    assert ix.program_id == PROGRAM_ID
    metas = [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts]
    assert metas == [
        (GLOBAL, False, False),
        (FEE_RECIPIENT, False, True),
        (MINT, False, False),
        (acc.bonding_curve, False, True),
        (acc.associated_bonding_curve, False, True),
        (acc.associated_user, False, True),
        (acc.user, True, True),
        (SYSTEM_PROGRAM_ID, False, False),
        (TOKEN_PROGRAM_ID, False, False),
        (creator_vault_pda(CREATOR), False, True),
        (EVENT_AUTHORITY, False, False),
        (PROGRAM_ID, False, False),
        (global_volume_accumulator_pda(), False, False),  # read-only in the IDL
        (user_volume_accumulator_pda(acc.user), False, True),
        (FEE_CONFIG, False, False),
        (FEE_PROGRAM_ID, False, False),
        (bonding_curve_v2_pda(MINT), False, False),
        (BUYBACK_FEE_RECIPIENTS[0], False, True),
    ]


def test_sell_instruction_bytes_and_sixteen_accounts_creator_vault_before_token_program() -> None:
    acc = accounts()
    ix = sell_instruction(acc, 5_000, 77)
    assert bytes(ix.data) == bytes.fromhex("33e685a4017f83ad") + (5_000).to_bytes(8, "little") + (
        77
    ).to_bytes(8, "little")
    keys = [m.pubkey for m in ix.accounts]
    assert len(keys) == 16
    assert keys[8] == creator_vault_pda(CREATOR) and keys[9] == TOKEN_PROGRAM_ID
    assert keys[12:] == [FEE_CONFIG, FEE_PROGRAM_ID, bonding_curve_v2_pda(MINT), BUYBACK_FEE_RECIPIENTS[0]]
    assert [m.is_signer for m in ix.accounts].count(True) == 1 and ix.accounts[6].pubkey == acc.user


def test_token_2022_coins_use_token_2022_for_the_trade_and_the_token_accounts() -> None:
    acc = accounts(token_program=TOKEN_2022_PROGRAM_ID)
    ix = buy_instruction(acc, 1, 1)
    assert ix.accounts[8].pubkey == TOKEN_2022_PROGRAM_ID
    expected_user_ata = Pubkey.find_program_address(
        [bytes(acc.user), bytes(TOKEN_2022_PROGRAM_ID), bytes(MINT)],
        Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"),
    )[0]
    assert ix.accounts[5].pubkey == expected_user_ata == acc.associated_user


def test_pdas_follow_the_documented_seeds() -> None:
    assert (
        bonding_curve_pda(MINT) == Pubkey.find_program_address([b"bonding-curve", bytes(MINT)], PROGRAM_ID)[0]
    )
    # The two published constants are PDAs of the program too.
    assert Pubkey.find_program_address([b"global"], PROGRAM_ID)[0] == GLOBAL
    assert Pubkey.find_program_address([b"__event_authority"], PROGRAM_ID)[0] == EVENT_AUTHORITY
    assert Pubkey.find_program_address([b"fee_config", bytes(PROGRAM_ID)], FEE_PROGRAM_ID)[0] == FEE_CONFIG


def test_amounts_beyond_u64_are_refused() -> None:
    with pytest.raises(VenueRejected):
        buy_instruction(accounts(), 2**64, 1)


def test_curve_account_parses_by_prefix_and_rejects_others() -> None:
    parsed = BondingCurveAccount.parse(curve_bytes())
    assert (parsed.virtual_token_reserves, parsed.virtual_sol_reserves, parsed.real_token_reserves) == (
        VTOK,
        VSOL,
        RTOK,
    )
    assert parsed.creator == CREATOR and not parsed.complete
    assert not parsed.is_mayhem_mode and not parsed.is_cashback_coin and str(parsed.quote_mint) == WSOL
    mayhem = BondingCurveAccount.parse(curve_bytes(mayhem=True))
    assert mayhem.is_mayhem_mode and not mayhem.is_cashback_coin
    # The program reads a 49-byte curve (no creator yet): the creator is the default key.
    assert BondingCurveAccount.parse(curve_bytes()[:49]).creator == Pubkey.default()
    with pytest.raises(DecodeError):
        BondingCurveAccount.parse(b"\0" * 100)


def test_buy_quote_keeps_slack_inside_the_budget() -> None:
    curve = bc.Curve(VTOK, VSOL, RTOK)
    # 1 SOL budget, 100 bps slack: spend 1e9 * 1e4 // 10,100 = 990,099,009 lamports incl. the 125 bps fee.
    q = quote_buy(curve, 10**9, 125, 100)
    spend = 10**9 * 10_000 // 10_100
    tokens, _, _ = bc.buy_with_sol(curve, spend, 125)
    assert q.amount == tokens and q.expected_out == tokens
    assert q.sol_bound == 10**9  # max_sol_cost: the whole budget
    _, cost, fee = bc.buy_cost(curve, tokens, 125)
    assert q.expected_in == cost + fee <= q.sol_bound
    # The curve may move against us by ~the slack and the buy still fits under max_sol_cost.
    moved = bc.apply_buy(curve, tokens // 200, bc.buy_cost(curve, tokens // 200, 0)[1])
    _, cost2, fee2 = bc.buy_cost(moved, tokens, 125)
    assert cost2 + fee2 <= q.sol_bound


def test_sell_quote_bound_is_quote_less_slack_never_below_the_order() -> None:
    curve = bc.Curve(VTOK, VSOL, RTOK)
    gross = 10**12 * VSOL // (VTOK + 10**12)
    received = gross - bc.fee(gross, 125)
    q = quote_sell(curve, 10**12, 125, 100)
    assert q.expected_out == received and q.sol_bound == received * 9_900 // 10_000
    assert quote_sell(curve, 10**12, 125, 100, floor=received).sol_bound == received


# -- a round trip against a local JSON-RPC server ------------------------------------------------------------


class PumpRpc:
    """A JSON-RPC double for one curve: answers reads, checks the transactions it is sent, lands them."""

    def __init__(self, curve: bytes, mint_program: Pubkey = TOKEN_PROGRAM_ID) -> None:
        self.curve = curve
        self.mints = {str(MINT): str(mint_program)}  # mint -> owner (its token program)
        self.mint_reads = 0
        self.sent: dict[str, VersionedTransaction] = {}
        self.simulated = 0
        self.simulate_err: Any = None  # the simulation's `err`, as a node writes it
        self.global_data: bytes | None = None  # the Global account, when the test serves one
        self.global_reads = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        method, params, rid = body["method"], body["params"], body["id"]
        result: Any
        if method == "getAccountInfo" and params[0] in self.mints:
            self.mint_reads += 1
            data = [base64.b64encode(bytes(82)).decode(), "base64"]
            value = {"data": data, "owner": self.mints[params[0]], "lamports": 1}
            result = {"context": {"slot": 5}, "value": value}
        elif method == "getAccountInfo" and params[0] == str(GLOBAL):
            self.global_reads += 1
            value = (
                None
                if self.global_data is None
                else {
                    "data": [base64.b64encode(self.global_data).decode(), "base64"],
                    "owner": str(PROGRAM_ID),
                    "lamports": 1,
                }
            )
            result = {"context": {"slot": 5}, "value": value}
        elif method == "getAccountInfo":
            assert params[0] == str(bonding_curve_pda(MINT))
            data = [base64.b64encode(self.curve).decode(), "base64"]
            result = {
                "context": {"slot": 5},
                "value": {"data": data, "owner": str(PROGRAM_ID), "lamports": 1},
            }
        elif method == "getLatestBlockhash":
            blockhash = "4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi"
            result = {"context": {"slot": 5}, "value": {"blockhash": blockhash, "lastValidBlockHeight": 200}}
        elif method == "simulateTransaction":
            self.simulated += 1
            value = {"err": self.simulate_err, "logs": [], "unitsConsumed": 60_000}
            result = {"context": {"slot": 5}, "value": value}
        elif method == "sendTransaction":
            tx = VersionedTransaction.from_bytes(base64.b64decode(params[0]))
            assert tx.verify_with_results() == [True]
            self.sent[str(tx.signatures[0])] = tx
            result = str(tx.signatures[0])
        elif method == "getSignatureStatuses":
            value = [
                {"slot": 6, "confirmations": 1, "err": None, "confirmationStatus": "confirmed"}
                if s in self.sent
                else None
                for s in params[0]
            ]
            result = {"context": {"slot": 6}, "value": value}
        elif method == "getBlockHeight":
            result = 100
        elif method == "getEpochInfo":
            result = {"absoluteSlot": 6, "blockHeight": 100, "epoch": 0, "slotIndex": 6}
        else:
            return web.json_response(
                {"jsonrpc": "2.0", "error": {"code": -32601, "message": method}, "id": rid}
            )
        return web.json_response({"jsonrpc": "2.0", "result": result, "id": rid})


def pump_order(side: str, amount_in: int, min_out: int = 0) -> Order:
    state = PoolState(
        venue="pumpfun",
        pool=str(bonding_curve_pda(MINT)),
        base_mint=str(MINT),
        quote_mint=WSOL,
        base_decimals=6,
        quote_decimals=9,
        base_reserve=VTOK,
        quote_reserve=VSOL,
        fee_bps=125,
        real_base_reserve=RTOK,
    )
    return Order(
        id=f"ord:pump:{side}",
        signal_id="sig",
        pair=f"{MINT}/SOL",
        side=side,
        amount_in=amount_in,
        min_amount_out=min_out,
        venue="pumpfun",
        pool=state.pool,
        pool_state=state,
        kind="entry",
        reason="t",
        ts_ms=1,
        origin_ms=1,
        decided_ms=1,
    )


async def test_buy_and_sell_round_trip_through_the_life_cycle(venue_db: asyncpg.Pool) -> None:
    rpc_double = PumpRpc(curve_bytes())
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    wallet = Keypair()
    venue = PumpFunVenue(rpc, wallet, PumpFunConfig(fee_recipient=FEE_RECIPIENT))
    lifecycle = OrderLifecycle(venue_db, venue, LifecycleConfig(poll_interval_s=0.01))
    try:
        buy = pump_order("buy", 10**9)
        fill = await lifecycle.execute(buy, {}, now_ms=5)
        expected = quote_buy(bc.Curve(VTOK, VSOL, RTOK), 10**9, 125, 100)
        assert fill.status == "filled" and fill.base_amount == expected.expected_out
        assert fill.quote_amount == expected.expected_in
        tx = rpc_double.sent[fill.signature]
        keys = tx.message.account_keys
        pump_ixs = [ix for ix in tx.message.instructions if keys[ix.program_id_index] == PROGRAM_ID]
        assert len(pump_ixs) == 1
        assert bytes(pump_ixs[0].data)[8:16] == expected.amount.to_bytes(8, "little")
        assert bytes(pump_ixs[0].data)[16:24] == (10**9).to_bytes(8, "little")
        assert keys[0] == wallet.pubkey()

        sell = pump_order("sell", 10**12, min_out=1)
        fill = await lifecycle.execute(sell, {}, now_ms=6)
        assert fill.status == "filled" and fill.base_amount == 10**12
        assert (await lifecycle.outcome(sell.id)).status == CONFIRMED
        assert len(rpc_double.sent) == 2 and rpc_double.simulated == 2
    finally:
        await rpc.close()
        await runner.cleanup()


async def test_quote_missing_the_order_bound_sends_nothing(venue_db: asyncpg.Pool) -> None:
    rpc_double = PumpRpc(curve_bytes())
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    lifecycle = OrderLifecycle(
        venue_db, PumpFunVenue(rpc, Keypair(), PumpFunConfig(fee_recipient=FEE_RECIPIENT))
    )
    try:
        fill = await lifecycle.execute(pump_order("buy", 10**9, min_out=10**15), {}, now_ms=5)
        assert fill.status == "failed" and fill.reason == "slippage"
        assert rpc_double.sent == {}
    finally:
        await rpc.close()
        await runner.cleanup()


async def test_a_failed_simulation_is_classified_by_its_structured_err() -> None:
    rpc_double = PumpRpc(curve_bytes())
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    venue = PumpFunVenue(rpc, Keypair(), PumpFunConfig(fee_recipient=FEE_RECIPIENT))
    cases: list[tuple[Any, type[Exception]]] = [
        ("BlockhashNotFound", BlockhashNotFound),  # the fieldless variant's wire form
        ({"InstructionError": [0, {"Custom": 6002}]}, PreflightFailed),
        ("InsufficientFundsForFee", PreflightFailed),
        (
            "TransactionErrorFieldless.BlockhashNotFound",
            PreflightFailed,
        ),  # not the wire form: text decides nothing
    ]
    try:
        for err, expected in cases:
            rpc_double.simulate_err = err
            with pytest.raises(expected) as info:
                await venue.prepare(pump_order("buy", 10**9), {})
            assert type(info.value) is expected and info.value.data == err
        assert rpc_double.sent == {}
    finally:
        await rpc.close()
        await runner.cleanup()


def _pump_ix(tx: VersionedTransaction) -> tuple[bytes, list[tuple[Pubkey, bool]]]:
    """The Pump.fun instruction of a sent transaction: its data and (account, writable) list."""
    keys, message = tx.message.account_keys, tx.message
    (ix,) = [i for i in message.instructions if keys[i.program_id_index] == PROGRAM_ID]
    return bytes(ix.data), [(keys[a], message.is_maybe_writable(a)) for a in ix.accounts]


async def test_token_2022_mayhem_coin_buys_with_its_program_and_a_reserved_recipient() -> None:
    rpc_double = PumpRpc(curve_bytes(mayhem=True), mint_program=TOKEN_2022_PROGRAM_ID)
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    wallet = Keypair()
    venue = PumpFunVenue(rpc, wallet, PumpFunConfig(fee_recipient=FEE_RECIPIENT))
    try:
        prepared = await venue.prepare(pump_order("buy", 10**9), {})
        await venue.prepare(pump_order("buy", 10**9), {})
        assert rpc_double.mint_reads == 1  # a mint's program never changes: read once
        assert isinstance(prepared, PreparedTx)
        tx = VersionedTransaction.from_bytes(base64.b64decode(prepared.raw_base64))
        data, metas = _pump_ix(tx)
        assert data[:8] == bytes.fromhex("66063d1201daebea") and len(metas) == 18
        assert metas[1] == (RESERVED_FEE_RECIPIENTS[0], True)
        assert metas[8][0] == TOKEN_2022_PROGRAM_ID
        user_ata = TradeAccounts(Coin(MINT, CREATOR, TOKEN_2022_PROGRAM_ID), wallet.pubkey()).associated_user
        assert metas[5] == (user_ata, True)
        keys = tx.message.account_keys
        create = tx.message.instructions[-3]  # create the ATA, trade, memo
        assert keys[create.accounts[1]] == user_ata and keys[create.accounts[5]] == TOKEN_2022_PROGRAM_ID
    finally:
        await rpc.close()
        await runner.cleanup()


async def test_cashback_coin_sell_names_the_user_volume_accumulator() -> None:
    rpc_double = PumpRpc(curve_bytes(cashback=True), mint_program=TOKEN_2022_PROGRAM_ID)
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    wallet = Keypair()
    venue = PumpFunVenue(rpc, wallet, PumpFunConfig(fee_recipient=FEE_RECIPIENT))
    try:
        prepared = await venue.prepare(pump_order("sell", 10**12, min_out=1), {})
        assert isinstance(prepared, PreparedTx)
        tx = VersionedTransaction.from_bytes(base64.b64decode(prepared.raw_base64))
        data, metas = _pump_ix(tx)
        assert data[:8] == bytes.fromhex("33e685a4017f83ad") and len(metas) == 17
        assert metas[14:] == [
            (user_volume_accumulator_pda(wallet.pubkey()), True),
            (bonding_curve_v2_pda(MINT), False),
            (BUYBACK_FEE_RECIPIENTS[0], True),
        ]
    finally:
        await rpc.close()
        await runner.cleanup()


async def test_a_curve_quoted_in_another_mint_is_not_traded_as_a_sol_order() -> None:
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    rpc_double = PumpRpc(curve_bytes(quote_mint=usdc), mint_program=TOKEN_2022_PROGRAM_ID)
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    venue = PumpFunVenue(rpc, Keypair(), PumpFunConfig(fee_recipient=FEE_RECIPIENT))
    try:
        with pytest.raises(VenueRejected, match="quoted in"):
            await venue.prepare(pump_order("buy", 10**9), {})
        assert rpc_double.sent == {}
    finally:
        await rpc.close()
        await runner.cleanup()


def global_bytes(normal: list[Pubkey], reserved: list[Pubkey], buyback: list[Pubkey]) -> bytes:
    """A Global account laid out at the offsets of the vectors (`pumpfun_constants.json`, from the IDL)."""
    data = bytearray(1088)
    for at, keys in (
        (41, normal[:1]),
        (162, normal[1:]),
        (483, reserved[:1]),
        (516, reserved[1:]),
        (741, buyback),
    ):
        for i, key in enumerate(keys):
            data[at + 32 * i : at + 32 * (i + 1)] = bytes(key)
    return bytes(data)


async def test_fee_recipients_are_the_global_accounts_and_are_reread_after_their_ttl() -> None:
    """Pump.fun rotates its recipients: the venue names the ones Global lists now, not the constants."""
    normal, reserved, buyback = ([Keypair().pubkey() for _ in range(8)] for _ in range(3))
    rpc_double = PumpRpc(curve_bytes(mayhem=True))
    rpc_double.global_data = global_bytes(normal, reserved, buyback)
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    now = [0.0]
    config = PumpFunConfig(recipients_from_global=True, global_ttl_s=60.0, buyback_fee_recipient=buyback[5])
    venue = PumpFunVenue(rpc, Keypair(), config, clock=lambda: now[0])
    try:
        assert await venue.fee_recipients() == FeeRecipients(normal[0], reserved[0], buyback[5])
        prepared = await venue.prepare(pump_order("buy", 10**9), {})
        assert rpc_double.global_reads == 1  # cached within the TTL
        assert isinstance(prepared, PreparedTx)
        _, metas = _pump_ix(VersionedTransaction.from_bytes(base64.b64decode(prepared.raw_base64)))
        assert metas[1] == (reserved[0], True)  # a mayhem coin: Global's reserved recipient
        assert metas[-1] == (buyback[5], True)  # the configured buyback key, still listed
        assert not {RESERVED_FEE_RECIPIENTS[0], BUYBACK_FEE_RECIPIENTS[0]} & {key for key, _ in metas}
        rotated = [Keypair().pubkey() for _ in range(8)]
        rpc_double.global_data = global_bytes(normal, reserved, rotated)
        now[0] = 61.0
        assert (await venue.fee_recipients()).buyback == rotated[0]  # ours left the list: Global's first
        assert rpc_double.global_reads == 2
    finally:
        await rpc.close()
        await runner.cleanup()


async def test_a_missing_or_empty_global_account_refuses_the_order() -> None:
    rpc_double = PumpRpc(curve_bytes())
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    venue = PumpFunVenue(rpc, Keypair(), PumpFunConfig(recipients_from_global=True))
    try:
        with pytest.raises(VenueRejected, match=r"Global account .* missing"):
            await venue.prepare(pump_order("buy", 10**9), {})
        rpc_double.global_data = bytes(1088)
        with pytest.raises(VenueRejected, match="lists no fee_recipients"):
            await venue.fee_recipients()
        rpc_double.global_data = bytes(100)
        venue = PumpFunVenue(rpc, Keypair(), PumpFunConfig(recipients_from_global=True))
        with pytest.raises(VenueRejected, match="too short"):
            await venue.fee_recipients()
    finally:
        await rpc.close()
        await runner.cleanup()


def test_the_venue_quotes_with_the_pool_states_creator_split() -> None:
    split = pump_order("sell", 10**13 + 1_000_003)
    split.pool_state.creator_fee_bps = 30
    curve = BondingCurveAccount.parse(curve_bytes())
    venue = PumpFunVenue(RpcClient("http://127.0.0.1:9"), Keypair(), PumpFunConfig())
    assert venue.quote(split, curve).expected_out == 273_545_731  # each fee rounded up
    assert venue.quote(pump_order("sell", 10**13 + 1_000_003), curve).expected_out == 273_545_732


@pytest.mark.parametrize("cashback", [False, True])
async def test_trade_v3_buys_and_sells_with_seventeen_accounts_except_cashback_coins(cashback: bool) -> None:
    rpc_double = PumpRpc(curve_bytes(cashback=cashback))
    runner, url = await serve([("POST", "/", rpc_double.handle)])
    rpc = RpcClient(url)
    wallet = Keypair()
    venue = PumpFunVenue(rpc, wallet, PumpFunConfig(fee_recipient=FEE_RECIPIENT, trade_v3=True))
    try:
        discs = []
        for order in (pump_order("buy", 10**9), pump_order("sell", 10**12, min_out=1)):
            prepared = await venue.prepare(order, {})
            assert isinstance(prepared, PreparedTx)
            data, metas = _pump_ix(VersionedTransaction.from_bytes(base64.b64decode(prepared.raw_base64)))
            discs.append(data[:8].hex())
            assert len(metas) == (18 if cashback and order.side == "buy" else 17)  # legacy cashback buy: 18
            if not cashback:  # TRADE_V3.md: the SOL-paired buyback recipient is the wallet itself
                assert metas[13] == (BUYBACK_FEE_RECIPIENTS[0], True) and metas[0] == (GLOBAL, False)
        # buy_v3 / sell_v3; a cashback coin keeps legacy buy / sell (v3 fails there with 6094)
        v3 = ["07051dc4f5176550", "1c92de7726c469d5"]
        assert discs == (["66063d1201daebea", "33e685a4017f83ad"] if cashback else v3)
    finally:
        await rpc.close()
        await runner.cleanup()


def test_a_v3_trade_of_a_token_paired_coin_creates_the_buyback_quote_account_first() -> None:
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    wallet = Keypair()
    venue = PumpFunVenue(RpcClient("http://127.0.0.1:9"), wallet, PumpFunConfig(trade_v3=True))
    coin = Coin(MINT, CREATOR, TOKEN_2022_PROGRAM_ID, quote_mint=usdc, quote_token_program=TOKEN_PROGRAM_ID)
    quote = quote_sell(bc.Curve(VTOK, VSOL, RTOK), 10**12, 125, 100)
    create, trade, _memo = venue.instructions(pump_order("sell", 10**12), coin, quote)
    buyback_ata = TradeAccounts(coin, wallet.pubkey()).quote_ata(BUYBACK_FEE_RECIPIENTS[0])
    assert create.accounts[1].pubkey == buyback_ata and create.accounts[2].pubkey == BUYBACK_FEE_RECIPIENTS[0]
    assert bytes(trade.data[:8]).hex() == "1c92de7726c469d5"
    assert trade.accounts[13].pubkey == buyback_ata and trade.accounts[13].is_writable
