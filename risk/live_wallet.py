"""The risk state's balances taken from the live wallet: live orders are sized from the money the wallet
holds on chain, never from the paper opening balances (`paper_start_usdc`/`paper_start_sol`).

At live start the fresh state opens on the chain's balances; at each reconciliation they replace the
state's own, but only while no order is pending: a pending order may have landed already, and its fill
(not yet applied) would then move the balances a second time.
"""

from __future__ import annotations

from collections.abc import Mapping

from risk.state import RiskState, equity_usdc


def open_on_wallet(state: RiskState, funds: Mapping[str, int]) -> RiskState:
    """A fresh state's balances set to the wallet's; its peak equity follows."""
    state.balances = {mint: int(amount) for mint, amount in funds.items()}
    state.peak_equity_usdc = equity_usdc(state)
    return state


def sync_balances(state: RiskState, funds: Mapping[str, int]) -> list[str] | None:
    """Replace the state's balances by the wallet's; the differences ("mint: state -> chain"), or None when
    orders are pending (the next reconciliation tries again)."""
    if state.pending:
        return None
    chain = {mint: int(amount) for mint, amount in funds.items()}
    differences = [
        f"{mint}: {state.balances.get(mint, 0)} -> {chain.get(mint, 0)}"
        for mint in sorted(set(state.balances) | set(chain))
        if state.balances.get(mint, 0) != chain.get(mint, 0)
    ]
    state.balances = chain
    return differences
