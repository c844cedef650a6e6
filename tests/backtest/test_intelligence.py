"""The backtest's model and allocation report: the model earns its keep where there is something to learn,
and the bot's drawdown stays inside the risk limit where there is not."""

from __future__ import annotations

from pathlib import Path

from backtest.engine import BacktestEngine, run_file
from backtest.make_sample import sample_records
from backtest.report import summarise
from core.settings import load_settings

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sim-seed1.jsonl.gz"


def test_on_the_shipped_sample_the_model_beats_the_naive_baseline_and_allocations_are_reported() -> None:
    settings = load_settings()
    report = summarise(run_file(SAMPLE, settings, seed=1), interval_ms=settings.snapshot_interval_ms)
    model = report["model"]
    assert set(model) >= {"log_loss", "baseline_log_loss", "accuracy", "baseline_accuracy", "mae", "n"}
    assert model["n"] > 500
    assert model["log_loss"] < model["baseline_log_loss"]  # progressive validation over the whole run
    assert model["accuracy"] > model["baseline_accuracy"]
    assert report["allocations"], "the sample spans a cycle boundary"
    for allocation in report["allocations"]:
        assert set(allocation) == {"ts_ms", "time", "pair", "weights"}
        assert allocation["time"].endswith("Z") and allocation["time"].startswith("2023-11-14T")
        assert 0.0 < sum(allocation["weights"].values()) <= 1.0 + 1e-6
    assert set(report["by_strategy"]) - {"risk"}, "strategies' orders are attributed to them"


def test_on_the_shipped_sample_the_pnl_splits_into_holding_and_trading() -> None:
    """The headline PnL is the opening wallet re-priced (buy and hold) plus what trading did against it."""
    settings = load_settings()
    report = summarise(run_file(SAMPLE, settings, seed=1), interval_ms=settings.snapshot_interval_ms)
    assert report["pnl_usdc"] == -286.28  # the README's sample figures (honest fills, limits that hold)
    assert report["inventory_revaluation_usdc"] == report["benchmark"]["pnl_usdc"] == -261.88
    assert report["trading_pnl_usdc"] == -24.41
    total = report["inventory_revaluation_usdc"] + report["trading_pnl_usdc"]
    assert abs(total - report["pnl_usdc"]) <= 0.01 + 1e-9  # each figure is rounded to the cent
    assert len(report["trade_log"]) == report["orders"] == 31
    assert report["ratio_basis"]["sample_ms"] == settings.snapshot_interval_ms
    assert report["ratio_basis"]["returns"] == report["equity_points"] - 1
    dd = report["max_drawdown"]
    assert dd["peak"] < dd["trough"] and dd["recovered"] is None and dd["pct"] == report["max_drawdown_pct"]
    # README's excerpt of this run shows these figures: they must be the code's
    readme = (SAMPLE.parents[1] / "README.md").read_text()
    for key in ("orders", "pnl_usdc", "trading_pnl_usdc", "inventory_revaluation_usdc", "sharpe", "trades"):
        assert f'"{key}": {report[key]},' in readme, key


def test_on_a_random_walk_the_drawdown_stays_inside_the_risk_limit() -> None:
    # 6 minutes at 40 events/s (~15k events): several allocation cycles of 1 minute, every strategy running
    settings = load_settings().model_copy(update={"allocation_cycle_ms": 60_000})
    records = sample_records(seed=3, duration_s=360.0, rate_eps=40.0, partitions=4, random_walk=True)
    result = BacktestEngine(settings, seed=3).run(records)
    report = summarise(result, interval_ms=settings.snapshot_interval_ms)
    assert report["events"] > 5_000 and report["signals"] > 0
    assert len(report["allocations"]) >= 4
    assert report["max_drawdown_pct"] < settings.max_drawdown_pct
    # nothing to learn: the model must not claim much of an edge on a random walk
    assert report["model"]["log_loss"] > 0.6
