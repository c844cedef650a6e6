"""Faults on demand for the sandbox's servers: each request draws at most one, from a seeded RNG, so a
faulty run replays exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FAULT_KINDS = ("timeout", "rate_limit", "blockhash_not_found", "drop")


@dataclass
class Faults:
    """Probabilities per request (seeded RNG): each request draws at most one fault."""

    timeout: float = 0.0  # answer after the client gave up (sendTransaction: executed first, 50 %)
    rate_limit: float = 0.0  # HTTP 429 with Retry-After
    blockhash_not_found: float = 0.0  # sendTransaction only: -32002 BlockhashNotFound, not executed
    drop: float = 0.0  # sendTransaction only: accepted (signature returned) but never executed
    seed: int = 7
    rng: random.Random = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self, *kinds: str) -> str:
        roll = self.rng.random()
        for kind in kinds:
            p = getattr(self, kind)
            if roll < p:
                self.counts[kind] = self.counts.get(kind, 0) + 1
                return kind
            roll -= p
        return ""
