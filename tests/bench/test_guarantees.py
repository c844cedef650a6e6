"""The guarantee comparison's bookkeeping: each case's settings reach the stack and workers through the
environment and are put back; the cost of exactly-once compares only latencies both runs measured."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench.guarantees import Case, case_env, cost_of_exactly_once, sweep_rows, table_rows


def figures(eps: int, p50: float, p99: float, n: int) -> dict[str, Any]:
    return {
        "pipeline": {"events_per_s": eps, "ratio_to_naive": 2.0},
        "latency_ms": {"1000": {"p50": p50, "p99": p99, "max": p99, "n": n}},
    }


def test_a_case_sets_its_settings_and_puts_the_environment_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCESSING_GUARANTEE", "auto")
    monkeypatch.delenv("COMMIT_INTERVAL_S", raising=False)
    case = Case("c", "exactly_once", commit_interval_s=0.25)
    with case_env(case.env()):
        assert os.environ["PROCESSING_GUARANTEE"] == "exactly_once"
        assert os.environ["EMBEDDED_BROKER"] == "kafka"
        assert float(os.environ["COMMIT_INTERVAL_S"]) == 0.25
    assert os.environ["PROCESSING_GUARANTEE"] == "auto" and "COMMIT_INTERVAL_S" not in os.environ
    assert "COMMIT_INTERVAL_S" not in Case("d", "at_least_once", broker="tansu").env()


def test_the_cost_compares_only_measured_latencies() -> None:
    cost = cost_of_exactly_once(figures(1000, 100.0, 200.0, 20), figures(900, 160.0, 330.0, 18))
    assert cost == {"events_per_s_ratio": 0.9, "p50_ms_added_at_1000": 60.0, "p99_ms_added_at_1000": 130.0}
    assert cost_of_exactly_once(figures(1000, 0.0, 0.0, 0), figures(900, 160.0, 330.0, 18)) == {
        "events_per_s_ratio": 0.9
    }


def test_rows_and_the_sweep_table() -> None:
    assert table_rows("exactly-once", figures(1234, 1.5, 2.5, 3)) == [
        ("exactly-once: pipeline", "1,234 raw events/s (2.0x naive)"),
        ("exactly-once: tick-to-order at 1,000 ev/s", "p50 1.5 ms, p99 2.5 ms"),
    ]
    row = {"commit_interval_s": 0.1, **figures(1200, 58.9, 113.9, 21)}
    assert sweep_rows([row]) == [
        "| commit interval | pipeline events/s | tick-to-order at 1,000/s p50 / p99 ms |",
        "|---|---|---|",
        "| 0.1 s | 1,200 | 58.9 / 113.9 |",
    ]
