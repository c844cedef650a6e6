"""The Pump.fun venue's configuration."""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from venues.pumpfun.addresses import BUYBACK_FEE_RECIPIENTS, RESERVED_FEE_RECIPIENTS, FeeRecipients


@dataclass(frozen=True, slots=True)
class PumpFunConfig:
    """The fee recipients come from the Global account (`addresses.parse_global_fee_recipients`; passed in
    so the venue reads one account per order): `fee_recipient` one of its normal recipients,
    `reserved_fee_recipient` one of the reserved ones (mayhem coins), `buyback_fee_recipient` one of the
    buyback ones (every trade). `slippage_bps` is the slack between the quote and the instruction's bound."""

    fee_recipient: Pubkey
    slippage_bps: int = 100
    track_volume: bool = False
    cu_margin_bps: int = 2_000
    reserved_fee_recipient: Pubkey = RESERVED_FEE_RECIPIENTS[0]
    buyback_fee_recipient: Pubkey = BUYBACK_FEE_RECIPIENTS[0]

    def __post_init__(self) -> None:
        if not 0 <= self.slippage_bps < 10_000:
            raise ValueError("slippage_bps must be 0..9999")
        if self.cu_margin_bps < 0:
            raise ValueError("cu_margin_bps must be >= 0")

    @property
    def recipients(self) -> FeeRecipients:
        return FeeRecipients(self.fee_recipient, self.reserved_fee_recipient, self.buyback_fee_recipient)
