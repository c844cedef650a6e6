"""The risk state's balances from the live wallet: opened on it, synced to it while nothing is pending."""

from __future__ import annotations

from market.tokens import USDC, WSOL
from risk.live_wallet import open_on_wallet, sync_balances
from risk.state import PendingOrder, equity_usdc, initial_state
from tests.risk.test_apply import limits


def test_a_fresh_state_opens_on_the_wallet_not_on_the_paper_balances() -> None:
    state = open_on_wallet(initial_state("main", limits), {USDC: 25 * 10**6})
    assert state.balances == {USDC: 25 * 10**6}  # no paper SOL, no paper USDC
    assert state.peak_equity_usdc == equity_usdc(state) == 25.0


def test_a_sync_replaces_the_balances_and_names_each_difference() -> None:
    state = initial_state("main", limits)
    paper_usdc = state.balances[USDC]
    differences = sync_balances(state, {USDC: 7, WSOL: 0, "MINT": 3})
    assert state.balances == {USDC: 7, WSOL: 0, "MINT": 3}
    assert differences == [
        f"{USDC}: {paper_usdc} -> 7",
        "MINT: 0 -> 3",
        f"{WSOL}: {round(limits.paper_start_sol * 10**9)} -> 0",
    ]
    assert sync_balances(state, {USDC: 7, WSOL: 0, "MINT": 3}) == []


def test_no_sync_while_an_order_is_pending() -> None:
    """The order may have landed already: its fill, applied later, would move the balances twice."""
    state = initial_state("main", limits)
    before = dict(state.balances)
    state.pending["ord:a"] = PendingOrder("SOL/USDC", "buy", USDC, 1, 1, "entry")
    assert sync_balances(state, {USDC: 1}) is None
    assert state.balances == before
