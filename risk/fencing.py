"""Fencing of the risk state's owner under any guarantee (issue 16, item 4).

Kafka's group protocol hands the risk inputs to one worker at a time, but a worker that stalls beyond its
session (paused, CPU-starved, a slow database) does not know it lost them and would go on deciding beside
the new owner. So ownership is an *epoch* in Postgres (`store.risk_owner`): a worker assigned the risk
inputs claims the next one (the risk state carries it, `RiskState.owner_epoch`), and where effects are
written it is checked:

- the risk agent, before a batch writes anything: its `OwnerLease` is trusted for `lease_s` (half the
  session timeout: shorter than the time the group takes to give the inputs to another worker), then
  confirmed against the database; a newer epoch stops it (`StaleOwner`);
- the audit (`risk_decisions`): inserted in a transaction that holds the owner row and checks the epoch;
- the execution sink: an order carries its epoch (record header); one of an older epoch decided after the
  current owner claimed (`stale_order`) is refused, never executed. Older epochs' orders decided before
  the claim are the previous owner's legitimate decisions, which the new owner's state inherited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EPOCH_HEADER = "solbot-epoch"


@dataclass
class OwnerLease:
    """This worker's epoch, and when it last knew it was current (monotonic seconds)."""

    lease_s: float
    epoch: int | None = None
    confirmed_at: float = -math.inf

    def claimed(self, epoch: int, now: float) -> None:
        self.epoch = epoch
        self.confirmed_at = now

    def released(self) -> None:
        """The risk inputs went to another worker: this epoch writes nothing more (a new one is claimed)."""
        self.epoch = None
        self.confirmed_at = -math.inf

    def due(self, now: float) -> bool:
        """Whether the epoch must be confirmed before the next write."""
        return self.epoch is None or now - self.confirmed_at >= self.lease_s

    def confirm(self, current: int | None, now: float) -> bool:
        """The database's current epoch seen at `now`: False if another owner has claimed since ours."""
        if current is not None and current != self.epoch:
            return False
        self.confirmed_at = now
        return True


def stale_order(order_epoch: int | None, decided_ms: int, current: tuple[int, int] | None) -> bool:
    """An order of an older owner, decided after the current owner (epoch, claimed_ms) took over."""
    if order_epoch is None or current is None:
        return False
    epoch, claimed_ms = current
    return order_epoch < epoch and decided_ms >= claimed_ms


def epoch_of(headers: object) -> int | None:
    """The epoch header of a record (Faust gives headers as pairs or a mapping), None if absent."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, dict) else headers
    for key, value in items:  # type: ignore[attr-defined]
        if key == EPOCH_HEADER:
            try:
                return int(value.decode() if isinstance(value, bytes) else value)
            except ValueError:
                return None
    return None
