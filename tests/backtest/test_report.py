"""Report maths on known series, the JSON summary, the HTML page and the `solbot backtest` command."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import orjson
import pytest

from backtest.engine import BacktestEngine
from backtest.make_sample import sample_records
from backtest.recording import write_records
from backtest.report import summarise
from backtest.stats import drawdowns, returns_of, sharpe, sortino
from core.settings import load_settings
from market.tokens import initial_wallet
from solbot.commands import backtest as backtest_command


def test_returns_sharpe_sortino_drawdown_on_a_known_series() -> None:
    equity = [100.0, 110.0, 99.0, 108.9]
    rets = returns_of(equity)
    assert rets == pytest.approx([0.1, -0.1, 0.1])
    mean, sd = 0.1 / 3, math.sqrt(((0.1 - 0.1 / 3) ** 2 * 2 + (-0.1 - 0.1 / 3) ** 2) / 2)
    assert sharpe(rets, 4.0) == pytest.approx(mean / sd * 2.0)
    assert sortino(rets, 4.0) == pytest.approx(mean / math.sqrt(0.01 / 3) * 2.0)
    assert drawdowns(equity) == pytest.approx([0.0, 0.0, 0.1, 0.01])
    assert sharpe([0.01, 0.01], 10.0) == 0.0  # no variance: undefined, reported as 0
    assert sortino([0.01, 0.02], 10.0) == 0.0  # no downside


def test_backtest_command_prints_one_json_object_and_writes_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "short.jsonl.gz"
    write_records(path, sample_records(seed=1, duration_s=60.0, rate_eps=300.0, partitions=4))
    parser = argparse.ArgumentParser()
    backtest_command.add_parser(parser.add_subparsers())
    orders_path = tmp_path / "out" / "orders.jsonl"
    args = parser.parse_args(["backtest", str(path), "--seed", "3", "--orders", str(orders_path)])
    assert backtest_command.main(load_settings(), args) == 0
    summary = orjson.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in (
        "pnl_usdc", "sharpe", "sortino", "max_drawdown_pct", "win_rate", "trades", "turnover", "fees_usdc",
        "by_pair", "by_strategy", "models", "events", "events_per_s",
    ):  # fmt: skip
        assert key in summary, key
    assert summary["seed"] == 3
    assert summary["events"] > 10_000  # ~300 events per second of event time
    assert summary["trades"] > 0 and summary["fees_usdc"] > 0
    for name in ("log_loss", "baseline_log_loss", "accuracy"):
        assert 0.0 < summary["models"]["aggregate"][name] < 5.0
    pnl_by_pair = sum(row["pnl_usdc"] for row in summary["by_pair"].values())
    network = summary["costs"]["network_fees_usdc"]
    assert network > 0 and summary["fill_model"]["mode"] == "honest"
    assert pnl_by_pair + summary["holdings_revaluation_usdc"] - network == pytest.approx(
        summary["pnl_usdc"], abs=0.05
    )
    assert summary["trading_pnl_usdc"] == pytest.approx(
        summary["pnl_usdc"] - summary["inventory_revaluation_usdc"], abs=0.02
    )
    # --orders: one JSON object per order, the contract's fields with raw integer amounts
    lines = [orjson.loads(line) for line in orders_path.read_bytes().splitlines()]
    assert len(lines) == summary["orders"] > 0
    for line in lines:
        assert set(line) >= {
            "pair", "side", "kind", "strategy", "ts_ms", "status", "amount_in", "base_amount",
            "notional_usdc", "impact_bps", "pool_state",
        }  # fmt: skip
        assert set(line["pool_state"]) >= {"venue", "base_reserve", "quote_reserve", "fee_bps", "ts_ms"}
        assert isinstance(line["amount_in"], int) and isinstance(line["base_amount"], int)
        assert line["side"] in ("buy", "sell") and line["status"] in ("filled", "failed")
        assert line["kind"] in ("entry", "exit", "stop", "take_profit", "manual", "rebalance", "breaker")
        assert line["impact_bps"] >= 0.0 and line["pool_state"]["ts_ms"] <= line["ts_ms"]
        if line["status"] == "filled":
            assert line["base_amount"] > 0 and line["notional_usdc"] > 0
    page = (tmp_path / "short.html").read_text()
    assert summary["html"] == str(tmp_path / "short.html")
    assert page.count("<svg") == 2 and page.count("<polyline") == 3  # equity, buy-and-hold, drawdown
    assert "<script" not in page and "src=" not in page and "href=" not in page  # no external assets
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")
    titles = (
        "By pair",
        "By strategy",
        "Models",
        "Equity against buy-and-hold",
        f"Trades ({summary['orders']})",
    )
    for title in titles:
        assert title in page
    # no Python reprs, no empty values, no epoch milliseconds: times are read as UTC dates
    assert "None" not in page and "{'" not in page and "[{" not in page
    for allocation in summary["allocations"]:
        assert str(allocation["ts_ms"]) not in page
    first = summary["trade_log"][0]
    assert first["time"].replace("T", " ").replace("Z", " UTC") in page
    assert "not enough points" not in page and "periods per 365-day year" in page


def test_report_splits_pnl_states_its_basis_and_lists_trades(tmp_path: Path) -> None:
    settings = load_settings()
    records = sample_records(seed=1, duration_s=60.0, rate_eps=300.0, partitions=4)
    result = BacktestEngine(settings, seed=1).run(records)
    summary = summarise(result, interval_ms=settings.snapshot_interval_ms, sample_ms=2_000)
    assert summary["pnl_usdc"] == pytest.approx(
        summary["inventory_revaluation_usdc"] + summary["trading_pnl_usdc"], abs=0.011
    )
    # the benchmark is the opening wallet marked at the same prices as the equity, point for point
    assert len(result.benchmark) == len(result.equity)
    assert [t for t, _ in result.benchmark] == [t for t, _ in result.equity]
    opening = initial_wallet(settings.paper_start_usdc, settings.paper_start_sol)
    assert summary["benchmark"]["end_usdc"] == round(result.ledger.value_usdc(opening), 2)
    basis = summary["ratio_basis"]
    assert basis["sample_ms"] == 2_000 and basis["periods_per_year"] == pytest.approx(365 * 86_400 / 2)
    assert basis["returns"] == pytest.approx(summary["period"]["span_s"] / 2, abs=1)
    assert "every 2 s" in basis["text"]
    log = summary["trade_log"]
    assert len(log) == summary["orders"]
    for row, trade in zip(log, result.trades, strict=True):
        assert row["order_id"] == trade.order.id and row["time"].endswith("Z")
        if row["status"] == "filled":
            fill = trade.fill
            assert row["size_base"] == fill.base_amount / 10**fill.base_decimals > 0
            assert row["price_quote"] == fill.price > 0
    for rows in (summary["by_pair"], summary["by_strategy"]):
        for row in rows.values():
            assert 0.0 <= row["win_rate"] <= 1.0 and row["max_drawdown_usdc"] >= 0.0
            assert row["wins"] <= row["sells"] <= row["trades"] <= row["orders"]
    sells = sum(r["sells"] for r in summary["by_strategy"].values())
    assert sells == sum(1 for t in log if t["side"] == "sell" and t["status"] == "filled")


def test_backtest_command_refuses_a_sample_period_that_is_not_a_positive_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = argparse.ArgumentParser(prog="solbot")
    backtest_command.add_parser(parser.add_subparsers())
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["backtest", "x.jsonl", "--sample-ms", "-5"])
    assert exc.value.code == 2
    assert "--sample-ms" in capsys.readouterr().err
