"""Faults on demand for the sandbox's servers: each request draws at most one, from a seeded RNG, so a
faulty run replays exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

ROLLBACK_SLOTS = 4  # how long a rolled-back transaction shows as processed

FAULT_KINDS = ("timeout", "rate_limit", "blockhash_not_found", "drop", "rollback")  # probabilities
SLOT_FAULTS = ("slow_confirmation_slots", "lag_slots")  # counts of slots


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
    seed: int = 7
    rng: random.Random = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def visible(self, landed_slot: int, now: int) -> bool:
        """Whether a transaction landed at `landed_slot` shows confirmed at `now` on this node."""
        return landed_slot + self.slow_confirmation_slots <= now - self.lag_slots

    def draw(self, *kinds: str) -> str:
        roll = self.rng.random()
        for kind in kinds:
            p = getattr(self, kind)
            if roll < p:
                self.counts[kind] = self.counts.get(kind, 0) + 1
                return kind
            roll -= p
        return ""
