"""The report's statistics on series whose answers are known by hand."""

from __future__ import annotations

import pytest

from backtest.stats import (
    YEAR_MS,
    duration_text,
    iso_utc,
    max_drawdown,
    max_drawdown_of_steps,
    ratios,
    resample,
    returns_of,
    sharpe,
    utc_text,
)


def test_resample_forward_fills_a_regular_grid_across_a_quiet_gap() -> None:
    points = [(0, 100.0), (500, 101.0), (2_000, 99.0), (2_400, 98.0)]
    assert resample(points, 500) == [(0, 100.0), (500, 101.0), (1_000, 101.0), (1_500, 101.0), (2_000, 99.0)]
    assert resample([], 500) == []
    with pytest.raises(ValueError):
        resample(points, 0)


def test_ratios_are_annualised_from_the_stated_period() -> None:
    points = [(i * 1_000, v) for i, v in enumerate([100.0, 101.0, 100.0, 102.0, 101.0])]
    s, _, basis = ratios(points, 1_000)
    assert basis.returns == 4 and basis.span_ms == 4_000 and basis.periods_per_year == YEAR_MS / 1_000
    assert s == pytest.approx(sharpe(returns_of([100.0, 101.0, 100.0, 102.0, 101.0]), YEAR_MS / 1_000))
    # the same curve sampled every 2 s: two returns, half as many periods per year
    s2, _, basis2 = ratios(points, 2_000)
    assert basis2.returns == 2 and basis2.periods_per_year == YEAR_MS / 2_000
    assert s2 == pytest.approx(sharpe(returns_of([100.0, 100.0, 101.0]), YEAR_MS / 2_000))
    assert "every 1 s over 4 s" in basis.describe() and "risk-free rate 0" in basis.describe()


def test_max_drawdown_has_its_peak_trough_and_recovery_dates() -> None:
    points = [(0, 100.0), (1, 120.0), (2, 90.0), (3, 110.0), (4, 60.0), (5, 121.0), (6, 100.0)]
    dd = max_drawdown(points)
    assert (dd.peak_ms, dd.trough_ms, dd.recovered_ms) == (1, 4, 5)
    assert dd.depth == 60.0 and dd.depth_pct == pytest.approx(50.0)
    not_back = max_drawdown([(0, 10.0), (1, 8.0), (2, 9.0)])
    assert (not_back.peak_ms, not_back.trough_ms, not_back.recovered_ms) == (0, 1, None)
    rising = max_drawdown([(0, 1.0), (1, 2.0)])
    assert rising.depth == 0.0 and rising.peak_ms is None and rising.trough_ms is None


def test_max_drawdown_of_steps_is_the_worst_fall_of_the_running_sum() -> None:
    assert max_drawdown_of_steps([1.0, -3.0, 1.0, -2.0, 5.0]) == 4.0
    assert max_drawdown_of_steps([-1.0, -1.0]) == 2.0  # from the starting zero
    assert max_drawdown_of_steps([]) == 0.0


def test_times_and_spans_read_as_a_person_writes_them() -> None:
    assert utc_text(1_700_000_000_000) == "2023-11-14 22:13:20 UTC"
    assert utc_text(1_700_000_000_250, ms=True) == "2023-11-14 22:13:20.250 UTC"
    assert iso_utc(1_700_000_000_250) == "2023-11-14T22:13:20.250Z"
    assert iso_utc(None) is None and utc_text(None) == ""
    assert [duration_text(ms) for ms in (500, 2_500, 179_500, 180_000, 7_500_000)] == [
        "500 ms", "2.5 s", "2 min 59.5 s", "3 min 0 s", "2 h 5 min",
    ]  # fmt: skip
