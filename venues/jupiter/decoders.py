"""Jupiter v6's bytes into its schemas: one `SwapEvent` per hop of a routed swap.

The discriminator is shared with other Anchor programs' `SwapEvent`s, so these bytes only mean a
Jupiter hop when the Jupiter program emitted them: callers dispatch on the program id (the chain
collector's log walker, `chain.logs`, does). `LOG_DECODER` is what `venues.registry` hands it.
"""

from __future__ import annotations

from chain.borsh import b64decode
from core.errors import DecodeError
from venues.jupiter.schemas import PROGRAM_ID, SWAP_EVENT_DISCRIMINATOR, SWAP_EVENT_SIZE, SwapEvent

__all__ = [
    "EVENT_CPI_TAG",
    "PROGRAM_DATA_PREFIX",
    "PROGRAM_ID",
    "SWAP_EVENT_DISCRIMINATOR",
    "SWAP_EVENT_SIZE",
    "SwapEvent",
    "decode_cpi_data",
    "decode_event",
    "decode_log_line",
    "decode_program_data",
    "decode_text",
]

EVENT_CPI_TAG = bytes.fromhex("e445a52e51cb9a1d")
PROGRAM_DATA_PREFIX = "Program data: "


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


def decode_text(text: str) -> SwapEvent:
    """`Program data: <base64>`, the bare base64, or the self-CPI bytes in base64 (`solbot decode`)."""
    text = text.strip()
    if text.startswith(PROGRAM_DATA_PREFIX):
        text = text[len(PROGRAM_DATA_PREFIX) :].strip()
    raw = b64decode(text, "jupiter data")
    return decode_cpi_data(raw) if raw[:8] == EVENT_CPI_TAG else decode_event(raw)


class _LogDecoder:
    """The chain collector's view: route hops (`SwapEvent`); other events are not followed."""

    def program_data(self, b64: str) -> SwapEvent | None:
        data = b64decode(b64, "Jupiter Program data")
        if data[:8] != SWAP_EVENT_DISCRIMINATOR:
            return None
        return decode_event(data)

    def program_log(self, text: str) -> None:
        return None


LOG_DECODER = _LogDecoder()
