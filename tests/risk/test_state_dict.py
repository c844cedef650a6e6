"""`RiskState.to_dict`: what `dataclasses.asdict` gives (the form the risk table stores), at its own cost."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import risk as rr
from risk.state import PairInfo, PendingOrder, Position, RiskState

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sim-seed1.jsonl.gz"


def reference(state: RiskState) -> dict[str, Any]:
    """The former implementation: asdict, then the id sets as lists, oldest first."""
    d = dataclasses.asdict(state)
    for name in ("recent_fills", "recent_signals", "control_ids"):
        d[name] = list(getattr(state, name))
    return d


def full_state() -> RiskState:
    """A state with every field set, nested records and the Any-typed fields' shapes included."""
    state = RiskState(portfolio="main", sol_mint="sol", usdc_mint="usdc", balances={"sol": 10**9, "usdc": 5})
    state.positions["SOL/USDC"] = Position(
        "SOL/USDC", "sol", "usdc", 9, 6, 10**9, 150_000_000, 150.0, 1.5, 1_000, 151.0, "trend", {"trend": 7}
    )
    state.pending["ord:1"] = PendingOrder("SOL/USDC", "buy", "usdc", 100, 1, "entry", 0.1, "grid")
    state.pairs["SOL/USDC"] = PairInfo("sol", "usdc", 9, 6)
    state.prices = {"SOL/USDC": 150.0}
    state.offsets = {"fills:0": 3}
    state.realised_pnl = {"SOL/USDC": -0.5}
    for i in range(600):
        rr.state.remember(state.recent_signals, f"sig:{i}", rr.state.RECENT_IDS_KEPT)
    state.recent_fills = {"fill:1": None}
    state.control_ids = {"ctl:1": None}
    state.signal_marks = {"SOL/USDC|trend": 5}
    state.signal_mark_ids = {"SOL/USDC|trend": ["a", "b"]}
    state.outbox = [{"topic": "orders", "value": "{}", "epoch": "3"}]
    state.halts = {"manual": "operator"}
    state.order_ts = [1, 2]
    state.venue_fills = {"paper": [0, 1]}
    state.pools = {"SOL/USDC": [{"venue": "raydium", "base_reserve": 10, "nested": {"k": [1, (2, 3)]}}]}
    state.strategy_params = {"grid": {"levels": [1.0, 2.0], "pair": ("a", "b")}}
    state.rebalance = {"targets": {"sol": 0.5}, "info": PairInfo("x", "y", 1, 2)}
    state.price_window = {"SOL/USDC": [[1.0, 150.0]]}
    state.pair_halts = {"BONK/SOL": [10, "move"]}
    state.suspect_prices = {"JUP/USDC": [0.8, 5.0]}
    state.stopped = {"SOL/USDC|trend": 9}
    return state


def test_to_dict_is_what_asdict_gave_key_for_key_and_in_order() -> None:
    state = full_state()
    d = state.to_dict()
    assert d == reference(state)
    assert list(d) == list(reference(state))
    assert json.dumps(d) == json.dumps(reference(state))  # the changelog's bytes too


def test_to_dict_shares_nothing_the_state_goes_on_to_change() -> None:
    """The dict is stored in the table and sent later: changing the state after must not change it."""
    state = full_state()
    d = state.to_dict()
    before = json.dumps(d)
    state.positions["SOL/USDC"].lots["trend"] = 0
    state.pools["SOL/USDC"][0]["nested"]["k"].append(4)
    state.strategy_params["grid"]["levels"].append(3.0)
    state.signal_mark_ids["SOL/USDC|trend"].append("c")
    state.outbox[0]["value"] = "changed"
    state.venue_fills["paper"].append(1)
    state.order_ts.append(3)
    state.balances["sol"] = 0
    assert json.dumps(d) == before


def test_a_traded_state_from_the_backtest_gives_the_same_dict_ten_times_faster() -> None:
    """The shape a run really leaves (a sample's 3 minutes: 512 remembered signals, positions, pools)."""
    from backtest import engine
    from core.settings import load_settings

    states: list[RiskState] = []
    original = engine.BacktestEngine.run

    def keep(self: engine.BacktestEngine, records: Any) -> Any:
        result = original(self, records)
        states.append(self.state)
        return result

    engine.BacktestEngine.run = keep  # type: ignore[method-assign]
    try:
        engine.run_file(SAMPLE, load_settings(), seed=1)
    finally:
        engine.BacktestEngine.run = original  # type: ignore[method-assign]
    (state,) = states
    assert len(state.recent_signals) == rr.state.RECENT_IDS_KEPT and state.positions
    assert state.to_dict() == reference(state)

    def cost(fn: Any) -> float:
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(20):
                fn(state)
            best = min(best, time.perf_counter() - t)
        return best

    fast, slow = cost(RiskState.to_dict), cost(reference)
    assert fast * 4 < slow, f"to_dict {fast / 20 * 1e6:.0f} us vs asdict {slow / 20 * 1e6:.0f} us"
