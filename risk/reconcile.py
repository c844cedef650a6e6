"""Reconciliation: the risk state's reservations and positions against what the execution sink recorded.

Risk learns an order's outcome only from its fill record. A fill that never arrives (lost before the
fix of issue 16, an outbox left unsent, an order the sink never received) would keep its reservation
forever, and a pending sell blocks every later exit of its pair. `reconcile` compares the state with the
database's rows (plain values: this module reads nothing itself) and says what to repair:

- a pending order the sink executed (its execution row exists) whose fill the state has not applied after
  `grace_s`: its fill is applied from the row (the same fill id, so the record arriving later is a no-op);
- a pending order the sink never recorded after `timeout_s`: its reservation is released with a failed
  outcome under a reconciliation id (`reconcile:<order>`), so the sink's own fill, should the order still
  execute, is applied on top;
- a pending order the sink holds without an outcome (new, submitted) after `timeout_s`: alerted;
- a pair with no order in flight whose position differs from the database's for `grace_s`: alerted (the
  database is the record; an operator decides, as a reset of the risk state would).

`suspects` (first seen, wall seconds, by key) is the caller's memory across runs: a difference is acted
on only once it has lasted, since fills in flight explain differences for a moment.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from market.fills import FAILED
from risk.state import RiskState
from streams.records import Fill

TERMINAL = frozenset({"filled", "failed", "expired", "cancelled"})
RECONCILED = "reconciled"  # the reason of a reservation released by reconciliation


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """What the database holds of one order: its status, and its execution as a fill (None: none yet)."""

    status: str
    fill: Fill | None = None


@dataclass(frozen=True, slots=True)
class Difference:
    kind: str  # pending_executed | pending_unknown | pending_stuck | position
    key: str  # order id or pair
    action: str  # repaired | released | alerted | watching
    detail: str


@dataclass
class Reconciliation:
    differences: list[Difference] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)  # to apply to the state, in this order

    @property
    def acted(self) -> list[Difference]:
        return [d for d in self.differences if d.action != "watching"]


def reconcile(
    state: RiskState,
    orders: Mapping[str, OrderRecord],
    positions: Mapping[str, int],
    suspects: MutableMapping[str, float],
    now_s: float,
    *,
    grace_s: float,
    timeout_s: float,
) -> Reconciliation:
    """Compare (see the module doc); `suspects` is updated: keys no longer different are forgotten."""
    out = Reconciliation()
    seen: set[str] = set()

    def lasted(key: str, wait_s: float) -> bool:
        seen.add(key)
        first = suspects.setdefault(key, now_s)
        return now_s - first >= wait_s

    for order_id, pending in sorted(state.pending.items()):
        record = orders.get(order_id)
        key = f"order:{order_id}"
        if record is not None and record.fill is not None:
            if lasted(key, grace_s):
                out.fills.append(record.fill)
                out.differences.append(
                    Difference("pending_executed", order_id, "repaired", f"{record.fill.status} by the sink")
                )
            else:
                out.differences.append(Difference("pending_executed", order_id, "watching", ""))
        elif record is None:
            if lasted(key, timeout_s):
                out.fills.append(_release(order_id, pending.pair, pending.side, now_s))
                out.differences.append(
                    Difference("pending_unknown", order_id, "released", "the sink never recorded it")
                )
            else:
                out.differences.append(Difference("pending_unknown", order_id, "watching", ""))
        elif record.status not in TERMINAL and lasted(key, timeout_s):
            out.differences.append(
                Difference("pending_stuck", order_id, "alerted", f"{record.status} at the sink")
            )
    in_flight = {p.pair for p in state.pending.values()}
    for pair in sorted(set(state.positions) | set(positions)):
        held = state.positions[pair].base_amount if pair in state.positions else 0
        recorded = positions.get(pair, 0)
        if pair in in_flight or held == recorded:
            continue
        if lasted(f"position:{pair}", grace_s):
            detail = f"risk holds {held}, the database {recorded} (raw base units)"
            out.differences.append(Difference("position", pair, "alerted", detail))
    for key in [k for k in suspects if k not in seen]:
        del suspects[key]
    return out


def _release(order_id: str, pair: str, side: str, now_s: float) -> Fill:
    """A failed outcome that releases a reservation; its id is not the sink's fill id (see the module doc)."""
    now_ms = int(now_s * 1000)
    return Fill(
        id=f"reconcile:{order_id}",
        order_id=order_id,
        pair=pair,
        side=side,
        status=FAILED,
        reason=RECONCILED,
        venue="",
        pool="",
        base_amount=0,
        quote_amount=0,
        fee_quote=0,
        price=0.0,
        base_decimals=0,
        quote_decimals=0,
        signature="",
        ts_ms=0,
        origin_ms=now_ms,
        filled_ms=now_ms,
    )
