"""Jupiter v6 aggregator `SwapEvent`: one per hop of a routed swap.

Anchor names the event's discriminator sha256("event:SwapEvent")[:8] = 40c6cde8260871e2. Any Anchor
program with an event called `SwapEvent` shares it (Raydium CPMM and CLMM do), so these bytes only
mean a Jupiter hop when the Jupiter program emitted them: callers must dispatch on the program id
(`collectors.decoders.logs` does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from collectors.decoders.borsh import Reader, b64decode
from core.errors import DecodeError

PROGRAM_ID = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
SWAP_EVENT_DISCRIMINATOR = hashlib.sha256(b"event:SwapEvent").digest()[:8]
EVENT_CPI_TAG = bytes.fromhex("e445a52e51cb9a1d")
PROGRAM_DATA_PREFIX = "Program data: "
SWAP_EVENT_SIZE = 8 + 32 + 32 + 8 + 32 + 8


@dataclass(frozen=True, slots=True)
class SwapEvent:
    """One hop: `input_amount` of `input_mint` went into `amm`, `output_amount` of `output_mint` out."""

    amm: str
    input_mint: str
    input_amount: int
    output_mint: str
    output_amount: int

    @classmethod
    def decode(cls, payload: bytes) -> SwapEvent:
        """The Borsh payload after the discriminator; trailing bytes mean a different layout."""
        read = Reader(payload, "Jupiter SwapEvent")
        event = cls(
            amm=read.pubkey("amm"),
            input_mint=read.pubkey("input_mint"),
            input_amount=read.u64("input_amount"),
            output_mint=read.pubkey("output_mint"),
            output_amount=read.u64("output_amount"),
        )
        if not read.at_end():
            raise DecodeError(f"Jupiter SwapEvent: {read.remaining} unexpected trailing bytes")
        return event


def decode_event(data: bytes) -> SwapEvent:
    """Discriminator + payload."""
    if data[:8] != SWAP_EVENT_DISCRIMINATOR:
        raise DecodeError(f"Jupiter event: unknown discriminator {bytes(data[:8]).hex()}")
    return SwapEvent.decode(data[8:])


def decode_program_data(b64: str) -> SwapEvent:
    return decode_event(b64decode(b64, "Jupiter Program data"))


def decode_log_line(line: str) -> SwapEvent:
    text = line.strip()
    if not text.startswith(PROGRAM_DATA_PREFIX):
        raise DecodeError(f"Jupiter log line does not start with {PROGRAM_DATA_PREFIX!r}")
    return decode_program_data(text[len(PROGRAM_DATA_PREFIX) :])


def decode_cpi_data(data: bytes) -> SwapEvent:
    """The self-CPI inner instruction's data (Anchor `emit_cpi`): tag + discriminator + payload."""
    if data[:8] != EVENT_CPI_TAG:
        raise DecodeError(f"Jupiter CPI data does not start with the event CPI tag {EVENT_CPI_TAG.hex()}")
    return decode_event(data[8:])
