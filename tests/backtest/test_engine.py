"""The backtest engine: deterministic, and stage by stage the same as the live decision code."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Any

from backtest.engine import BacktestEngine, BacktestResult, run_file
from backtest.fill_model import FillModel
from backtest.make_sample import sample_records
from backtest.memory_tables import (
    BARS_1S_EXPIRES_S,
    BARS_10S_EXPIRES_S,
    BARS_60S_EXPIRES_S,
    MemoryTable,
    feature_tables,
)
from backtest.recording import write_records
from core.settings import Settings, load_settings
from features.folding import FeatureFolder
from market.tokens import USDC, WSOL
from models.signals import SignalModels, price_mark
from risk.apply import apply_message
from risk.limits import RiskLimits
from risk.state import RiskState
from streams.codec import decode_object, encode
from streams.records import Order, Swap
from streams.topics import FILLS, SIGNALS


@cache
def records() -> tuple[dict[str, Any], ...]:
    """70 s of the seed-1 market: long enough for the models to warm up and trade."""
    return tuple(sample_records(seed=1, duration_s=70.0, rate_eps=300.0, partitions=4))


def settings() -> Settings:
    return load_settings()


@cache
def traced() -> tuple[BacktestEngine, BacktestResult]:
    """One run with every stage kept, shared by the stage tests (they only read it): with the paper
    pipeline's fills (at once, on the decision's state), the order these stage tests replay."""
    engine = BacktestEngine(settings(), keep_stages=True, fill_model=FillModel.pipeline())
    return engine, engine.run(records())


@cache
def honest() -> tuple[BacktestEngine, BacktestResult]:
    """The same records under the settings' honest fill model (latency, own impact, network fees)."""
    engine = BacktestEngine(settings(), keep_stages=True)
    return engine, engine.run(records())


def test_two_runs_give_identical_orders_and_fills(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    write_records(path, records())
    first = run_file(path, settings(), seed=7)
    second = run_file(path, settings(), seed=7)
    assert first.trades, "the sample should trade within 70 s"
    assert [encode(t.order) for t in first.trades] == [encode(t.order) for t in second.trades]
    assert [encode(t.fill) for t in first.trades] == [encode(t.fill) for t in second.trades]
    assert first.equity == second.equity
    assert first.ledger.balances == second.ledger.balances


def test_features_stage_equals_the_fold_on_one_batch_of_faust_shaped_tables() -> None:
    engine, _ = traced()
    # The agent's fold, unbatched, on tables that never expire (Faust-shaped, as in the agent test).
    tables = {name: MemoryTable(t.window, keep_changelog=True) for name, t in feature_tables().items()}
    folder = FeatureFolder(snapshot_interval_ms=settings().snapshot_interval_ms, **tables)
    expected = []
    for rec in records():
        if rec["topic"] == "raw.swaps":
            snap = folder.fold(
                decode_object(Swap, rec["value"]), rec["partition"], rec["offset"], rec["timestamp_ms"]
            )
            if snap is not None:
                expected.append(snap)
    assert len(engine.snapshots) == len(expected) > 100
    # The engine scores them in the model agent's merge order: event time, then pair, across partitions.
    assert [encode(s) for s in engine.snapshots] == [
        encode(s) for s in sorted(expected, key=lambda s: (s.ts_ms, s.pair, s.id))
    ]


def test_model_stage_equals_signal_models_on_the_same_snapshots() -> None:
    engine, _ = traced()
    models = SignalModels.from_settings(settings(), seed=engine.seed)
    # What the model agent publishes: a snapshot's signals, or its price mark when no strategy acted on it.
    expected = [s for snap in engine.snapshots for s in models.signals_for(snap) or [price_mark(snap)]]
    assert engine.signals, "the models should signal within 70 s"
    assert [encode(s) for s in engine.signals] == [encode(s) for s in expected]


def test_risk_stage_equals_apply_message_on_the_same_signal_and_fill_sequence() -> None:
    engine, result = traced()
    fills = {f.order_id: f for f in engine.fills}
    limits = RiskLimits.from_settings(settings())
    state = RiskState.initial(settings().portfolio, limits, WSOL, USDC)
    decisions = []
    fill_offset = -1
    for offset, signal in enumerate(engine.signals):
        out = apply_message(state, SIGNALS.name, 0, offset, encode(signal), signal.ts_ms, limits)
        decisions.extend(out)
        for d in out:  # the documented order: an order's fill is applied before the next message
            if isinstance(d, Order):
                fill_offset += 1
                apply_message(state, FILLS.name, 0, fill_offset, encode(fills[d.id]), d.ts_ms, limits)
    assert [encode(d) for d in engine.decisions] == [encode(d) for d in decisions]
    assert state.to_dict() == result.risk_state.to_dict()


def test_ledger_books_fills_as_the_risk_state_does() -> None:
    for _, result in (traced(), honest()):
        held = {m: a for m, a in result.ledger.balances.items() if a}
        assert held == {m: a for m, a in result.risk_state.balances.items() if a}


def test_honest_fills_come_a_latency_later_on_that_states_pool_and_pay_network_fees() -> None:
    engine, result = honest()
    latency = settings().backtest_latency_ms
    assert result.trades and result.fill_model["mode"] == "honest"
    for t in result.trades:
        assert t.fill.filled_ms >= t.order.ts_ms + latency  # never before the latency is over
        assert t.fill_state is not None and t.fill_state.pool == t.order.pool
        assert t.fill_state.ts_ms <= t.fill.filled_ms  # a state the market had reached by then
        if t.fill.status == "filled":
            assert t.fill.network_fee_lamports == engine.fill_model.network_fee_lamports(t.order.kind) > 0
    moved = [t for t in result.trades if t.fill_state != t.order.pool_state]
    assert moved, "some fills see a pool that moved after the decision"
    # the SOL the network fees took is gone from the wallet both books keep
    paid = sum(t.fill.network_fee_lamports for t in result.trades)
    assert paid > 0


def test_under_latency_orders_fill_in_decision_order() -> None:
    engine, _ = honest()
    orders = [d.id for d in engine.decisions if isinstance(d, Order)]
    assert [f.order_id for f in engine.fills] == orders
    # the fill barrier: an order is never decided before the fill of the order before it is due
    fills = {f.order_id: f for f in engine.fills}
    ordered = [d for d in engine.decisions if isinstance(d, Order)]
    for before, after in itertools.pairwise(ordered):
        if after.signal_id != before.signal_id:
            assert fills[before.id].filled_ms <= fills[after.id].filled_ms


def test_garbage_is_a_dead_letter_not_a_crash() -> None:
    bad = [
        {
            "topic": "raw.swaps",
            "partition": 0,
            "offset": 0,
            "key": "X",
            "value": {"_raw_b64": "AP8="},
            "timestamp_ms": 1,
        },
        {
            "topic": "raw.swaps",
            "partition": 0,
            "offset": 1,
            "key": "X",
            "value": {"pair": 3},
            "timestamp_ms": 1,
        },
        {"topic": "raw.launches", "partition": 0, "offset": 0, "key": "m", "value": None, "timestamp_ms": 1},
    ]
    result = BacktestEngine(settings()).run([*bad, *records()[:2000]])
    assert result.dead_letters == 3
    assert result.events == 2003


def test_memory_tables_expire_like_the_live_tables() -> None:
    from streams.app import build_app
    from streams.compat.tables import underlying
    from tables.features import declare_feature_tables

    live_settings = load_settings(broker_url="kafka://127.0.0.1:1")
    declared = declare_feature_tables(build_app(live_settings), live_settings)
    live_tables = (declared.pair_to_bar_1s, declared.pair_to_bar_10s, declared.pair_to_bar_60s)
    live = [float(underlying(t).window.expires) for t in live_tables]
    assert live == [BARS_1S_EXPIRES_S, BARS_10S_EXPIRES_S, BARS_60S_EXPIRES_S]
    windows = [underlying(t).window for t in live_tables]
    mine = feature_tables()
    for window, name in zip(windows, ("bars_1s", "bars_10s", "bars_60s"), strict=True):
        assert window.ranges(1234.5) == mine[name].window.ranges(1234.5)


def test_expired_windows_are_dropped() -> None:
    engine, _ = traced()
    bars_1s = engine.tables["bars_1s"]
    starts = sorted(key[1][0] for key in bars_1s.data)
    per_pair = len(starts) / max(1, len({key[0] for key in bars_1s.data}))
    assert per_pair <= BARS_1S_EXPIRES_S + 3  # ~one bar per second kept, not all 70 s x pairs forever


def test_a_recording_with_quotes_and_perp_books_gives_them_to_the_snapshots() -> None:
    """The backtest folds raw.quotes and raw.perps lines as the features agent does (a garbage one is a
    dead letter with its line), and the swaps-only recording's snapshots are untouched by them."""
    lines = list(sample_records(seed=2, duration_s=30.0, rate_eps=300.0, partitions=4, market_data_ms=1_000))
    assert {r["topic"] for r in lines} >= {"raw.quotes", "raw.perps"}
    garbage = {**lines[5000], "topic": "raw.perps", "value": {"market": "SOL-PERP"}, "line": 5001}
    engine = BacktestEngine(settings(), keep_stages=True)
    result = engine.run([*lines[:5000], garbage, *lines[5000:]])
    assert result.dead_letters == 1 and engine.dead_letter_lines == [(5001, "market_index: missing")]
    sol = [s.features for s in engine.snapshots if s.pair == "SOL/USDC"]
    assert sum(f.get("has_perp", 0.0) for f in sol) > len(sol) / 2
    assert sum(f.get("has_quote", 0.0) for f in sol) > len(sol) / 2
    plain = BacktestEngine(settings(), keep_stages=True)
    plain.run([r for r in lines if r["topic"] not in ("raw.quotes", "raw.perps")])
    assert [s.id for s in plain.snapshots] == [s.id for s in engine.snapshots]
    assert not any("has_quote" in s.features for s in plain.snapshots)
