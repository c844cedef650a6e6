"""ADWIN drift detection on a synthetic regime change, and what each configured action does."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from core.errors import ConfigError
from models.drift import DriftAction, DriftEvent, DriftMonitor
from models.online import DelayedLabeler, OnlineModel

FLIP_AT = 1_500
N = 3_000


def run(
    action: DriftAction | None, seed: int = 7
) -> tuple[DelayedLabeler, list[bool], list[DriftEvent], list[str]]:
    """Up iff s > 0 before FLIP_AT and iff s < 0 after; returns per-snapshot hits of the served p_up."""
    rng = random.Random(seed)
    counted: list[str] = []
    alerts: list[DriftEvent] = []
    monitor = (
        DriftMonitor(
            "SYN/USDC", action=action, on_count=counted.append, on_alert=alerts.append, fallback_labels=50
        )
        if action is not None
        else None
    )
    labeler = DelayedLabeler(OnlineModel(warmup=20, lr=0.05), label_horizon_ms=1_000, drift=monitor)
    price, hits = 100.0, []
    for i in range(N):
        s = rng.gauss(0.0, 1.0)
        pred = labeler.on_snapshot(i * 1_000, price, {"s": s})
        sign = 1.0 if i < FLIP_AT else -1.0
        r = 0.001 * sign * s + rng.gauss(0.0, 0.0003)
        hits.append((pred.p_up > 0.5) == (r > 0.0))
        price *= math.exp(r)
    return labeler, hits, alerts, counted


def accuracy(hits: list[bool], start: int, end: int) -> float:
    return sum(hits[start:end]) / (end - start)


def test_adwin_detects_the_regime_change_counts_and_alerts() -> None:
    labeler, hits, alerts, counted = run("alert")
    assert accuracy(hits, 500, FLIP_AT) > 0.9  # the planted rule is learned
    assert alerts, "the flip was not detected"
    first = alerts[0]
    assert FLIP_AT * 1_000 <= first.ts_ms <= (FLIP_AT + 300) * 1_000  # found within 300 labels of it
    assert counted[0] == "SYN/USDC" and first.key == "SYN/USDC" and first.action == "alert"
    assert labeler.metrics()["drifts"] == float(len(alerts))
    # no false alarm while the regime held
    assert all(a.ts_ms >= FLIP_AT * 1_000 for a in alerts)


def test_reset_restores_accuracy_faster_than_alert_only() -> None:
    _, alert_hits, _, _ = run("alert")
    reset_labeler, reset_hits, reset_alerts, _ = run("reset")
    assert reset_alerts and reset_alerts[0].action == "reset"
    # the 300 snapshots after the flip: the old model keeps betting on the dead rule (0.54 measured),
    # the reset one relearns within its 20-label warm-up (0.87 measured)
    window = (FLIP_AT, FLIP_AT + 300)
    after_reset = accuracy(reset_hits, *window)
    after_alert = accuracy(alert_hits, *window)
    assert after_reset > 0.8
    assert after_reset > after_alert + 0.2
    assert reset_labeler.model.n_learned < N - FLIP_AT  # a fresh model replaced the old one


def test_fallback_serves_the_baseline_not_ready_then_returns_to_the_model() -> None:
    labeler, _, alerts, _ = run("fallback")
    assert alerts and alerts[0].action == "fallback"
    assert not labeler.fallback_active  # 50 labels later the model is back
    probe = DriftMonitor("X", action="fallback", fallback_labels=10)
    lab = DelayedLabeler(OnlineModel(warmup=0), label_horizon_ms=1_000, drift=probe)
    lab._on_drift(DriftEvent("X", "fallback", 0, 1, 1, 0.5))
    pred = lab.on_snapshot(0, 100.0, {"s": 1.0})
    assert lab.fallback_active and not pred.ready and pred.p_up == 0.5 and pred.expected_return == 0.0


def test_monitor_validates_and_drops_callbacks_when_pickled() -> None:
    with pytest.raises(ConfigError):
        DriftMonitor("X", action="panic")  # type: ignore[arg-type]
    m = DriftMonitor("X", on_count=lambda key: None)
    restored = pickle.loads(pickle.dumps(m))
    assert restored.on_count is None and restored.key == "X"


def test_a_failing_callback_does_not_stop_the_model() -> None:
    def boom(_: object) -> None:
        raise RuntimeError("alert channel down")

    m = DriftMonitor("X", action="alert", on_alert=boom)
    for i in range(2_000):
        m.update(0.0 if i < 1_000 else 1.0, i)
    assert m.detections >= 1
