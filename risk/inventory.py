"""The wallet's inventory: what it holds outside positions (the opening SOL, mostly), and how much of its
value the exposure caps and the drawdown halt see (`opening_inventory`).

`counted` (the default): the inventory is exposure like any position, and its revaluation moves equity,
peak equity and the drawdown halt. `drawdown`: its revaluation moves the drawdown, but the exposure caps
leave it out (what risk did before the setting existed). `excluded`: out of the exposure caps, and the
drawdown is measured on equity with the SOL inventory valued at its opening price (a SOL move alone then
never halts trading; what the strategies do still does).
"""

from __future__ import annotations

from risk.limits import RiskLimits
from risk.state import SOL_UNIT, RiskState, equity_usdc, sol_usdc_price, unit_value_usdc
from risk.valuation import available

COUNTED = "counted"
EXCLUDED = "excluded"


def inventory_raw(state: RiskState, mint: str) -> int:
    """Raw units of `mint` held outside positions and not reserved by a pending order (never negative)."""
    in_positions = sum(p.base_amount for p in state.positions.values() if p.base_mint == mint)
    return max(0, available(state, mint) - in_positions)


def inventory_usdc(state: RiskState) -> float:
    """The inventory (every mint but USDC) at market."""
    return sum(
        inventory_raw(state, mint) * unit_value_usdc(state, mint)
        for mint, amount in state.balances.items()
        if amount and mint != state.usdc_mint
    )


def inventory_exposure_usdc(state: RiskState, limits: RiskLimits) -> float:
    """What the total exposure cap counts of the inventory: all of it at market, or nothing."""
    return inventory_usdc(state) if limits.opening_inventory == COUNTED else 0.0


def drawdown_equity_usdc(state: RiskState, limits: RiskLimits) -> float:
    """The equity the drawdown halts measure: equity, less the SOL inventory's revaluation since the
    wallet opened when the inventory is excluded."""
    equity = equity_usdc(state)
    if limits.opening_inventory != EXCLUDED or state.opening_sol_usdc <= 0.0:
        return equity
    moved = sol_usdc_price(state) - state.opening_sol_usdc
    return equity - inventory_raw(state, state.sol_mint) * SOL_UNIT * moved
