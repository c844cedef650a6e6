"""Semantic checks beyond field types: a well-typed record can still be impossible."""

from __future__ import annotations

from typing import TypeVar

from core.errors import DecodeError
from streams.codec import RawSwap
from streams.records import Launch, Swap

S = TypeVar("S", Swap, RawSwap)


def check_swap(swap: S) -> S:
    """Reject swaps no venue could have produced; the reason names the field."""
    if swap.side not in ("buy", "sell"):
        raise DecodeError(f"side: must be buy or sell, got {swap.side!r}")
    base, sep, quote = swap.pair.partition("/")
    if not sep or not base or not quote:
        raise DecodeError(f"pair: must be BASE/QUOTE, got {swap.pair!r}")
    if swap.base_amount <= 0 or swap.quote_amount <= 0:
        raise DecodeError("base_amount, quote_amount: must be positive")
    if swap.base_reserve <= 0 or swap.quote_reserve <= 0:
        raise DecodeError("base_reserve, quote_reserve: must be positive")
    if not (0 <= swap.base_decimals <= 18 and 0 <= swap.quote_decimals <= 18):
        raise DecodeError("base_decimals, quote_decimals: must be within 0..18")
    if not (0 <= swap.fee_bps < 10_000):
        raise DecodeError("fee_bps: must be within 0..9999")
    if swap.ts_ms <= 0:
        raise DecodeError("ts_ms: must be a positive epoch time in ms")
    return swap


def check_launch(launch: Launch) -> Launch:
    """Reject launches whose curve could not price a trade; the reason names the field."""
    if launch.virtual_base_reserve <= 0 or launch.virtual_quote_reserve <= 0:
        raise DecodeError("virtual reserves: must be positive")
    if not launch.mint or not launch.bonding_curve:
        raise DecodeError("mint, bonding_curve: must be set")
    return launch
