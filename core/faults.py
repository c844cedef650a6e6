"""Fault injection at the side-effect boundaries, off by default (`FAULT_INJECT`).

A fault point is a named place where an effect is written or sent; `FaultInjector.fire(point)` raises
`InjectedFault` there with the point's configured probability. Tests and `make chaos` use it to prove that
an exception at any of them loses nothing and doubles nothing (agents/recovery.py). The points:

- `sink.apply`: inside the execution sink's Postgres transaction, after the batch's effects, before commit
  (what a connection reset does: everything of the batch rolls back);
- `sink.publish`: after the fills of a committed batch were sent, before they are marked published;
- `risk.decide`: after the risk agent applied a batch to its state, before anything is written;
- `risk.publish`: after the risk state (with its outbox) was saved, before the outbox is sent;
- `model.publish`: before a scored snapshot's signals are sent.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from core import metrics
from core.errors import InjectedFault

FAULT_POINTS = ("sink.apply", "sink.publish", "risk.decide", "risk.publish", "model.publish")


def parse_fault_rates(text: str) -> dict[str, float]:
    """`point:rate,point:rate` -> {point: rate}; ValueError names the first bad entry."""
    rates: dict[str, float] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        point, sep, rate = entry.partition(":")
        if not sep:
            raise ValueError(f"{entry!r} is not point:rate")
        try:
            rates[point.strip()] = float(rate)
        except ValueError:
            raise ValueError(f"{entry!r}: the rate is not a number") from None
    return rates


def check_fault_rates(rates: Mapping[str, float]) -> dict[str, float]:
    """Known points and rates in [0, 1], or ValueError naming the first that is not."""
    for point, rate in rates.items():
        if point not in FAULT_POINTS:
            raise ValueError(f"unknown fault point {point!r} (known: {', '.join(FAULT_POINTS)})")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate of {point} must be within 0..1 (got {rate})")
    return dict(rates)


class FaultInjector:
    """Raises `InjectedFault` at a point with its probability; `fired` counts what it raised, by point.

    Each point draws from its own generator, seeded from `seed` and the point's name: with a seed, which of
    a point's calls fail depends only on how many calls that point has had, not on how the calls of all
    points happened to interleave (timing), so a run's faults are reproducible point by point."""

    def __init__(self, rates: Mapping[str, float], seed: int | None = None) -> None:
        self.rates = check_fault_rates(rates)
        self._randoms = {
            point: random.Random(None if seed is None else f"{seed}:{point}") for point in self.rates
        }
        self.fired: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        return any(rate > 0.0 for rate in self.rates.values())

    def fire(self, point: str) -> None:
        rate = self.rates.get(point, 0.0)
        if rate > 0.0 and self._randoms[point].random() < rate:
            self.fired[point] = self.fired.get(point, 0) + 1
            metrics.FAULTS_INJECTED.labels(point).inc()
            raise InjectedFault(f"fault injected at {point} (FAULT_INJECT)")


NO_FAULTS = FaultInjector({})
