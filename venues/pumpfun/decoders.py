"""Pump.fun's bytes into its schemas: events by discriminator, log lines, self-CPI data, the curve account.

Anything that does not match its layout raises `core.errors.DecodeError`, and nothing else. `LOG_DECODER`
and `ACCOUNT_DECODER` are what `venues.registry` hands the chain collector for this program.
"""

from __future__ import annotations

from collections.abc import Callable

from chain.borsh import b64decode
from core.errors import DecodeError
from market.bonding_curve import TOKEN_DECIMALS
from streams.records import PoolState
from venues.pumpfun.schemas import (
    BONDING_CURVE_DISCRIMINATOR,
    COMPLETE_EVENT_DISCRIMINATOR,
    CREATE_EVENT_DISCRIMINATOR,
    EVENT_CPI_TAG,
    PROGRAM_ID,
    TRADE_EVENT_DISCRIMINATOR,
    BondingCurve,
    CreateEvent,
    TradeEvent,
    bonding_curve_address,
)

__all__ = [
    "BONDING_CURVE_DISCRIMINATOR",
    "COMPLETE_EVENT_DISCRIMINATOR",
    "CREATE_EVENT_DISCRIMINATOR",
    "EVENT_CPI_TAG",
    "PROGRAM_DATA_PREFIX",
    "PROGRAM_ID",
    "TOKEN_DECIMALS",
    "TRADE_EVENT_DISCRIMINATOR",
    "BondingCurve",
    "CreateEvent",
    "PumpEvent",
    "TradeEvent",
    "bonding_curve_address",
    "decode_bonding_curve",
    "decode_cpi_data",
    "decode_event",
    "decode_log_line",
    "decode_program_data",
    "decode_text",
    "is_known_event",
]

PROGRAM_DATA_PREFIX = "Program data: "

PumpEvent = TradeEvent | CreateEvent

_EVENTS: dict[bytes, Callable[[bytes], PumpEvent]] = {
    TRADE_EVENT_DISCRIMINATOR: TradeEvent.decode,
    CREATE_EVENT_DISCRIMINATOR: CreateEvent.decode,
}


def is_known_event(data: bytes) -> bool:
    """Whether `data` (discriminator first) is an event this module decodes."""
    return data[:8] in _EVENTS


def decode_event(data: bytes) -> PumpEvent:
    """Dispatch on the 8-byte discriminator; `data` is discriminator + Borsh payload."""
    if len(data) < 8:
        raise DecodeError(f"pumpfun event: {len(data)} bytes, too short for a discriminator")
    decode = _EVENTS.get(data[:8])
    if decode is None:
        raise DecodeError(f"pumpfun event: unknown discriminator {data[:8].hex()}")
    return decode(data[8:])


def decode_program_data(b64: str) -> PumpEvent:
    """The base64 text of a `Program data:` log line (without the prefix)."""
    return decode_event(b64decode(b64, "pumpfun Program data"))


def decode_log_line(line: str) -> PumpEvent:
    """A whole `Program data: <base64>` log line."""
    text = line.strip()
    if not text.startswith(PROGRAM_DATA_PREFIX):
        raise DecodeError(f"pumpfun log line does not start with {PROGRAM_DATA_PREFIX!r}")
    return decode_program_data(text[len(PROGRAM_DATA_PREFIX) :])


def decode_cpi_data(data: bytes) -> PumpEvent:
    """The data of the self-CPI inner instruction: event CPI tag + discriminator + payload.

    This form survives log truncation, so it is the more robust source when inner instructions are
    at hand.
    """
    if data[:8] != EVENT_CPI_TAG:
        raise DecodeError(f"pumpfun CPI data does not start with the event CPI tag {EVENT_CPI_TAG.hex()}")
    return decode_event(data[8:])


def decode_bonding_curve(data: bytes) -> BondingCurve:
    return BondingCurve.decode(data)


def decode_text(text: str) -> PumpEvent:
    """`Program data: <base64>`, the bare base64, or the self-CPI bytes in base64 (`solbot decode`)."""
    text = text.strip()
    if text.startswith(PROGRAM_DATA_PREFIX):
        text = text[len(PROGRAM_DATA_PREFIX) :].strip()
    raw = b64decode(text, "pumpfun data")
    return decode_cpi_data(raw) if raw[:8] == EVENT_CPI_TAG else decode_event(raw)


class _LogDecoder:
    """The chain collector's view: `TradeEvent`s and `CreateEvent`s; other events are not followed."""

    def program_data(self, b64: str) -> PumpEvent | None:
        data = b64decode(b64, "pumpfun Program data")
        if not is_known_event(data):
            return None  # CompleteEvent, SetParamsEvent, ...: real, but nothing solbot consumes
        return decode_event(data)

    def program_log(self, text: str) -> None:
        return None


class _AccountDecoder:
    """A followed BondingCurve account's data as a `PoolState`."""

    def parse_to_pool_state(
        self,
        address: str,
        data: bytes,
        *,
        base_mint: str,
        fee_bps: int,
        ts_ms: int,
        slot: int,
        received_ms: int,
        creator_fee_bps: int = 0,
    ) -> PoolState | None:
        return decode_bonding_curve(data).parse_to_pool_state(
            address,
            base_mint=base_mint,
            fee_bps=fee_bps,
            ts_ms=ts_ms,
            slot=slot,
            received_ms=received_ms,
            creator_fee_bps=creator_fee_bps,
        )


LOG_DECODER = _LogDecoder()
ACCOUNT_DECODER = _AccountDecoder()
