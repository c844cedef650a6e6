"""The landing-driven fee policy: what to pay for a transaction to land, learned from what landed.

Pure: it is given the market (recent prioritization fees, the Jito tip floor) and the outcome of each
order's transaction, and answers a unit price and a tip. Nothing here reads the network or the clock
(`venues.fee_source` does, and exports what it decides as metrics).

* The **base** is a percentile of the market chosen by urgency: the unit price from
  `getRecentPrioritizationFees` (the lowest fee that landed per recent slot, micro-lamports/CU), the tip
  from Jito's tip floor (landed tips per percentile). A stop-loss or a breaker exit is urgent; an entry
  is not.
* A **multiplier** on the base follows the landing rate over the last `landing_window` transactions:
  below `landing_target` it grows by `step_up` per miss-heavy outcome, at or above it decays by `decay`
  towards 1. One multiplier serves both the price and the tip: a venue lands either through the RPC
  node (the price matters) or as a Jito bundle (only the tip matters), never both.
* **Caps** come last, so no market spike or learning run-away spends more than the settings allow: the
  unit price at `max_unit_price`, the whole priority fee at `max_priority_fee_lamports` (per
  transaction, applied with the unit limit by `PriorityFeePolicy`), the tip at `max_tip_lamports`.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from venues.fees import MIN_JITO_TIP_LAMPORTS, PriorityFeePolicy

LAMPORTS_PER_SOL = 1_000_000_000


class Urgency(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# Percentile of the market each urgency pays: Jupiter's medium/high/veryHigh are the 25th/50th/75th of
# recent fees; the tip floor publishes the 25th … 99th of landed tips.
PERCENTILE_OF: Mapping[Urgency, int] = {
    Urgency.LOW: 25,
    Urgency.NORMAL: 50,
    Urgency.HIGH: 75,
    Urgency.URGENT: 95,
}
URGENT_KINDS = frozenset({"stop_loss", "breaker"})  # `Order.kind`s that must not wait a slot


def urgency_of(kind: str, default: Urgency) -> Urgency:
    """A stop-loss or breaker exit pays at least HIGH; any other order the configured default."""
    if kind in URGENT_KINDS and PERCENTILE_OF[default] < PERCENTILE_OF[Urgency.HIGH]:
        return Urgency.HIGH
    return default


def percentile(values: Sequence[int], pct: float) -> int:
    """Nearest-rank percentile (the smallest value with at least `pct` % of values at or below it)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < pct <= 100:
        raise ValueError("pct must be in (0, 100]")
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(0, rank - 1)]


def sol_to_lamports(sol: float) -> int:
    """Jito's floats in SOL to lamports, rounded up, read through their decimal text so that binary
    noise (1e-05 * 1e9 = 10000.000000000002) does not add a lamport."""
    lamports = Decimal(repr(float(sol))) * LAMPORTS_PER_SOL
    return math.ceil(lamports.quantize(Decimal("0.001")))


@dataclass(frozen=True, slots=True)
class TipFloor:
    """Jito's landed tips (lamports) by percentile, from one `tip_floor` entry."""

    by_percentile: Mapping[int, int]
    ema_50th: int

    @classmethod
    def parse(cls, body: Any) -> TipFloor:
        """The API answers a one-element list of SOL floats; a bad shape raises ValueError."""
        entry = body[0] if isinstance(body, list) and body else body
        if not isinstance(entry, dict):
            raise ValueError("tip floor: neither an object nor a list of one")
        found = {}
        for pct in (25, 50, 75, 95, 99):
            value = entry.get(f"landed_tips_{pct}th_percentile")
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"tip floor: landed_tips_{pct}th_percentile is {value!r}")
            found[pct] = sol_to_lamports(value)
        ema = entry.get("ema_landed_tips_50th_percentile")
        ema_lamports = sol_to_lamports(ema) if isinstance(ema, int | float) and ema >= 0 else found[50]
        return cls(found, ema_lamports)

    def at(self, pct: int) -> int:
        """The landed tip at `pct` (the nearest published percentile at or above it)."""
        for known in sorted(self.by_percentile):
            if known >= pct:
                return self.by_percentile[known]
        return self.by_percentile[max(self.by_percentile)]


@dataclass(frozen=True, slots=True)
class FeeLimits:
    """The policy's knobs (from `core.settings`): defaults used without market data, caps, learning."""

    urgency: Urgency = Urgency.NORMAL
    default_unit_price: int = 10_000  # micro-lamports/CU when the node reports no recent fees
    min_unit_price: int = 1_000  # a floor under the percentile, so the multiplier has something to raise
    max_unit_price: int = 1_000_000
    max_priority_fee_lamports: int = 100_000
    default_tip_lamports: int = 10_000  # when the tip floor cannot be read
    max_tip_lamports: int = 1_000_000
    landing_target: float = 0.9
    landing_window: int = 20
    step_up: float = 0.25
    decay: float = 0.1
    max_multiplier: float = 4.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_unit_price <= self.max_unit_price:
            raise ValueError("need 0 <= min_unit_price <= max_unit_price")
        if not 0 <= self.default_unit_price or self.max_priority_fee_lamports < 0:
            raise ValueError("unit prices and fees must be >= 0")
        if self.max_tip_lamports < MIN_JITO_TIP_LAMPORTS:
            raise ValueError(f"max_tip_lamports must be >= {MIN_JITO_TIP_LAMPORTS}")
        if not 0 < self.landing_target <= 1 or self.landing_window < 1:
            raise ValueError("landing_target must be in (0, 1], landing_window >= 1")
        if self.step_up < 0 or not 0 <= self.decay < 1 or self.max_multiplier < 1:
            raise ValueError("step_up >= 0, 0 <= decay < 1, max_multiplier >= 1")


class FeePolicy:
    """The policy's state: the recent landing outcomes and the multiplier they earned."""

    def __init__(self, limits: FeeLimits | None = None) -> None:
        self.limits = limits or FeeLimits()
        self._outcomes: deque[bool] = deque(maxlen=self.limits.landing_window)
        self.multiplier = 1.0

    def landing_rate(self) -> float | None:
        """The share of recent transactions that landed; None before the first outcome."""
        if not self._outcomes:
            return None
        return sum(self._outcomes) / len(self._outcomes)

    def record(self, landed: bool) -> None:
        """One transaction's outcome: landed (even with a program error) or lost (expired, bundle failed)."""
        self._outcomes.append(landed)
        rate = self.landing_rate()
        limits = self.limits
        if rate is not None and rate < limits.landing_target:
            self.multiplier = min(limits.max_multiplier, self.multiplier * (1 + limits.step_up))
        else:
            self.multiplier = max(1.0, self.multiplier * (1 - limits.decay))

    def unit_price(self, recent_fees: Sequence[int], urgency: Urgency | None = None) -> int:
        """Micro-lamports per CU: the urgency's percentile of recent fees (or the default), times the
        multiplier, capped."""
        limits = self.limits
        pct = PERCENTILE_OF[urgency or limits.urgency]
        base = percentile(recent_fees, pct) if recent_fees else limits.default_unit_price
        price = math.ceil(max(base, limits.min_unit_price) * self.multiplier)
        return min(limits.max_unit_price, price)

    def priority(self, recent_fees: Sequence[int], urgency: Urgency | None = None) -> PriorityFeePolicy:
        """The unit price with the per-transaction cap, as the preflight applies it to a unit limit."""
        return PriorityFeePolicy(self.unit_price(recent_fees, urgency), self.limits.max_priority_fee_lamports)

    def tip(self, floor: TipFloor | None, urgency: Urgency | None = None) -> int:
        """Lamports: the urgency's percentile of landed tips (or the default), times the multiplier,
        within [Jito's minimum, the cap]."""
        limits = self.limits
        pct = PERCENTILE_OF[urgency or limits.urgency]
        base = floor.at(pct) if floor is not None else limits.default_tip_lamports
        tip = math.ceil(base * self.multiplier)
        return max(MIN_JITO_TIP_LAMPORTS, min(limits.max_tip_lamports, tip))
