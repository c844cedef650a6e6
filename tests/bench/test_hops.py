"""The hop breakdown reads a worker's Prometheus text: per-hop counts, means and bucket bounds, waits."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from bench.hops import HOPS, hop_breakdown


def test_breakdown_of_a_registry_like_the_workers() -> None:
    registry = CollectorRegistry()
    hop = Histogram(
        "solbot_hop_latency_seconds", "h", ["hop"], buckets=(0.05, 0.1, 1.0, 10.0), registry=registry
    )
    give_ups = Counter("solbot_risk_fill_wait_give_ups", "g", registry=registry)
    Counter("solbot_model_merge_late", "l", registry=registry)
    for seconds in (0.02, 0.03, 0.04, 0.08):
        hop.labels("raw_to_features").observe(seconds)
    for seconds in [0.5] * 9 + [6.0]:
        hop.labels("signals_to_orders").observe(seconds)
    hop.labels("orders_to_fills").observe(30.0)  # beyond the last bucket: no infinity in the JSON
    give_ups.inc(2)
    out = hop_breakdown(generate_latest(registry).decode())
    assert out["raw_to_features"] == {
        "n": 4,
        "mean_ms": 42.5,
        "p50_le_ms": 50.0,
        "p99_le_ms": 100.0,
        "over_last_bucket": 0,
    }
    assert out["signals_to_orders"]["n"] == 10
    assert out["signals_to_orders"]["p50_le_ms"] == 1000.0
    assert out["signals_to_orders"]["p99_le_ms"] == 10_000.0  # the one stall is the tail
    assert out["features_to_signals"]["n"] == 0
    assert out["features_to_signals"]["mean_ms"] is None
    assert out["features_to_signals"]["p50_le_ms"] is None
    assert out["orders_to_fills"]["p99_le_ms"] is None
    assert out["orders_to_fills"]["over_last_bucket"] == 1
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert out["fill_wait_give_ups"] == 2
    assert out["merge_late"] == 0
    assert set(HOPS) <= set(out)
