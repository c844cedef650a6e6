"""The report's statistics on equity curves and trade lists: pure functions, no I/O.

Kept apart from the report so each figure can be checked on a known series (tests/backtest/test_stats.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

YEAR_MS = 365 * 24 * 3600 * 1000  # the market never closes: a 365-day year of calendar time

Point = tuple[int, float]  # (event time ms, value)


def returns_of(equity: Sequence[float]) -> list[float]:
    return [b / a - 1.0 for a, b in itertools.pairwise(equity) if a > 0]


def sharpe(returns: Sequence[float], periods_per_year: float) -> float:
    """Mean over sample standard deviation, times sqrt(periods per year); risk-free 0; 0 if undefined."""
    n = len(returns)
    if n < 2:
        return 0.0
    mean = sum(returns) / n
    var = sum((r - mean) ** 2 for r in returns) / (n - 1)
    return 0.0 if var <= 0 else mean / math.sqrt(var) * math.sqrt(periods_per_year)


def sortino(returns: Sequence[float], periods_per_year: float) -> float:
    """Mean over downside deviation sqrt(mean(min(r, 0)^2)), times sqrt(periods per year); 0 if undefined."""
    n = len(returns)
    if n < 2:
        return 0.0
    mean = sum(returns) / n
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / n)
    return 0.0 if downside <= 0 else mean / downside * math.sqrt(periods_per_year)


def drawdowns(equity: Iterable[float]) -> list[float]:
    """Fraction below the running peak at each point (0 at a new high)."""
    out, peak = [], -math.inf
    for e in equity:
        peak = max(peak, e)
        out.append((peak - e) / peak if peak > 0 else 0.0)
    return out


def resample(points: Sequence[Point], step_ms: int) -> list[Point]:
    """The curve on a regular grid from its first time, each grid point holding the last value at or
    before it: returns then span equal periods even where the recording had a quiet interval (no sample),
    which is what annualising by a fixed number of periods per year assumes."""
    if step_ms <= 0:
        raise ValueError("step_ms must be > 0")
    if not points:
        return []
    t0, t_end = points[0][0], points[-1][0]
    out: list[Point] = []
    i, value = 0, points[0][1]
    t = t0
    while t <= t_end:
        while i < len(points) and points[i][0] <= t:
            value = points[i][1]
            i += 1
        out.append((t, value))
        t += step_ms
    return out


@dataclass(frozen=True, slots=True)
class RatioBasis:
    """How Sharpe and Sortino were computed, so a reader can tell what the annualised figures mean."""

    sample_ms: int
    returns: int  # how many returns (periods) the ratios saw
    span_ms: int
    periods_per_year: float

    def describe(self) -> str:
        return (
            f"annualised (x sqrt({self.periods_per_year:,.0f}) periods per 365-day year) from {self.returns} "
            f"simple returns of equity sampled every {duration_text(self.sample_ms)} over "
            f"{duration_text(self.span_ms)}; risk-free rate 0"
        )


def ratios(points: Sequence[Point], sample_ms: int) -> tuple[float, float, RatioBasis]:
    """(Sharpe, Sortino, basis) of a curve resampled every `sample_ms`."""
    grid = resample(points, sample_ms)
    rets = returns_of([v for _, v in grid])
    periods = YEAR_MS / sample_ms
    span = grid[-1][0] - grid[0][0] if grid else 0
    basis = RatioBasis(sample_ms=sample_ms, returns=len(rets), span_ms=span, periods_per_year=periods)
    return sharpe(rets, periods), sortino(rets, periods), basis


@dataclass(frozen=True, slots=True)
class DrawdownEpisode:
    """The deepest fall from a running peak: when the peak was, when the bottom, when (if) it was regained."""

    depth_pct: float
    depth: float  # in the curve's unit (USDC)
    peak_ms: int | None
    trough_ms: int | None
    recovered_ms: int | None  # the first time the curve was back at the peak; None: not by the end


def max_drawdown(points: Sequence[Point]) -> DrawdownEpisode:
    """The maximum drawdown of a curve with its dates (a curve that never falls: depth 0, no dates)."""
    best = DrawdownEpisode(0.0, 0.0, None, None, None)
    best_peak, best_index = 0.0, -1
    peak_t, peak = None, -math.inf
    for i, (t, v) in enumerate(points):
        if v >= peak:
            peak_t, peak = t, v
            continue
        if peak - v > best.depth:
            best = DrawdownEpisode((peak - v) / peak * 100 if peak > 0 else 0.0, peak - v, peak_t, t, None)
            best_peak, best_index = peak, i
    if best_index < 0:
        return best
    recovered = next((t for t, v in points[best_index + 1 :] if v >= best_peak), None)
    return DrawdownEpisode(best.depth_pct, best.depth, best.peak_ms, best.trough_ms, recovered)


def max_drawdown_of_steps(steps: Iterable[float]) -> float:
    """The deepest fall of a running sum from its running peak (starting at 0), e.g. PnL trade by trade."""
    total = peak = worst = 0.0
    for step in steps:
        total += step
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


def utc_text(ts_ms: int | None, *, ms: bool = False) -> str:
    """An event time as a reader's UTC date and time ('2023-11-14 22:13:20 UTC')."""
    if ts_ms is None:
        return ""
    when = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    if ms:
        text += f".{ts_ms % 1000:03d}"
    return text + " UTC"


def iso_utc(ts_ms: int | None) -> str | None:
    """An event time as ISO 8601 in UTC with milliseconds, for the JSON report."""
    if ts_ms is None:
        return None
    when = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{ts_ms % 1000:03d}Z"


def duration_text(ms: float) -> str:
    """A span in the largest units that read well: '500 ms', '2.5 s', '3 min 0 s', '2 h 5 min'."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    s = ms / 1000
    if s < 60:
        return f"{s:g} s"
    if s < 3600:
        minutes, sec = divmod(round(s, 1), 60)
        return f"{int(minutes)} min {round(sec, 1):g} s"
    hours, minutes = divmod(round(s / 60), 60)
    return f"{hours} h {minutes} min"
