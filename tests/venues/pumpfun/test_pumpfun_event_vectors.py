"""Decoders against `tests/venues/vectors/pumpfun_events.json` (every historic layout, from the IDL history):
every TradeEvent / CreateEvent layout still decodes, and the BondingCurve account of every length (49 to 166
bytes), a mayhem curve included, reads as the program reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from core.errors import DecodeError
from venues.pumpfun import decoders as pumpfun
from venues.pumpfun.schemas import BondingCurve, BondingCurveAccount, CreateEvent, TradeEvent

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "pumpfun_events.json").read_text(encoding="utf-8")
)
CURVES = VECTORS["bonding_curve_account"]["accounts"]
RENAMED = {"virtual_quote_reserves": "virtual_sol_reserves", "real_quote_reserves": "real_sol_reserves"}


@pytest.mark.parametrize("vector", VECTORS["trade_event"], ids=lambda v: v["layout"])
def test_every_trade_event_layout_decodes(vector: dict[str, Any]) -> None:
    event = pumpfun.decode_log_line(vector["program_data_log_line"])
    assert isinstance(event, TradeEvent)
    decoded = vector["decoded"]
    for name in TradeEvent.__slots__:
        if name in decoded:
            value = getattr(event, name)
            assert (list(map(list, value)) if name == "shareholders" else value) == decoded[name], name
    assert event.mint == decoded["mint"] and event.sol_amount == decoded["sol_amount"]


@pytest.mark.parametrize("vector", VECTORS["create_event"], ids=lambda v: v["layout"])
def test_every_create_event_layout_decodes(vector: dict[str, Any]) -> None:
    event = pumpfun.decode_event(bytes.fromhex(vector["data"]["hex"]))
    assert isinstance(event, CreateEvent)
    for name in CreateEvent.__slots__:
        if name in vector["decoded"]:
            assert getattr(event, name) == vector["decoded"][name], name


@pytest.mark.parametrize("vector", CURVES, ids=lambda v: str(v["length"]))
def test_every_bonding_curve_length_reads_as_the_program_reads_it(vector: dict[str, Any]) -> None:
    data = bytes.fromhex(vector["data"]["hex"])
    assert len(data) == vector["length"]
    curve = BondingCurve.decode(data)
    for name, value in vector["decoded"].items():
        assert getattr(curve, RENAMED.get(name, name)) == value, name
    account = BondingCurveAccount.parse(data)
    decoded = vector["decoded"]
    assert account.virtual_token_reserves == decoded["virtual_token_reserves"]
    assert account.creator == Pubkey.from_string(decoded.get("creator", "11111111111111111111111111111111"))
    assert account.is_mayhem_mode == decoded.get("is_mayhem_mode", False)
    assert account.is_cashback_coin == decoded.get("is_cashback_coin", False)
    assert str(account.quote_mint) == "So11111111111111111111111111111111111111112"  # default key = SOL


def test_a_mayhem_curve_is_seen_as_one() -> None:
    mayhem = [v for v in CURVES if v["decoded"].get("is_mayhem_mode")]
    assert mayhem, "the vectors hold a mayhem curve"
    for vector in mayhem:
        account = BondingCurveAccount.parse(bytes.fromhex(vector["data"]["hex"]))
        assert account.is_mayhem_mode
        assert BondingCurve.decode(bytes.fromhex(vector["data"]["hex"])).is_mayhem_mode is True


def _current_trade_with(quote_mint: Pubkey, shareholders: list[tuple[Pubkey, int]]) -> bytes:
    """The current-IDL vector (v10) with a quote mint and shareholders written in (IDL field order)."""
    data = bytes.fromhex(VECTORS["trade_event"][-1]["data"]["hex"])
    vec_at = len(data) - 84  # u32 count, then quote_mint and six u64s (80 bytes) end the event
    assert data[vec_at : vec_at + 4] == bytes(4)
    vec = len(shareholders).to_bytes(4, "little")
    vec += b"".join(bytes(k) + bps.to_bytes(2, "little") for k, bps in shareholders)
    return data[:vec_at] + vec + bytes(quote_mint) + data[vec_at + 36 :]


def test_a_usdc_paired_trade_is_a_usdc_swap_and_shareholders_are_read() -> None:
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    holder = Pubkey.from_string("AKnL4NNf3DGWZJS6cPknBuEGnVsV4A4m5tgebLHaRSZ9")
    event = pumpfun.decode_event(_current_trade_with(usdc, [(holder, 2_500), (usdc, 7_500)]))
    assert isinstance(event, TradeEvent)
    assert event.shareholders == ((str(holder), 2_500), (str(usdc), 7_500))
    assert (event.quote_mint, event.creator_fee_unclaimed, event.holder_rewards_bps) == (str(usdc), 0, 0)
    swap = event.parse_to_swap(bonding_curve=None, slot=1, signature="s", received_ms=0, symbol="DOG")
    assert (swap.pair, swap.quote_mint, swap.quote_decimals) == ("DOG/USDC", str(usdc), 6)
    assert swap.quote_amount == event.sol_amount and (swap.fee_bps, swap.creator_fee_bps) == (125, 30)


def test_a_trade_quoted_in_a_mint_of_unknown_decimals_is_refused_with_its_reason() -> None:
    other = Pubkey.from_string("9hSR6S7WPtxmTojgo6GG3k4yDPecgJY292j7xrsUGWBu")
    event = pumpfun.decode_event(_current_trade_with(other, []))
    assert isinstance(event, TradeEvent)
    with pytest.raises(DecodeError, match=f"quote mint {other} has unknown decimals"):
        event.parse_to_swap(bonding_curve=None, slot=1, signature="s", received_ms=0)
    sol = pumpfun.decode_event(bytes.fromhex(VECTORS["trade_event"][-1]["data"]["hex"]))
    assert isinstance(sol, TradeEvent) and sol.quote_mint == "11111111111111111111111111111111"
    assert sol.parse_to_swap(bonding_curve=None, slot=1, signature="s", received_ms=0).quote_mint == (
        "So11111111111111111111111111111111111111112"
    )
