"""The Pump.fun venue's configuration."""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey


@dataclass(frozen=True, slots=True)
class PumpFunConfig:
    """`fee_recipient` comes from the Global account (passed in so the venue reads one account per order);
    `slippage_bps` is the slack between the quote and the instruction's SOL bound."""

    fee_recipient: Pubkey
    slippage_bps: int = 100
    track_volume: bool = False
    cu_margin_bps: int = 2_000

    def __post_init__(self) -> None:
        if not 0 <= self.slippage_bps < 10_000:
            raise ValueError("slippage_bps must be 0..9999")
        if self.cu_margin_bps < 0:
            raise ValueError("cu_margin_bps must be >= 0")
