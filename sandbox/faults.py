"""Faults on demand for the sandbox's servers: each request draws at most one, from a seeded RNG, so a
faulty run replays exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

ROLLBACK_SLOTS = 4  # how long a rolled-back transaction shows as processed

FAULT_KINDS = ("timeout", "rate_limit", "blockhash_not_found", "drop", "rollback")  # probabilities
SLOT_FAULTS = ("slow_confirmation_slots", "lag_slots")  # counts of slots
SHARE_FAULTS = ("lag_share",)  # a share of requests (0..1) that is not a per-request fault draw


@dataclass
class Faults:
    """Probabilities per request (seeded RNG): each request draws at most one fault."""

    timeout: float = 0.0  # answer after the client gave up (sendTransaction: executed first, 50 %)
    rate_limit: float = 0.0  # HTTP 429 with Retry-After
    blockhash_not_found: float = 0.0  # sendTransaction only: -32002 BlockhashNotFound, not executed
    drop: float = 0.0  # sendTransaction only: accepted (signature returned) but never executed
    # sendTransaction only: seen "processed" for ROLLBACK_SLOTS, then its slot is rolled back (never executed)
    rollback: float = 0.0
    slow_confirmation_slots: int = (
        0  # a landed transaction shows "processed" this many slots before "confirmed"
    )
    lag_slots: int = 0  # the node answers slots, heights and statuses as of this many slots ago
    # The share of read requests the lagging node answers: 1.0 one node that lags; below 1, a load balancer
    # in front of a lagging node and a current one, so two reads of one client may disagree.
    lag_share: float = 1.0
    seed: int = 7
    rng: random.Random = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def visible(self, landed_slot: int, now: int, lag: int | None = None) -> bool:
        """Whether a transaction landed at `landed_slot` shows confirmed at `now` on a node `lag` slots
        behind (default: the lagging node)."""
        behind = self.lag_slots if lag is None else lag
        return landed_slot + self.slow_confirmation_slots <= now - behind

    def draw_lag(self) -> int:
        """The lag of the node that answers this request (no draw unless a balancer mixes two nodes)."""
        if self.lag_slots == 0 or self.lag_share >= 1.0:
            return self.lag_slots
        return self.lag_slots if self.rng.random() < self.lag_share else 0

    def draw(self, *kinds: str) -> str:
        roll = self.rng.random()
        for kind in kinds:
            p = getattr(self, kind)
            if roll < p:
                self.counts[kind] = self.counts.get(kind, 0) + 1
                return kind
            roll -= p
        return ""
