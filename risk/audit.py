"""The audit trail's view of a decision: one `risk_decisions` row per order or rejection.

`store.risk` writes these rows; what a row says about a decision is risk's to define.
"""

from __future__ import annotations

from dataclasses import dataclass

from risk.codes import RESIZED, reason_code
from streams.records import Order, Rejection


@dataclass(frozen=True, slots=True)
class RiskDecisionRow:
    decision_id: str
    signal_id: str
    portfolio: str
    pair: str
    action: str  # "approve" | "resize" | "reject"
    order_id: str | None
    reason: str
    ts_ms: int
    decided_ms: int


def audit_row(portfolio: str, decision: Order | Rejection) -> RiskDecisionRow:
    """The audit row of one decision. Exits have no signal: their order id stands in (it is unique)."""
    code = reason_code(decision.reason)
    if isinstance(decision, Order):
        action = "resize" if code == RESIZED else "approve"
        order_id: str | None = decision.id
    else:
        action, order_id = "reject", None
    return RiskDecisionRow(
        decision_id=decision.id,
        signal_id=decision.signal_id or decision.id,
        portfolio=portfolio,
        pair=decision.pair,
        action=action,
        order_id=order_id,
        reason=decision.reason,
        ts_ms=decision.ts_ms,
        decided_ms=decision.decided_ms,
    )
