"""Constant-product AMM maths with an input fee, in integer raw units (as Raydium AMM v4 computes it).

For Raydium v4, out = floor(reserve_out * net / (reserve_in + net)) with net = in - ceil(in * fee / 10_000),
checked against real swap logs (PROTOCOLS.md section 6). Orca-style constant-product pools share the
formula with their own fee.
"""

from __future__ import annotations

from dataclasses import dataclass


def fee_amount(amount_in: int, fee_bps: int) -> int:
    """The fee taken from the input, rounded up as the programs do (ceil)."""
    return -(-amount_in * fee_bps // 10_000)


def quote_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """Output for an exact input; 0 for a non-positive input or an empty pool."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return 0
    net = amount_in - fee_amount(amount_in, fee_bps)
    return reserve_out * net // (reserve_in + net)


def quote_in(amount_out: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """The smallest input that yields at least `amount_out`; raises ValueError if the pool cannot."""
    if amount_out <= 0:
        return 0
    if amount_out >= reserve_out:
        raise ValueError("amount_out exceeds the pool's reserve")
    net = -(-reserve_in * amount_out // (reserve_out - amount_out))
    gross = -(-net * 10_000 // (10_000 - fee_bps))
    while quote_out(gross, reserve_in, reserve_out, fee_bps) < amount_out:
        gross += 1
    while gross > 1 and quote_out(gross - 1, reserve_in, reserve_out, fee_bps) >= amount_out:
        gross -= 1
    return gross


@dataclass(frozen=True, slots=True)
class SwapResult:
    amount_in: int
    amount_out: int
    fee: int  # in input units
    reserve_in_after: int
    reserve_out_after: int


def swap(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> SwapResult:
    """Execute an exact-input swap; the fee stays in the pool, as in Raydium v4."""
    out = quote_out(amount_in, reserve_in, reserve_out, fee_bps)
    return SwapResult(
        amount_in=amount_in,
        amount_out=out,
        fee=fee_amount(amount_in, fee_bps),
        reserve_in_after=reserve_in + amount_in,
        reserve_out_after=reserve_out - out,
    )


def price_impact_bps(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> float:
    """How much worse than the pool's spot price (before fee) the execution price is, in bps."""
    out = quote_out(amount_in, reserve_in, reserve_out, fee_bps)
    if out <= 0:
        return 10_000.0
    spot = reserve_out / reserve_in
    execution = out / amount_in
    return max(0.0, (1.0 - execution / spot) * 10_000.0)
