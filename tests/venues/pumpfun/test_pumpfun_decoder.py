"""Pump.fun decoders against real mainnet events, layout changes, and the curve maths."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import struct

import pytest
from solders.pubkey import Pubkey

from core.errors import DecodeError
from market import bonding_curve as bc
from market.tokens import WSOL
from tests.venues.pumpfun.pump_vectors import (
    CREATE_267_LINE,
    CREATE_339_LINE,
    CREATE_EARLY_LINE,
    TRADE_129_LINE,
    VIXEN_BUY_CPI,
    VIXEN_SELL_CPI,
)
from venues.pumpfun import decoders as pumpfun
from venues.pumpfun.schemas import BondingCurve, CreateEvent, TradeEvent


def test_discriminators_are_the_anchor_hashes() -> None:
    def sha(name: str) -> bytes:
        return hashlib.sha256(name.encode()).digest()[:8]

    assert pumpfun.TRADE_EVENT_DISCRIMINATOR == sha("event:TradeEvent")
    assert pumpfun.CREATE_EVENT_DISCRIMINATOR == sha("event:CreateEvent")
    assert pumpfun.COMPLETE_EVENT_DISCRIMINATOR == sha("event:CompleteEvent")
    assert pumpfun.BONDING_CURVE_DISCRIMINATOR == sha("account:BondingCurve")
    assert pumpfun.EVENT_CPI_TAG == sha("anchor:event")[::-1]


def test_original_129_byte_trade_event() -> None:
    event = pumpfun.decode_log_line(TRADE_129_LINE)
    assert event == TradeEvent(
        mint="7R4zU5pgHFxRQaNUhhCAPFXaSN6AWiheD6rRfkFJpump",
        sol_amount=1_253_951_806,
        token_amount=37_809_162_736_217,
        is_buy=True,
        user="ASxMiMb1AJGTU4AduPNB2CGqT1TiDqWkLvy7oCUnzw5x",
        timestamp=1_734_616_564,
        virtual_sol_reserves=33_306_996_548,
        virtual_token_reserves=966_463_606_623_031,
        real_sol_reserves=3_306_996_548,
        real_token_reserves=686_563_606_623_031,
    )
    assert event.fee_basis_points is None and event.fee_bps == 0


def test_vixen_buy_self_cpi_matches_the_asserted_instruction() -> None:
    event = pumpfun.decode_cpi_data(VIXEN_BUY_CPI)
    assert isinstance(event, TradeEvent)
    assert event.is_buy and event.ix_name == "buy" and event.mayhem_mode is False
    assert event.mint == "BaWrqmzh9nqUkZRKB9p9WNaM8xKRrmcW9ztgLJrWpump"
    assert event.user == "DG6aWRd9ft47v9MZxeoHrxaJfVfLcXRTwC4RZ23DkokX"
    assert event.token_amount == 693_868_985_905  # the buy instruction's `amount`
    assert event.sol_amount == 50_051_224
    assert (event.fee_basis_points, event.fee) == (95, 475_487)
    assert (event.creator_fee_basis_points, event.creator_fee) == (30, 150_154)
    assert event.sol_amount + event.fee + event.creator_fee <= 55_000_000  # the instruction's max_sol_cost
    assert event.fee_recipient == "62qc2CNXwrYqQScmEdiZFFAnJR262PxWEuNQtxfafNgV"
    assert event.track_volume is False and event.last_update_timestamp == 0


def test_vixen_sell_self_cpi_matches_the_asserted_instruction() -> None:
    event = pumpfun.decode_cpi_data(VIXEN_SELL_CPI)
    assert isinstance(event, TradeEvent)
    assert not event.is_buy and event.ix_name == "sell"
    assert event.token_amount == 3_878_351_170_692  # the sell instruction's `amount`
    proceeds = event.sol_amount - event.fee - event.creator_fee
    assert proceeds >= 522_403_143  # the instruction's min_sol_output


def test_cpi_and_program_data_forms_agree() -> None:
    line = "Program data: " + base64.b64encode(VIXEN_BUY_CPI[8:]).decode()
    assert pumpfun.decode_log_line(line) == pumpfun.decode_cpi_data(VIXEN_BUY_CPI)


@pytest.mark.parametrize("raw", [VIXEN_BUY_CPI, VIXEN_SELL_CPI])
def test_buy_reserves_follow_the_curve_maths(raw: bytes) -> None:
    """Rewind the event's after-trade reserves, replay the trade with market.bonding_curve: same curve."""
    event = pumpfun.decode_cpi_data(raw)
    assert isinstance(event, TradeEvent)
    after = event.curve_after()
    n, sol = event.token_amount, event.sol_amount
    if event.is_buy:
        before = bc.Curve(
            after.virtual_token_reserves + n,
            after.virtual_sol_reserves - sol,
            after.real_token_reserves + n,
            after.real_sol_reserves - sol,
        )
        tokens, cost, fee = bc.buy_cost(before, n, event.fee_bps)
        assert (tokens, cost) == (n, sol)
        assert fee == event.fee + event.creator_fee
        assert bc.apply_buy(before, n, sol) == after
    else:
        before = bc.Curve(
            after.virtual_token_reserves - n,
            after.virtual_sol_reserves + sol,
            after.real_token_reserves - n,
            after.real_sol_reserves + sol,
        )
        gross, _fee = bc.sell_proceeds(before, n, event.fee_bps)
        assert gross == sol
        assert bc.apply_sell(before, n, sol) == after


def test_parse_to_swap() -> None:
    event = pumpfun.decode_cpi_data(VIXEN_BUY_CPI)
    assert isinstance(event, TradeEvent)
    swap = event.parse_to_swap(bonding_curve=None, slot=7, signature="sig", received_ms=123)
    assert swap.venue == "pumpfun" and swap.pair == "BaWrqm/SOL" and swap.side == "buy"
    # The vixen buy instruction lists its bonding_curve account; the derived PDA must be that account.
    vixen_curve = bytes([107, 57, 249, 146, 123, 146, 191, 126, 24, 32, 176, 93, 186, 163, 173, 203])
    vixen_curve += bytes([167, 12, 229, 233, 191, 63, 135, 60, 61, 95, 58, 212, 105, 113, 144, 221])
    assert swap.pool == str(Pubkey.from_bytes(vixen_curve))
    assert (swap.base_mint, swap.quote_mint, swap.base_decimals, swap.quote_decimals) == (
        event.mint,
        WSOL,
        6,
        9,
    )
    assert (swap.base_amount, swap.quote_amount) == (event.token_amount, event.sol_amount)
    assert (swap.base_reserve, swap.quote_reserve) == (
        event.virtual_token_reserves,
        event.virtual_sol_reserves,
    )
    assert swap.real_base_reserve == event.real_token_reserves
    assert swap.fee_bps == 125 and swap.ts_ms == event.timestamp * 1000
    assert (event.creator_fee_basis_points, swap.creator_fee_bps) == (30, 30)  # the split the pricing rounds
    assert (swap.slot, swap.signature, swap.received_ms) == (7, "sig", 123)
    named = event.parse_to_swap(bonding_curve="X", slot=1, signature="s", received_ms=0, symbol="DOG")
    assert named.pair == "DOG/SOL" and named.pool == "X"


def test_create_event_layouts() -> None:
    early = pumpfun.decode_log_line(CREATE_EARLY_LINE)
    assert isinstance(early, CreateEvent)
    assert (early.name, early.symbol) == ("ALDO2SWAGGY", "ALDO")
    assert early.creator is None and early.timestamp is None
    assert pumpfun.bonding_curve_address(early.mint) == early.bonding_curve
    with pytest.raises(DecodeError, match="early layout"):
        early.parse_to_launch(slot=1, signature="s", received_ms=0)

    mid = pumpfun.decode_log_line(CREATE_267_LINE)
    assert isinstance(mid, CreateEvent)
    assert (mid.name, mid.symbol, mid.timestamp) == ("costco", "COSTCO", 1_749_356_930)
    assert pumpfun.bonding_curve_address(mid.mint) == mid.bonding_curve
    assert (mid.virtual_token_reserves, mid.virtual_sol_reserves) == (
        bc.INITIAL_VIRTUAL_TOKEN_RESERVES,
        bc.INITIAL_VIRTUAL_SOL_RESERVES,
    )
    assert mid.token_program is None

    new = pumpfun.decode_log_line(CREATE_339_LINE)
    assert isinstance(new, CreateEvent)
    assert (new.name, new.symbol) == ("sealy", "sealy")
    assert new.uri == "https://ipfs.io/ipfs/QmXRNSD2fsqgq1FtfKHxJJgoYvb5PRyDhKsjNQF4VoLQEP"
    assert new.token_program == "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
    assert new.is_mayhem_mode is False and new.is_cashback_enabled is False
    assert new.quote_mint == "11111111111111111111111111111111"
    assert new.virtual_quote_reserves == bc.INITIAL_VIRTUAL_SOL_RESERVES
    assert new.creator_fee_bps is None
    assert pumpfun.bonding_curve_address(new.mint) == new.bonding_curve

    launch = new.parse_to_launch(slot=9, signature="s", received_ms=5)
    assert launch.mint == new.mint and launch.bonding_curve == new.bonding_curve
    assert launch.creator == new.creator and launch.ts_ms == 1_785_782_391_000
    assert launch.virtual_base_reserve == bc.INITIAL_VIRTUAL_TOKEN_RESERVES
    assert launch.real_base_reserve == bc.INITIAL_REAL_TOKEN_RESERVES
    assert launch.total_supply == bc.TOKEN_TOTAL_SUPPLY


LATER_THAN_MAYHEM = (
    "cashback_fee_basis_points",
    "cashback",
    "buyback_fee_basis_points",
    "buyback_fee",
    "shareholders",
    "quote_mint",
    "quote_amount",
    "virtual_quote_reserves",
    "real_quote_reserves",
    "holder_rewards_bps",
    "holder_rewards",
    "creator_fee_unclaimed",
)


def test_longer_newer_layout_is_tolerated_and_cut_fields_are_refused() -> None:
    raw = VIXEN_SELL_CPI[8:]
    old = pumpfun.decode_event(raw)
    assert isinstance(old, TradeEvent) and old.mayhem_mode is not None and old.cashback is None
    full = raw + bytes(124)  # every field the current IDL adds after mayhem_mode, zero, no shareholders
    current = pumpfun.decode_event(full)
    assert isinstance(current, TradeEvent) and current.creator_fee_unclaimed == 0
    assert current.shareholders == () and current.quote_mint == "11111111111111111111111111111111"
    assert dataclasses.replace(current, **{f: None for f in LATER_THAN_MAYHEM}) == old
    assert pumpfun.decode_event(full + bytes(100)) == current  # bytes past the last known field: ignored
    # Stopping on a field boundary is an older layout; stopping inside a field is a broken payload.
    assert pumpfun.decode_event(raw[:129]).fee_recipient is None
    assert pumpfun.decode_event(raw[: 129 + 32]).fee_recipient is not None
    with pytest.raises(DecodeError, match="truncated at offset"):
        pumpfun.decode_event(raw[:100])
    with pytest.raises(DecodeError, match="fee_basis_points"):
        pumpfun.decode_event(raw[: 129 + 32 + 3])


def test_bad_inputs_raise_decode_error() -> None:
    with pytest.raises(DecodeError, match="unknown discriminator"):
        pumpfun.decode_event(bytes(8) + VIXEN_BUY_CPI[16:])
    with pytest.raises(DecodeError, match="unknown discriminator"):
        pumpfun.decode_event(pumpfun.COMPLETE_EVENT_DISCRIMINATOR + bytes(64))
    with pytest.raises(DecodeError, match="base64"):
        pumpfun.decode_program_data("not base64!")
    with pytest.raises(DecodeError, match="Program data"):
        pumpfun.decode_log_line("Program log: hi")
    with pytest.raises(DecodeError, match="event CPI tag"):
        pumpfun.decode_cpi_data(VIXEN_BUY_CPI[8:])
    bad_bool = bytearray(VIXEN_BUY_CPI[8:])
    bad_bool[8 + 32 + 16] = 2  # is_buy
    with pytest.raises(DecodeError, match="is_buy"):
        pumpfun.decode_event(bytes(bad_bool))


def _curve_account(extra: bytes = b"") -> bytes:
    body = struct.pack("<QQQQQ?", 1_000, 2_000, 3_000, 4_000, 5_000, False)
    return pumpfun.BONDING_CURVE_DISCRIMINATOR + body + extra


def test_bonding_curve_account_by_prefix() -> None:
    short = BondingCurve.decode(_curve_account())
    assert short.to_curve() == bc.Curve(1_000, 2_000, 3_000, 4_000, False)
    assert short.token_total_supply == 5_000 and short.creator is None
    creator = Pubkey.from_string(WSOL)
    full = BondingCurve.decode(_curve_account(bytes(creator) + b"\x01\x00" + bytes(32) + bytes(40)))
    assert full.creator == WSOL and full.is_mayhem_mode is True and full.is_cashback_coin is False
    assert full.quote_mint == "11111111111111111111111111111111"
    with pytest.raises(DecodeError, match="discriminator"):
        BondingCurve.decode(bytes(8) + _curve_account()[8:])
    with pytest.raises(DecodeError, match="truncated"):
        BondingCurve.decode(_curve_account()[:30])
