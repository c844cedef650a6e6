"""What a batch of risk inputs should alert an operator about: halts that started, a rebalance that ended.

Pure comparisons of the state before and after; the agent raises the alerts (Redis, best effort).
"""

from __future__ import annotations

from typing import Any, Literal

from risk.rebalance import DONE
from risk.state import RiskState

Level = Literal["info", "warning"]


def new_halts(
    before: dict[str, str], venues_before: dict[str, str], state: RiskState
) -> list[tuple[str, str]]:
    """(code, message) for each halt or venue halt that started since `before`."""
    out = [(f"risk.halt.{k}", v) for k, v in state.halts.items() if k not in before]
    out += [(f"risk.venue_halt.{k}", v) for k, v in state.venue_halts.items() if k not in venues_before]
    return out


def rebalance_ended(before: dict[str, Any], state: RiskState) -> tuple[Level, str, str] | None:
    """(level, code, message) when a rebalance ended since `before` (the previous `rebalance_result`)."""
    result = state.rebalance_result
    if not result or result == before:
        return None
    level: Level = "info" if result["outcome"] == DONE else "warning"
    message = (
        f"{result['id']}: {result['slices']} slices, residuals (USDC) {result['residuals_usdc']}"
        + (f", blocked {result['blocked']}" if result["blocked"] else "")
        + (f", {result['detail']}" if result["detail"] else "")
    )
    return level, str(result["outcome"]), message
