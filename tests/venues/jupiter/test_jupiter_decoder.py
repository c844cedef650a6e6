"""Jupiter v6 SwapEvent: discriminator, both emission forms, refusals.

No real Jupiter v6 SwapEvent bytes with known decoded values were found in the public sources at hand,
so these are round trips through an independent encoder (struct + solders), not mainnet vectors.
"""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from solders.pubkey import Pubkey

from core.errors import DecodeError
from market.tokens import USDC, WSOL
from venues.jupiter import decoders as jupiter
from venues.jupiter.schemas import SwapEvent

AMM = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"


def _payload(amm: str, in_mint: str, in_amount: int, out_mint: str, out_amount: int) -> bytes:
    return (
        bytes(Pubkey.from_string(amm))
        + bytes(Pubkey.from_string(in_mint))
        + struct.pack("<Q", in_amount)
        + bytes(Pubkey.from_string(out_mint))
        + struct.pack("<Q", out_amount)
    )


EXPECTED = SwapEvent(AMM, WSOL, 1_000_000_000, USDC, 2**64 - 1)
RAW = jupiter.SWAP_EVENT_DISCRIMINATOR + _payload(AMM, WSOL, 1_000_000_000, USDC, 2**64 - 1)


def test_discriminator() -> None:
    assert jupiter.SWAP_EVENT_DISCRIMINATOR == hashlib.sha256(b"event:SwapEvent").digest()[:8]
    assert jupiter.SWAP_EVENT_DISCRIMINATOR.hex() == "40c6cde8260871e2"
    assert base64.b64encode(RAW).decode().startswith("QMbN6CYIceI")  # the prefix seen on mainnet logs


def test_both_forms() -> None:
    assert len(RAW) == jupiter.SWAP_EVENT_SIZE
    line = "Program data: " + base64.b64encode(RAW).decode()
    assert jupiter.decode_log_line(line) == EXPECTED
    assert jupiter.decode_program_data(base64.b64encode(RAW).decode()) == EXPECTED
    assert jupiter.decode_cpi_data(jupiter.EVENT_CPI_TAG + RAW) == EXPECTED


def test_refusals() -> None:
    with pytest.raises(DecodeError, match="unknown discriminator"):
        jupiter.decode_event(bytes(8) + RAW[8:])
    with pytest.raises(DecodeError, match="truncated"):
        jupiter.decode_event(RAW[:-1])
    with pytest.raises(DecodeError, match="trailing"):
        jupiter.decode_event(RAW + b"\x00")
    with pytest.raises(DecodeError, match="CPI tag"):
        jupiter.decode_cpi_data(RAW)
    with pytest.raises(DecodeError, match="Program data"):
        jupiter.decode_log_line("Program log: x")
