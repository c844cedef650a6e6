"""`solbot run`'s operator lines: equity only once priced, the PnL split, warnings with hysteresis, the
final summary printed once whether the run ends by --duration or by a signal."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from core.settings import load_settings
from market.tokens import USDC, WSOL
from solbot.monitor import PipelineCounts
from solbot.run_status import RunStatus, Threshold, Wallet, summary_text, value_usdc
from solbot.runner import finish, install_stop_handlers, progress_line, run_summary

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
OPENING = Wallet({USDC: 10_000 * 10**6, WSOL: 50 * 10**9})


def test_a_wallet_is_unpriced_until_every_token_it_holds_has_a_price() -> None:
    assert value_usdc(OPENING, {}, {}) is None  # SOL held, no SOL/USDC yet
    assert value_usdc(OPENING, {"SOL/USDC": 150.0}, {}) == pytest.approx(17_500.0)
    with_bonk = Wallet({USDC: 0, WSOL: 10**9, BONK: 2 * 10**5}, {BONK: ("BONK/SOL", 5)})
    assert value_usdc(with_bonk, {"SOL/USDC": 100.0}, {}) is None  # BONK has no price yet
    assert value_usdc(with_bonk, {"SOL/USDC": 100.0, "BONK/SOL": 1e-7}, {}) == pytest.approx(100.0 + 2e-5)
    assert value_usdc(Wallet({USDC: 5 * 10**6}), {}, {}) == 5.0  # USDC alone needs no price


def test_the_progress_line_says_unpriced_rather_than_zero() -> None:
    monitor = SimpleNamespace(counts=PipelineCounts())
    assert "equity=unpriced " in progress_line(5.0, 10, monitor, None)  # type: ignore[arg-type]
    assert "equity=17,500.00 USDC" in progress_line(5.0, 10, monitor, 17_500.0)  # type: ignore[arg-type]


def test_a_threshold_warns_once_and_clears_under_half() -> None:
    t = Threshold("consumer lag", 1000, " records", "RUN_WARN_LAG")
    lines = [t.update(v) for v in (10, 1500, 3000, 900, 600, 499, 450, 1200)]
    assert lines[0] is None and lines[2] is None and lines[3] is None and lines[4] is None
    assert lines[1] is not None and "WARNING consumer lag 1,500 records is over 1,000" in lines[1]
    assert "RUN_WARN_LAG" in lines[1]
    assert lines[5] == "solbot: consumer lag back to 499 records (under 500)"
    assert lines[6] is None and lines[7] is not None  # raised again: a new episode
    assert t.update(None) is None  # no figure (no worker answered): no change


def test_latency_warnings_read_the_latencies_since_the_last_look() -> None:
    status = RunStatus.create(OPENING, load_settings(run_warn_latency_ms=500.0, run_warn_lag=100))
    latencies = [50.0] * 100
    assert status.warnings(latencies, 0) == []
    latencies += [4000.0] * 10  # a backlog: p99 of the new ones is 4 s
    (line,) = status.warnings(latencies, 0)
    assert "tick-to-order latency p99 4,000 ms is over 500 ms (RUN_WARN_LATENCY_MS)" in line
    assert status.warnings(latencies, 0) == []  # nothing new: no figure, no change
    latencies += [100.0] * 50
    assert status.warnings(latencies, 150) == [
        "solbot: tick-to-order latency p99 back to 100 ms (under 250)",
        "solbot: WARNING consumer lag 150 records is over 100 records (RUN_WARN_LAG): the pipeline is "
        "falling behind the market",
    ]


def test_the_pnl_splits_into_the_opening_wallet_re_priced_and_trading() -> None:
    status = RunStatus.create(OPENING, load_settings())
    assert status.mark(OPENING, {}) is None and status.pnl()["pnl_usdc"] is None
    assert status.mark(Wallet({}), {"SOL/USDC": 150.0}) is None  # not seeded yet: unknown, not 0.00
    status.mark(OPENING, {"SOL/USDC": 150.0})  # first priced moment: start value 17,500
    traded = Wallet({USDC: 9_900 * 10**6, WSOL: 50 * 10**9 + 10**9 // 2})  # bought 0.5 SOL for 100 USDC
    status.mark(traded, {"SOL/USDC": 140.0})
    pnl = status.pnl()
    assert pnl["start_equity_usdc"] == 17_500.0
    assert pnl["inventory_revaluation_usdc"] == -500.0  # 50 SOL from 150 to 140
    assert pnl["trading_pnl_usdc"] == -30.0  # paid 100 for 0.5 SOL now worth 70
    assert pnl["pnl_usdc"] == -530.0


def summary_of(stopped_by: str, equity: float | None) -> dict[str, Any]:
    status = RunStatus.create(OPENING, load_settings())
    if equity is not None:
        status.mark(OPENING, {"SOL/USDC": 150.0})
    monitor = SimpleNamespace(counts=PipelineCounts(orders=3, fills=3, latencies_ms=[100.0, 300.0]))
    return run_summary(monitor, 1000, status, "exactly_once", 12.3, stopped_by=stopped_by, lag=7)  # type: ignore[arg-type]


def test_the_final_summary_has_the_figures_for_a_person_and_for_scripts() -> None:
    summary = summary_of("signal", 17_500.0)
    for key in ("orders", "fills", "equity_usdc", "pnl_usdc", "trading_pnl_usdc", "latency_ms", "lag"):
        assert key in summary
    assert summary["stopped_by"] == "signal" and summary["equity_quote"] == 17_500.0
    text = summary_text(summary)
    assert text.startswith("solbot: stopped (signal) after 12 s")
    assert "orders 3, fills 3 (0 failed)" in text and "equity 17,500.00 USDC" in text
    assert "PnL +0.00 USDC = opening wallet re-priced +0.00 USDC + trading +0.00 USDC" in text
    assert "p50 200 ms" in text and "consumer lag 7" in text
    unpriced = summary_text(summary_of("duration", None))
    assert "equity unpriced; PnL unpriced" in unpriced


def test_the_summary_says_why_signals_were_refused() -> None:
    """A live wallet that is mostly SOL fills the total cap with the default OPENING_INVENTORY: the run
    must say so rather than end with orders 0 and a count of rejections."""
    status = RunStatus.create(OPENING, load_settings())
    counts = PipelineCounts(rejected=10, rejected_by=Counter(total_cap_full=7, stale_price=2, halted=1))
    summary = run_summary(SimpleNamespace(counts=counts), 10, status, "exactly_once", 1.0)  # type: ignore[arg-type]
    assert summary["rejected_by_reason"] == {"total_cap_full": 7, "stale_price": 2, "halted": 1}
    text = summary_text(summary)
    assert "rejected 10 (total_cap_full 7, stale_price 2, halted 1)" in text
    assert "most signals were refused total_cap_full" in text and "OPENING_INVENTORY=counted" in text
    counts.rejected_by = Counter(stale_price=8, halted=1, a=1, b=1)
    counts.rejected = 11
    text = summary_text(run_summary(SimpleNamespace(counts=counts), 10, status, "exactly_once", 1.0))  # type: ignore[arg-type]
    assert "rejected 11 (stale_price 8, a 1, b 1, +1 more)" in text and "total_cap_full" not in text
    assert "refused halted" not in text
    # A halt tripped by an earlier run (risk state) refuses every buy of this one: say where it comes from.
    counts.rejected_by = Counter(halted=9, no_position=3)
    counts.rejected = 12
    text = summary_text(run_summary(SimpleNamespace(counts=counts), 10, status, "exactly_once", 1.0))  # type: ignore[arg-type]
    assert "most signals were refused halted" in text and "solbot resume" in text


async def test_after_a_signal_the_summary_comes_from_what_is_left_within_seconds() -> None:
    """Ctrl-C reaches the stack's servers too: the summary must not wait on a database that went away."""
    status = RunStatus.create(OPENING, load_settings())
    status.mark(OPENING, {"SOL/USDC": 150.0})  # the last progress line's figures
    stack = SimpleNamespace(database_url="postgresql://127.0.0.1:1/x", redis_url="redis://127.0.0.1:1/0")
    monitor = SimpleNamespace(counts=PipelineCounts(orders=2, fills=2))
    feed = asyncio.create_task(asyncio.sleep(60))  # a market without --duration
    stop = asyncio.Event()
    stop.set()
    settings = load_settings()
    loop = asyncio.get_running_loop()
    started = loop.time()
    summary = await finish(feed, [], monitor, stack, settings, status, stop, 1234, "exactly_once", 0.0)  # type: ignore[arg-type]
    assert loop.time() - started < 5.0
    assert feed.cancelled() and summary["stopped_by"] == "signal" and summary["events"] == 1234
    assert summary["equity_usdc"] == 17_500.0 and summary["orders"] == 2


async def test_the_first_signal_asks_for_a_stop_and_the_second_stops_at_once() -> None:
    stop, err = asyncio.Event(), io.StringIO()
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    install_stop_handlers(task, stop, err)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.wait_for(stop.wait(), 5.0)
        assert "solbot: stopping (Ctrl-C again" in err.getvalue()
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(asyncio.CancelledError):
            await asyncio.sleep(5.0)
        task.uncancel()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    assert json.dumps(summary_of("signal", None))  # the summary stays JSON-able when unpriced
