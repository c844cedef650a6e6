"""The Pump.fun venue's configuration."""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from venues.pumpfun.addresses import (
    BUYBACK_FEE_RECIPIENTS,
    NORMAL_FEE_RECIPIENTS,
    RESERVED_FEE_RECIPIENTS,
    FeeRecipients,
)


@dataclass(frozen=True, slots=True)
class PumpFunConfig:
    """The fee recipients: with `recipients_from_global` (what the registry builds) the venue reads them
    from the program's `Global` account, once per `global_ttl_s`, because Pump.fun rotates them and a
    trade naming a recipient no longer listed fails; otherwise the three given here are used as they are
    (`fee_recipient` one of the normal recipients, `reserved_fee_recipient` one of the reserved ones for
    mayhem coins, `buyback_fee_recipient` one of the buyback ones, every trade). `slippage_bps` is the
    slack between the quote and the instruction's bound."""

    fee_recipient: Pubkey = NORMAL_FEE_RECIPIENTS[0]
    slippage_bps: int = 100
    track_volume: bool = False
    cu_margin_bps: int = 2_000
    reserved_fee_recipient: Pubkey = RESERVED_FEE_RECIPIENTS[0]
    buyback_fee_recipient: Pubkey = BUYBACK_FEE_RECIPIENTS[0]
    recipients_from_global: bool = False
    global_ttl_s: float = 300.0
    trade_v3: bool = False  # buy_v3 / sell_v3 (17 accounts, fees swept later), except cashback coins

    def __post_init__(self) -> None:
        if not 0 <= self.slippage_bps < 10_000:
            raise ValueError("slippage_bps must be 0..9999")
        if self.cu_margin_bps < 0:
            raise ValueError("cu_margin_bps must be >= 0")
        if self.global_ttl_s <= 0:
            raise ValueError("global_ttl_s must be > 0")

    @property
    def recipients(self) -> FeeRecipients:
        return FeeRecipients(self.fee_recipient, self.reserved_fee_recipient, self.buyback_fee_recipient)
