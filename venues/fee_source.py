"""Where a venue gets its priority fee and tip: fixed (tests, the old behaviour) or landing-driven.

`LandingFees` is the thin wiring around the pure `venues.fee_policy.FeePolicy`: it reads the market
(`getRecentPrioritizationFees` for the accounts a transaction write-locks; Jito's tip floor, kept for a
few seconds), hands the figures to the policy, feeds it every transaction's landing outcome and exports
what it chose as Prometheus metrics. A market read that fails costs the order nothing: the policy's
defaults stand in for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from chain.rpc import RpcClient
from chain.rpc.client import MAX_FEE_ACCOUNTS
from core import metrics
from core.errors import VenueError
from venues.fee_policy import (
    PERCENTILE_OF,
    FeeLimits,
    FeePolicy,
    TipFloor,
    Urgency,
    percentile,
    urgency_of,
)
from venues.fees import PriorityFeePolicy, TipPolicy

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)


def fee_limits(settings: Settings) -> FeeLimits:
    """The policy's knobs as the settings give them."""
    return FeeLimits(
        urgency=Urgency(settings.fee_urgency),
        default_unit_price=settings.priority_fee_default_micro_lamports,
        min_unit_price=settings.priority_fee_min_micro_lamports,
        max_unit_price=settings.priority_fee_max_micro_lamports,
        max_priority_fee_lamports=settings.priority_fee_max_lamports,
        default_tip_lamports=settings.jito_tip_default_lamports,
        max_tip_lamports=settings.jito_tip_max_lamports,
        landing_target=settings.fee_landing_target,
        landing_window=settings.fee_landing_window,
        step_up=settings.fee_step_up,
        decay=settings.fee_decay,
        max_multiplier=settings.fee_max_multiplier,
    )


class FeeSource(Protocol):
    """What a transaction venue asks before signing, and tells once a transaction's fate is known."""

    async def priority(self, body: Sequence[Instruction], kind: str) -> PriorityFeePolicy: ...

    async def tip(self, kind: str) -> int: ...

    def observe_landing(self, landed: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class FixedFees:
    """A fixed unit price and tip, whatever the market and the landing rate."""

    unit: PriorityFeePolicy = field(default_factory=PriorityFeePolicy)
    tips: TipPolicy = field(default_factory=TipPolicy)

    async def priority(self, body: Sequence[Instruction], kind: str) -> PriorityFeePolicy:
        return self.unit

    async def tip(self, kind: str) -> int:
        return self.tips.tip()

    def observe_landing(self, landed: bool) -> None:
        return None


def write_locked(body: Sequence[Instruction]) -> list[Pubkey]:
    """The writable, non-signing accounts of `body` (first seen first, at most 128): the fee market a
    transaction competes in. The signer is left out: only our own transactions write-lock it."""
    seen: dict[Pubkey, None] = {}
    for ix in body:
        for meta in ix.accounts:
            if meta.is_writable and not meta.is_signer:
                seen.setdefault(meta.pubkey, None)
    return list(seen)[:MAX_FEE_ACCOUNTS]


TipFloorReader = Callable[[], Awaitable[TipFloor]]


class LandingFees:
    """The landing-driven policy with its market reads and metrics, for one venue."""

    def __init__(
        self,
        rpc: RpcClient,
        policy: FeePolicy | None = None,
        *,
        venue: str,
        tip_floor: TipFloorReader | None = None,
        tip_floor_ttl_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpc = rpc
        self.policy = policy or FeePolicy()
        self.venue = venue
        self._tip_floor = tip_floor
        self._ttl_s = tip_floor_ttl_s
        self._clock = clock
        self._floor: TipFloor | None = None
        self._floor_read_at = float("-inf")

    def urgency(self, kind: str) -> Urgency:
        return urgency_of(kind, self.policy.limits.urgency)

    async def recent_fees(self, body: Sequence[Instruction]) -> list[int]:
        try:
            found = await self.rpc.get_recent_prioritization_fees(write_locked(body))
        except VenueError as exc:
            log.warning("%s: recent prioritization fees unavailable (%s); default price", self.venue, exc)
            return []
        return [entry.micro_lamports for entry in found]

    async def priority(self, body: Sequence[Instruction], kind: str) -> PriorityFeePolicy:
        urgency = self.urgency(kind)
        fees = await self.recent_fees(body)
        if fees:
            metrics.FEE_MARKET_PRICE.labels(self.venue).set(percentile(fees, PERCENTILE_OF[urgency]))
        chosen = self.policy.priority(fees, urgency)
        metrics.FEE_UNIT_PRICE.labels(self.venue).set(chosen.micro_lamports_per_unit)
        return chosen

    async def floor(self) -> TipFloor | None:
        """The tip floor, read again once `tip_floor_ttl_s` passed; the last one (or None) on failure."""
        if self._tip_floor is None or self._clock() - self._floor_read_at < self._ttl_s:
            return self._floor
        self._floor_read_at = self._clock()
        try:
            self._floor = await self._tip_floor()
        except (VenueError, ValueError) as exc:
            log.warning("%s: tip floor unavailable (%s); keeping the last one", self.venue, exc)
        return self._floor

    async def tip(self, kind: str) -> int:
        urgency = self.urgency(kind)
        floor = await self.floor()
        if floor is not None:
            metrics.FEE_TIP_FLOOR.labels(self.venue).set(floor.at(PERCENTILE_OF[urgency]))
        chosen = self.policy.tip(floor, urgency)
        metrics.FEE_TIP.labels(self.venue).set(chosen)
        return chosen

    def observe_landing(self, landed: bool) -> None:
        self.policy.record(landed)
        metrics.FEE_LANDINGS.labels(self.venue, "true" if landed else "false").inc()
        metrics.FEE_MULTIPLIER.labels(self.venue).set(self.policy.multiplier)
        rate = self.policy.landing_rate()
        if rate is not None:
            metrics.FEE_LANDING_RATE.labels(self.venue).set(rate)
