"""The sample made hostile (`backtest.hostile`): a 40 % crash in 10 s, a 95 % liquidity drain, rugged
launches, a 60 s feed gap, absurd and malformed lines. The backtest completes, counts every bad line with
its number, and every risk limit holds on the orders it sent."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from backtest import hostile
from backtest.engine import run_file
from backtest.recording import read_records
from backtest.result import BacktestResult
from core.settings import Settings, load_settings
from risk.codes import STOP_KINDS
from risk.limits import RiskLimits
from risk.pricing import quote_pool

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sim-seed1.jsonl.gz"
AT_S = 40.0


@cache
def settings() -> Settings:
    return load_settings()


@cache
def first_swap_ms() -> int:
    return min(r["value"]["ts_ms"] for r in read_records(SAMPLE) if hostile._is_swap(r))


def run(tmp: Path, scenarios: tuple[str, ...]) -> tuple[BacktestResult, int]:
    lines, dead = hostile.build(list(read_records(SAMPLE)), scenarios, AT_S)
    path = tmp / "hostile.jsonl.gz"
    hostile.write_lines(path, lines)
    return run_file(path, settings(), seed=1), dead


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> tuple[BacktestResult, int]:
    return run(tmp_path_factory.mktemp("hostile"), hostile.SCENARIOS)


def test_the_backtest_completes_and_counts_every_bad_line(everything: tuple[BacktestResult, int]) -> None:
    result, dead = everything
    assert dead == 7 and result.dead_letters == dead
    lines = result.dead_letter_lines
    assert [line for line, _ in lines[:3]] == [2, 3, 4] and {r for _, r in lines[:3]} == {"not JSON"}
    reasons = " | ".join(r for _, r in lines[3:])
    for expected in ("after its receipt", "not epoch milliseconds", "out of a pool that held", "its pool's"):
        assert expected in reasons
    assert result.trades, "the hostile market still trades"


def test_the_lone_outlier_never_reaches_peak_equity(everything: tuple[BacktestResult, int]) -> None:
    result, _ = everything
    state = result.risk_state
    assert state.peak_equity_usdc < 1.05 * result.start_equity_usdc
    assert "drawdown" not in state.halts


def test_buys_and_strategy_sells_keep_within_the_slippage_cap(everything: tuple[BacktestResult, int]) -> None:
    result, _ = everything
    cap = RiskLimits.from_settings(settings()).max_slippage_bps
    capped = [o for o in result.orders if o.kind in ("entry", "exit")]
    assert capped
    for o in capped:
        assert quote_pool(o.pool_state, o.side, o.amount_in).impact_bps <= cap + 1e-9, o.reason


def test_positions_stay_within_the_position_cap(everything: tuple[BacktestResult, int]) -> None:
    result, _ = everything
    limits = RiskLimits.from_settings(settings())
    cap_usdc = limits.max_position_pct / 100.0 * result.start_equity_usdc * 1.03  # equity moves a little
    held: dict[tuple[str, str], int] = defaultdict(int)
    for t in result.trades:
        o, f = t.order, t.fill
        if f.status != "filled":
            continue
        key = (o.pair, t.strategy)
        if o.side == "buy":
            usdc_per_quote = t.notional_usdc / f.quote_amount
            price = o.pool_state.quote_reserve / o.pool_state.base_reserve  # raw quote per raw base
            before = held[key] * price * usdc_per_quote
            assert before + t.notional_usdc <= cap_usdc, (o.reason, before)
            held[key] += f.base_amount
        elif o.kind == "exit":
            held[key] = max(0, held[key] - f.base_amount)
        else:  # a protective exit sells every lot of the pair
            for k in [k for k in held if k[0] == o.pair]:
                held[k] = 0


def test_no_buy_of_the_crashing_pair_and_no_reentry_after_a_stop(
    everything: tuple[BacktestResult, int],
) -> None:
    result, _ = everything
    crash_ms = first_swap_ms() + round(AT_S * 1000)
    buys = [t for t in result.trades if t.order.side == "buy"]
    assert not [
        t.order.id
        for t in buys
        if t.order.pair == hostile.CRASH_PAIR and crash_ms + 7_000 <= t.order.ts_ms <= crash_ms + 60_000
    ]
    cooldown_ms = RiskLimits.from_settings(settings()).stop_cooldown_s * 1000
    held: dict[tuple[str, str], int] = defaultdict(int)  # (pair, strategy) -> base held, as lots go
    cooling: dict[tuple[str, str], int] = {}  # (pair, strategy) -> stop time
    stops = 0
    for t in result.trades:
        o, f = t.order, t.fill
        key = (o.pair, t.strategy)
        if o.side == "buy":
            stopped = cooling.get(key)
            assert stopped is None or o.ts_ms >= stopped + cooldown_ms, (o.id, stopped)
        if f.status != "filled":
            continue
        if o.side == "buy":
            held[key] += f.base_amount
        elif o.kind == "exit":
            held[key] = max(0, held[key] - f.base_amount)
        else:
            for k in [k for k in held if k[0] == o.pair and held[k] > 0]:
                if o.kind in STOP_KINDS:
                    cooling[k] = o.ts_ms
                    stops += 1
                held[k] = 0
    assert stops, "the crash and the rugs stop positions out"


def test_a_rugged_launch_costs_at_most_the_launch_cap(everything: tuple[BacktestResult, int]) -> None:
    result, _ = everything
    limit = RiskLimits.from_settings(settings()).max_launch_notional_usdc
    spent: dict[str, float] = defaultdict(float)
    for t in result.trades:
        if t.order.side == "buy" and t.order.venue == "pumpfun" and t.fill.status == "filled":
            spent[t.order.pair] += t.notional_usdc
    assert all(v <= limit + 1e-6 for v in spent.values()), spent


@pytest.mark.slow
@pytest.mark.parametrize("scenario", hostile.SCENARIOS)
def test_every_scenario_alone_completes(tmp_path: Path, scenario: str) -> None:
    result, dead = run(tmp_path, (scenario,))
    assert result.dead_letters == dead and result.events > 0


def test_the_command_writes_the_file_and_refuses_an_unknown_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "h.jsonl"
    assert hostile.main([str(SAMPLE), str(out), "--scenario", "malformed"]) == 0
    assert out.read_bytes().count(b"\n") == sum(1 for _ in read_records(SAMPLE)) + 3
    assert "3 of them dead letters" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        hostile.main([str(SAMPLE), str(out), "--scenario", "meteor"])
