"""Decoders against `tests/venues/vectors/pumpfun_events.json` (every historic layout, from the IDL history):
every TradeEvent / CreateEvent layout still decodes, and the BondingCurve account of every length (49 to 166
bytes), a mayhem curve included, reads as the program reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

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
            assert getattr(event, name) == decoded[name], name
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
